"""What learning gets from real traffic, end to end through the four services and the Python
client: a shadow challenger slower than the panel still reaches the call's record and takes
🅰️/🅱️ feedback; fixed-k calls are classified after their answer; evolution's history and the
models' error correlation are readable; chat backs off a 429 and answers unstreamed; and the
seed project's own Python examples run unchanged but for the import line.

This module has its own scripted provider, so that its scripts change no other module's."""

from __future__ import annotations

import pytest

from freescaling.client import Client, FailedPrecondition
from tests.e2e.conftest import NO, YES
from tests.support.fake_openai import FakeOpenAI, Step
from tests.support.processes import wait_for

# Everyone outside a panel (so every shadow challenger) answers NO, slowly.
SLOW_NO = Step(text="Answer: NO", delay_s=3.0)


@pytest.fixture(scope="module")
def fake():
    server = FakeOpenAI(default=YES).start()
    for alias in ("yes1", "yes2", "yes3", "yes4", "yes5", "deep1"):
        server.script(f"e2e/{alias}", YES)
    server.script("e2e/no1", NO)
    server.script("e2e/no2", NO)
    server.script("e2e/shy1", Step(text="I would rather not say."))
    server.script("e2e/slowyes", Step(text="Answer: YES", delay_s=0.5))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(system):
    with Client(system.gateway.address, timeout_s=60) as c:
        yield c


def _record(client: Client, call_id: str):
    calls, _ = client.calls(page_size=500)
    return next((c for c in calls if c.call_id == call_id), None)


def test_a_slow_shadows_vote_reaches_the_record_and_takes_ab_feedback(client, fake):
    panel = ["yes1", "yes2", "no1"]
    for alias in ("yes3", "yes4", "yes5", "deep1", "shy1", "slowyes", "no2"):
        fake.script(f"e2e/{alias}", SLOW_NO)
    try:
        result = client.scale("Is 43 prime?", k=3, answers=["YES", "NO"], models=panel)
        # The answer did not wait for the shadow: it is still answering.
        assert result.answer == "YES" and result.shadow is None
        shadow = result.pending_shadow
        assert shadow and shadow not in panel
        assert (result.calls_made, result.shadow_calls_made) == (3, 1)
        with pytest.raises(FailedPrecondition, match="has not answered yet"):
            client.feedback(result.call_id, "🅱️")

        record = wait_for(
            lambda: (r := _record(client, result.call_id)) and r.shadow and r,
            timeout=30,
            what="the late shadow's vote in the call's record",
        )
        assert (record.shadow.model, record.shadow.parsed_answer) == (shadow, "NO")
        assert record.pending_shadow == "" and record.shadow.latency_s >= 3.0
        # The shadow's tokens are the call's too (three panel calls and the shadow's).
        assert record.usage.total_tokens == 4 * 15

        feedback = client.feedback(result.call_id, "🅱️")  # the shadow was right
        moved = {c.model: c.after - c.before for c in feedback.changes}
        assert feedback.label == "NO" and set(moved) == {shadow, "yes1", "yes2"}
        assert moved[shadow] > 0 and moved["yes1"] < 0 and moved["yes2"] < 0
        assert client.feedback(result.call_id, "🅱️").duplicate
    finally:
        for alias in ("yes3", "yes4", "yes5", "deep1"):
            fake.script(f"e2e/{alias}", YES)
        fake.script("e2e/no2", NO)
        fake.script("e2e/shy1", Step(text="I would rather not say."))
        fake.script("e2e/slowyes", Step(text="Answer: YES", delay_s=0.5))


def test_a_batch_items_late_shadows_reach_their_records(client, fake):
    for alias in ("yes3", "yes4", "yes5", "deep1", "shy1", "slowyes", "no2"):
        fake.script(f"e2e/{alias}", Step(text="Answer: NO", delay_s=1.0))
    try:
        items = list(client.scale_batch(["Is 2 even?", "Is 4 even?"], k=3))
        results = [i.result for i in items]
        assert all(r.answer == "YES" and r.pending_shadow for r in results)
        for r in results:
            record = wait_for(
                lambda r=r: (x := _record(client, r.call_id)) and x.shadow and x,
                timeout=30,
                what="a batch item's late shadow",
            )
            assert record.shadow.model == r.pending_shadow
            assert record.shadow.parsed_answer == "NO"
    finally:
        for alias in ("yes3", "yes4", "yes5", "deep1"):
            fake.script(f"e2e/{alias}", YES)
        fake.script("e2e/no2", NO)
        fake.script("e2e/shy1", Step(text="I would rather not say."))
        fake.script("e2e/slowyes", Step(text="Answer: YES", delay_s=0.5))
