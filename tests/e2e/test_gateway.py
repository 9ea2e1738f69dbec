"""The public API end to end, through the Python client, against the running system."""

from __future__ import annotations

import pytest

from freescaling.client import Client, InvalidArgument
from tests.e2e.conftest import FAKE_KEY
from tests.support.processes import free_port, wait_for


@pytest.fixture(scope="module")
def client(system):
    with Client(system.gateway.address, timeout_s=60) as c:
        yield c


def _recorded(client: Client, call_id: str) -> bool:
    calls, _ = client.calls(page_size=500)
    return any(c.call_id == call_id for c in calls)


def test_scale_k3_majority_is_answered_and_recorded(client):
    result = client.scale(
        "Is 17 prime?", k=3, answers=["YES", "NO"], models=["yes1", "yes2", "no1"]
    )
    assert (result.answer, result.outcome) == ("YES", "majority")
    assert {v.model for v in result.votes} == {"yes1", "yes2", "no1"}
    assert result.cascade.path == "fixed"
    wait_for(lambda: _recorded(client, result.call_id), timeout=20, what="the call record")


def test_scale_default_panel_when_no_champion(client):
    result = client.scale("Is 19 prime?", k=3, answers=["YES", "NO"])
    assert sorted(v.model for v in result.votes) == ["no1", "yes1", "yes2"]
    assert result.answer == "YES"


def test_scale_auto_runs_the_cascade_and_says_why(client):
    result = client.scale("Is the sky blue on a clear day?", k="auto", answers=["YES", "NO"])
    cascade = result.cascade
    assert cascade.routing.classification is not None
    assert cascade.routing.method in ("tier", "profile", "elo", "expert")
    if cascade.routing.classification.tier == "complex":
        assert cascade.path.startswith("panel3")
    else:
        assert cascade.path.startswith("single")
        assert cascade.steps[0].models == [cascade.routing.model]
    assert all(step.reason for step in cascade.steps)
    assert result.answer == "YES"


def test_generate_with_different_judges(client):
    result = client.generate("Write a haiku about queues", k=3, models=["yes1", "yes2", "yes3"])
    assert result.winner_model in {"yes1", "yes2", "yes3"}
    assert {j.judge for j in result.judges}.isdisjoint({"yes1", "yes2", "yes3"})
    assert result.total_calls == 6


def test_chat_streams_routing_then_tokens_then_usage(client):
    events = list(client.chat("Say hello to the team"))
    assert events[0].kind == "routing"
    assert events[0].routing.method in ("tier", "profile")
    assert events[-1].kind == "done"
    text = "".join(e.delta for e in events if e.kind == "delta")
    assert "YES" in text
    assert events[-1].usage.total_tokens > 0
    wait_for(lambda: _recorded(client, events[-1].call_id), timeout=20, what="the chat record")


def test_chat_with_a_named_model_skips_routing(client):
    events = list(client.chat("Hello", model="yes3"))
    assert (events[0].routing.method, events[-1].model) == ("named", "yes3")


def test_route_explains_without_calling_a_model(client, fake):
    before = len(fake.requests)
    routing = client.route("Write a Python function that reverses a list")
    assert routing.model and routing.reason
    assert routing.classification.task_type_1
    assert len(fake.requests) == before


def test_batch_streams_every_item_with_its_index(client):
    items = list(client.scale_batch(["Is 2 even?", "Is 3 even?", "Is 4 even?"], k=3))
    assert sorted(i.index for i in items) == [0, 1, 2]
    assert all(i.result and i.result.answer == "YES" for i in items)


def test_feedback_moves_elo(client):
    result = client.scale(
        "Is 23 prime?", k=3, answers=["YES", "NO"], models=["yes1", "no1", "slowyes"]
    )
    assert [v.parsed_answer for v in result.votes] == ["YES", "NO", "YES"]
    wait_for(lambda: _recorded(client, result.call_id), timeout=20, what="the call record")
    before = {r.model: r.rating for r in client.elo_summary()}
    feedback = client.feedback(result.call_id, "🔴")  # override with the 1st pattern: YES
    assert feedback.changes
    after = {r.model: r.rating for r in client.elo_summary()}
    assert after != before
    assert client.feedback(result.call_id, "🔴").duplicate


def test_feedback_the_instant_the_answer_arrives_finds_the_call(system):
    """The record lingers half a second in the outbox; the feedback waits for it rather than
    getting NOT_FOUND from learning."""
    gateway = (
        system.gateway_for(system.classifier.address, FREESCALING_GATEWAY_OUTBOX_LINGER_MS="500")
        .start()
        .wait_serving()
        .wait_ready()
    )
    try:
        with Client(gateway.address, timeout_s=30) as client:
            result = client.scale(
                "Is 29 prime?", k=3, answers=["YES", "NO"], models=["yes1", "no1", "yes2"]
            )
            feedback = client.feedback(result.call_id, "👍")
            assert feedback.changes and not feedback.duplicate
            assert _recorded(client, result.call_id)
    finally:
        assert gateway.stop() == 0


def test_bad_input_is_invalid_argument(client):
    with pytest.raises(InvalidArgument, match="question is required"):
        client.scale("  ", k=3)


def test_classifier_down_chat_falls_back_visibly(system, client):
    gateway = system.gateway_for(f"127.0.0.1:{free_port()}").start().wait_serving().wait_ready()
    try:
        with Client(gateway.address, timeout_s=60) as other:
            events = list(other.chat("Hello"))
        assert events[0].routing.method == "fallback"
        assert events[0].routing.model == "yes2"
        assert "classifier" in events[0].routing.reason
        assert events[-1].kind == "done"
    finally:
        assert gateway.stop() == 0
    assert FAKE_KEY not in gateway.log_text()


def test_onboarding_makes_a_model_routable_where_it_is_best(system, client, fake):
    from freescaling.classifier.v1 import classifier_pb2, classifier_pb2_grpc
    from freescaling.common.v1 import models_pb2
    from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc
    from tests.support.fake_openai import Step

    questions = [
        "Is water wet?", "Is fire cold?", "Write a sonnet about rain", "Summarise this report",
        "Translate hello into French", "Is 9 a prime number?", "Classify this email as spam",
        "Explain quantum tunnelling to a child", "Does the sun rise in the east?",
        "Write a SQL query that counts users",
    ]  # fmt: skip
    labels = ["YES" if i % 2 == 0 else "NO" for i in range(len(questions))]
    fitted = classifier_pb2_grpc.ClassifierStub(system.classifier.channel()).FitClusters(
        classifier_pb2.FitClustersRequest(texts=questions, k=2, seed=0), timeout=60
    )
    home = fitted.assignments[0]
    assert set(fitted.assignments) == {0, 1}

    def script(alias: str, right_at_home: bool) -> None:
        steps = []
        for label, cluster in zip(labels, fitted.assignments, strict=True):
            right = (cluster == home) == right_at_home
            answer = label if right else ("NO" if label == "YES" else "YES")
            steps.append(Step(text=f"Answer: {answer}"))
        fake.script(f"e2e/{alias}", *steps)

    gateway = gateway_pb2_grpc.GatewayStub(system.gateway.channel())
    for alias, right_at_home in (("expert", True), ("generalist", False)):
        script(alias, right_at_home)
        request = gateway_pb2.OnboardModelRequest(
            alias=alias,
            model=models_pb2.ModelInfo(
                litellm_model=f"nvidia_nim/e2e/{alias}",
                tier=models_pb2.MODEL_TIER_FAST,
                api_base=fake.base_url,
                api_key_env="NVIDIA_API_KEY",
            ),
            items=[
                gateway_pb2.LabelledItem(item_id=f"q{i}", question=q, label=labels[i])
                for i, q in enumerate(questions)
            ],
            answer_patterns=["YES", "NO"],
            max_concurrency=1,
        )
        steps = list(gateway.OnboardModel(request, timeout=120))
        assert [s.done for s in steps[:-1]] == list(range(1, len(questions) + 1))
        assert steps[-1].profile.model == alias
        at_home = sum(1 for c in fitted.assignments if c == home)
        expected = at_home if right_at_home else len(questions) - at_home
        assert steps[-1].correct == expected

    # The onboarded models are kept by learning, for every ensemble replica and its restarts.
    from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc

    kept = learning_pb2_grpc.LearningStub(system.learning.channel()).ListRegisteredModels(
        learning_pb2.ListRegisteredModelsRequest(), timeout=10
    )
    assert {"expert", "generalist"} <= {m.model.alias for m in kept.models}

    for question, cluster in zip(questions, fitted.assignments, strict=True):
        routing = client.route(question, candidates=["expert", "generalist"], lambda_=0.0)
        assert routing.method == "profile"
        assert routing.model == ("expert" if cluster == home else "generalist"), question


def test_each_service_counts_its_own_work_in_metrics(system, client):
    from tests.support.metrics import scrape, total

    client.scale("Is 31 prime?", k=3, answers=["YES", "NO"], models=["yes1", "no1", "slowyes"])
    ensemble = scrape(system.ensemble)
    assert total(ensemble, "freescaling_model_calls_total", model="slowyes", outcome="ok") >= 1
    assert "freescaling_dead_models" in ensemble
    classifier = scrape(system.classifier)
    assert total(classifier, "freescaling_classifier_batch_size_count") >= 1
    wait_for(
        lambda: (
            total(scrape(system.learning), "freescaling_rating_updates_total", source="consensus")
            >= 1
        ),
        timeout=20,
        what="a consensus rating update",
    )
    gateway = scrape(system.gateway)
    assert total(gateway, "freescaling_outbox_sent_total") >= 1
    assert "freescaling_outbox_depth" in gateway


def _cli(system, *args: str):
    import subprocess
    import sys

    from tests.support.processes import ROOT

    return subprocess.run(
        [sys.executable, "-m", "freescaling", "--target", system.gateway.address, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_end_to_end(system):
    import json

    done = _cli(system, "scale", "Is 37 prime?", "-k", "3", "--answers", "YES,NO",
                "--models", "yes1,no1,slowyes")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "answer: YES  outcome: majority" in done.stdout
    call_id = next(
        line.split()[1] for line in done.stdout.splitlines() if line.startswith("call_id")
    )

    scaled = json.loads(_cli(system, "--json", "scale", "Is 41 prime?", "-k", "1").stdout)
    assert scaled["answer"] == "YES" and scaled["cascade"]["path"] == "fixed"

    wait_for(
        lambda: _cli(system, "feedback", call_id, "👍").returncode == 0,
        timeout=20,
        what="feedback to find the recorded call",
    )
    elo = _cli(system, "elo")
    assert elo.returncode == 0 and elo.stdout.split()[:6] == [
        "model", "rating", "calls", "wins", "losses", "agreement",
    ]  # fmt: skip
    commands = [
        ["stats"],
        ["route", "Sort a list in Python"],
        ["evolve", "--dry-run"],
        ["health", "--models", "yes1"],
        ["generate", "Name a colour", "-k", "1"],
    ]
    for command in commands:
        done = _cli(system, *command)
        assert done.returncode == 0, (command, done.stderr)
        assert done.stdout.strip(), command
    chat = _cli(system, "chat", "Say hi")
    assert chat.returncode == 0 and "Answer:" in chat.stdout  # whichever model routing chose
    assert chat.stderr.startswith("[")  # routing details go to stderr


def test_auto_prefers_the_model_that_agrees_with_the_majority_without_profiles(system, client):
    from tests.support.processes import ServiceProcess

    # Rated calls for the panel models first (this gateway wants 1 call at least).
    for n in range(3):
        client.scale(
            f"Is {n} small?", k=3, answers=["YES", "NO"], models=["yes1", "no1", "slowyes"]
        )
    # A classifier that calls every prompt simple, and no centroids: no profile routing.
    classifier = ServiceProcess(
        "classifier",
        system.workdir / "simple-classifier",
        env={
            "FREESCALING_CLASSIFIER_TIER_THRESHOLDS": "0.98,0.99",
            "FREESCALING_CLASSIFIER_TIER_MODELS": "simple=yes1,medium=yes4,complex=deep1",
            "FREESCALING_CLASSIFIER_CENTROIDS": str(system.workdir / "no-centroids.safetensors"),
        },
    )
    classifier.start().wait_serving(timeout=90).wait_ready(timeout=90)
    gateway = system.gateway_for(classifier.address, FREESCALING_GATEWAY_ELO_MIN_CALLS="1")
    gateway.start().wait_serving().wait_ready()
    try:
        with Client(gateway.address, timeout_s=60) as other:
            wait_for(lambda: any(r.calls for r in other.elo_summary()), timeout=20, what="ratings")
            # Counting votes: where models are profiled (by other tests of this module) k=auto
            # would otherwise aim at a calibrated confidence among them alone.
            result = other.scale(
                "Is grass green?", k="auto", answers=["YES", "NO"], vote_rule="majority"
            )
            agreeing = {r.model for r in other.elo_summary(min_calls=1) if r.agreement_rate == 1}
        routing = result.cascade.routing
        assert routing.classification.tier == "simple"
        # The expert rule: no profile here, so the consensus record is the evidence.
        assert routing.method == "expert", routing.reason
        assert routing.model in agreeing and routing.model != "no1"
        assert "consensus 1.00 over" in routing.reason
        assert result.cascade.steps[0].models == [routing.model]
    finally:
        assert gateway.stop() == 0
        assert classifier.stop() == 0


def test_cli_profile_profiles_models_from_a_jsonl_file(system, tmp_path):
    """One ProfileModels call for every model named (commas or spaces, as the seed took them);
    the capability map comes back as JSON or as tables."""
    import json

    data = tmp_path / "val.jsonl"
    data.write_text(
        "\n".join(
            json.dumps({"question": q, "label": label})
            for q, label in [("Is 2 prime?", "YES"), ("Is 4 prime?", "NO"), ("Is 5 prime?", "YES")]
        )
        + "\n"
    )
    done = _cli(system, "--json", "profile", "--models", "yes3,no2", "--data", str(data))
    assert done.returncode == 0, done.stderr
    atlas = json.loads(done.stdout)
    by_model = {m["model"]: m for m in atlas["models"]}
    assert by_model["yes3"]["items"] == 3 and abs(by_model["yes3"]["accuracy"] - 2 / 3) < 1e-9
    assert by_model["no2"]["items"] == 3 and abs(by_model["no2"]["accuracy"] - 1 / 3) < 1e-9
    (pair,) = [p for p in atlas["correlations"] if {p["model_a"], p["model_b"]} == {"yes3", "no2"}]
    assert pair["correlation"] == -1.0  # each is wrong exactly where the other is right
    table = _cli(system, "profile", "--models", "yes3", "no2", "--data", str(data))
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith(f"profiled yes3, no2 on 3 items of {data}")
    assert "# model items trials accuracy consistency cost" in " ".join(table.stdout.split())
    assert "6/6 graded: yes3 3/3 (2 right), no2 3/3 (1 right)" in table.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "Is 2 prime?", "label": "YES"}\nnot json\n')
    refused = _cli(system, "profile", "--models", "yes3", "--data", str(bad))
    assert refused.returncode == 2 and f"{bad}, line 2: not JSON" in refused.stderr
