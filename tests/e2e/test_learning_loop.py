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
# A panel whose every member always answers: yes1 and no1 split 1-1 and slowyes, answering
# after them, decides, so the vote never short-circuits (which cancels a member: no vote, no
# tokens). yes1, yes2, no1 did, whenever yes1 and yes2 agreed before no1 answered.
FULL_PANEL = ["yes1", "no1", "slowyes"]
OUTSIDERS = ("yes2", "yes3", "yes4", "yes5", "deep1", "shy1", "no2")


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


def _restore_outsiders(fake: FakeOpenAI) -> None:
    for alias in ("yes2", "yes3", "yes4", "yes5", "deep1"):
        fake.script(f"e2e/{alias}", YES)
    fake.script("e2e/no2", NO)
    fake.script("e2e/shy1", Step(text="I would rather not say."))


def test_a_slow_shadows_vote_reaches_the_record_and_takes_ab_feedback(client, fake):
    panel = FULL_PANEL
    for alias in OUTSIDERS:
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
        assert [(v.model, v.usage.total_tokens) for v in record.votes] == [(m, 15) for m in panel]
        # The shadow's tokens are the call's too (three panel calls and the shadow's).
        assert record.usage.total_tokens == 4 * 15

        feedback = client.feedback(result.call_id, "🅱️")  # the shadow was right
        moved = {c.model: c.after - c.before for c in feedback.changes}
        assert feedback.label == "NO" and set(moved) == {shadow, "yes1", "slowyes"}
        assert moved[shadow] > 0 and moved["yes1"] < 0 and moved["slowyes"] < 0
        assert client.feedback(result.call_id, "🅱️").duplicate
    finally:
        _restore_outsiders(fake)


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


def test_fixed_k_calls_are_classified_after_the_answer_for_the_statistics(client):
    scaled = client.scale("Is 47 prime?", k=3, answers=["YES", "NO"])
    generated = client.generate("Write a haiku about queues", k=1)
    assert scaled.cascade.routing is None  # the answer did not wait for a classification
    for call_id in (scaled.call_id, generated.call_id):
        record = wait_for(
            lambda call_id=call_id: (r := _record(client, call_id)) and r.routing and r,
            timeout=30,
            what="the classified record",
        )
        assert record.routing.classification.tier in ("simple", "medium", "complex")
        assert record.routing.classification.task_type_1
        assert record.routing.method == "" and "not routed" in record.routing.reason
    stats = client.stats()
    assert sum(b.calls for b in stats.by_tier) >= 2 and stats.by_task_type


def test_chat_answers_whole_when_not_streamed(client, system):
    whole = client.chat("Say hello to the team", stream=False)
    assert whole.text.startswith("Thinking it over") and whole.routing.method in ("tier", "profile")
    assert whole.usage.total_tokens > 0 and whole.call_id and whole.model
    wait_for(lambda: _record(client, whole.call_id), timeout=20, what="the chat record")
    from tests.e2e.test_gateway import _cli

    done = _cli(system, "chat", "Say hi", "--no-stream")
    assert done.returncode == 0 and done.stdout.startswith("Thinking it over"), done.stderr


def test_chat_backs_off_a_429_before_the_first_token(client, fake):
    fake.script("e2e/yes3", Step(status=429, retry_after=0.5), YES)
    try:
        events = list(client.chat("Hello", model="yes3"))
        assert events[-1].kind == "done" and events[-1].model == "yes3"
        assert "YES" in "".join(e.delta for e in events if e.kind == "delta")
        first, second = fake.requests_for("e2e/yes3")[-2:]
        assert second.started - first.started >= 0.5
    finally:
        fake.script("e2e/yes3", YES)


def test_negative_lambda_is_invalid(client):
    from freescaling.client import InvalidArgument

    with pytest.raises(InvalidArgument, match="lambda must be a finite number, 0 or more"):
        client.route("Prove it", lambda_=-0.5)
    with pytest.raises(InvalidArgument, match="lambda must be a finite number, 0 or more"):
        list(client.chat("Hello", lambda_=-1.0))


def test_evolution_history_and_error_correlation_are_readable(client, system, fake):
    import json

    from tests.e2e.test_gateway import _cli

    # Enough answered votes for three models, then one applied change.
    for n in range(3):
        client.scale(f"Is {n} small?", k=3, answers=["YES", "NO"], models=FULL_PANEL)

    def counted() -> bool:
        answered = {r.model: r.answered for r in client.elo_summary()}
        return all(answered.get(model, 0) >= 3 for model in FULL_PANEL)

    wait_for(counted, timeout=20, what="the votes to be counted")
    evolved = client.evolve(dry_run=False, min_calls=3)
    assert evolved.applied
    history = client.evolution_history()
    assert history[0].current == evolved.proposed and history[0].reason == evolved.reason
    assert history[0].changed_at is not None
    shown = _cli(system, "evolve", "--history")
    assert shown.returncode == 0 and evolved.reason in shown.stdout, shown.stderr
    as_json = json.loads(_cli(system, "--json", "evolve", "--history").stdout)
    assert as_json[0]["current"] == evolved.proposed

    # Two models profiled on the same items, all of them YES: yes4 right on every one, no2
    # wrong on every one. Neither varies, so their error correlation is undefined (n/a).
    items = [{"item_id": f"c{i}", "question": f"Is {2 * i + 1} odd?", "label": "YES"}
             for i in range(6)]  # fmt: skip
    for alias in ("yes4", "no2"):
        list(client.onboard(alias, items))
    (pair,) = client.error_correlations(["yes4", "no2"])
    assert (pair.model_a, pair.model_b, pair.shared_items) == ("yes4", "no2", 6)
    assert pair.both_wrong == 0
    assert pair.correlation is None
    table = _cli(system, "correlation", "--models", "yes4,no2")
    assert table.returncode == 0 and table.stdout.split()[:8] == [
        "model_a", "model_b", "correlation", "shared_items", "both_wrong", "yes4", "no2", "n/a",
    ], table.stderr  # fmt: skip


def test_the_seed_projects_readme_examples_run_unchanged(system, capsys, monkeypatch):
    """Its users' code, against the running stack, through the module-level API and a default
    client made from FREESCALING_TARGET."""
    from pathlib import Path

    import freescaling
    from freescaling import elo, feedback

    monkeypatch.setenv("FREESCALING_TARGET", system.gateway.address)
    monkeypatch.delenv("FREESCALING_API_KEY", raising=False)
    freescaling.configure()  # a test process may have made one before: from the env again
    text = Path(__file__).with_name("seed_readme_examples.py.txt").read_text(encoding="utf-8")
    first, second = text.split("# --- example 2 ---")
    inputs = {
        "code": "import os\nos.system(input())",
        "paper": "We study queues. Queues are lines of waiting items.",
        "source": "The meeting is on Tuesday.",
        "draft": "The meeting is on Wednesday.",
        "email": "The production database is down since 9:00.",
        "emails": ["Lunch on Friday?", "Server down!", "Newsletter #42"],
    }
    one = dict(inputs)
    exec(compile(first, "seed README example 1", "exec"), one)
    assert one["result"].output and one["result"].winner_model
    assert one["check"].answer == "YES" and one["check"].calls_made >= 1
    two = dict(inputs)
    exec(compile(second, "seed README example 2", "exec"), two)
    # Three batch results in the emails' order, each a vote over YES and NO.
    assert [r.answer_patterns for r in two["results"]] == [["YES", "NO"]] * 3
    assert two["result"].winner_model
    status = two["status"]
    assert set(status) >= {"yes1", "no1", "deep1"} and status["yes1"].status == "ok"
    printed = capsys.readouterr().out
    assert f"yes1: ok ({status['yes1'].latency_s:.1f}s)" in printed

    # The seed's elo, feedback and evolve equivalents.
    voted = freescaling.scale("Is 53 prime?", k=3, answers=["YES", "NO"], message_id="msg-53")
    assert voted.answer == "YES" and voted.calls_made == 3
    wait_for(lambda: feedback.resolve_by_reaction("msg-53", "👍")["resolved"], timeout=20,
             what="the reaction to find the call")  # fmt: skip
    again = feedback.resolve_by_reaction("msg-53", "👍")
    assert (again["resolved"], again["error"], again["call_id"]) == (
        False,
        "Already resolved",
        voted.call_id,
    )
    assert feedback.resolve_by_reaction("no-such-message", "👍")["resolved"] is False
    assert feedback.resolve_by_reaction("msg-53", "❌")["error"].startswith("unknown reaction")
    assert feedback.resolve_feedback(entry_id=voted.call_id, correct_answer="NO")["resolved"]
    table = elo.summary()
    assert table.startswith("Model ELO Rankings:") and "yes1" in table
    assert elo.rank() and elo.rank()[0].rating >= elo.rank()[-1].rating
    assert freescaling.evolve(dry_run=True).applied is False
    evolved = freescaling.evolve(dry_run=False, min_calls=1)
    assert elo.get_champion_panel() == evolved.proposed[:3]

    # Our own README's example of that API runs too.
    import re

    from tests.support.processes import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = [
        b
        for b in re.findall(r"```python\n(.*?)```", readme, re.S)
        if "from freescaling import" in b
    ]
    exec(compile(example, "README's seed API example", "exec"), {})
    assert "'resolved': True" in capsys.readouterr().out
