"""The k=auto cascade against the running system. With profiled models it aims at a calibrated
confidence: the cheapest model likely enough to be right answers alone, and models are added one
at a time while the confidence is under the target. Under the majority rule (or with nothing
profiled) it counts votes: the expert chosen by evidence answers alone; an abstention, a complex
prompt or a split escalates by *adding* models. Either way earlier answers are carried as votes,
no model is asked twice, and each step says which evidence chose each model."""

from __future__ import annotations

import pytest

from freescaling.client import Client
from freescaling.common.v1 import models_pb2
from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from tests.support.fake_openai import Step

# 11 of 12 validation items are YES: a model answering YES to all is 92% right.
QUESTIONS = [f"Is {n} a whole number?" for n in range(12)]
LABELS = ["YES"] * 11 + ["NO"]
ANSWERS = ["YES", "NO"]


def classifier_calling_all(system, tier: str):
    """A classifier replica whose tier thresholds call every prompt `tier`."""
    from tests.support.processes import ServiceProcess

    thresholds = {"simple": "0.98,0.99", "complex": "0.0,0.00001"}[tier]
    return (
        ServiceProcess(
            "classifier",
            system.workdir / f"{tier}-classifier",
            env={
                "FREESCALING_CLASSIFIER_TIER_THRESHOLDS": thresholds,
                "FREESCALING_CLASSIFIER_TIER_MODELS": "simple=yes1,medium=yes4,complex=deep1",
                # The centroids every classifier replica shares, from learning.
                "FREESCALING_CLASSIFIER_LEARNING_ADDR": system.learning.address,
            },
        )
        .start()
        .wait_serving(timeout=90)
        .wait_ready(timeout=90)
    )


@pytest.fixture(scope="module")
def simple(system, classifier_checkpoint):
    classifier = classifier_calling_all(system, "simple")
    yield classifier
    assert classifier.stop() == 0


@pytest.fixture(scope="module")
def client(system, simple):
    gateway = system.gateway_for(simple.address).start().wait_serving().wait_ready()
    with Client(gateway.address, timeout_s=60) as c:
        yield c
    assert gateway.stop() == 0


def onboard(system, fake, alias: str, *after: Step) -> None:
    """Register and profile `alias`: YES to every validation item, then `after` per request."""
    fake.script(f"e2e/{alias}", *[Step(text="Answer: YES")] * len(QUESTIONS), *after)
    gateway = gateway_pb2_grpc.GatewayStub(system.gateway.channel())
    request = gateway_pb2.OnboardModelRequest(
        alias=alias,
        model=models_pb2.ModelInfo(
            litellm_model=f"nvidia_nim/e2e/{alias}",
            tier=models_pb2.MODEL_TIER_FAST,
            api_base=fake.base_url,
            api_key_env="NVIDIA_API_KEY",
        ),
        items=[
            gateway_pb2.LabelledItem(item_id=f"w{i}", question=q, label=LABELS[i])
            for i, q in enumerate(QUESTIONS)
        ],
        answer_patterns=ANSWERS,
        max_concurrency=1,
    )
    steps = list(gateway.OnboardModel(request, timeout=120))
    assert steps[-1].correct == 11


def asked(fake, alias: str, question: str) -> int:
    return sum(
        1
        for r in fake.requests_for(f"e2e/{alias}")
        if any(m.get("content") == question for m in r.body["messages"])
    )


def test_the_expert_answers_alone_and_says_why(system, fake, client):
    onboard(system, fake, "sole1", Step(text="Answer: YES"))
    onboard(system, fake, "sole2", Step(text="Answer: NO"))
    question = "Is 70 a whole number?"
    result = client.scale(
        question,
        k="auto",
        answers=ANSWERS,
        models=["sole1", "sole2", "no1"],
        shadow=False,
        vote_rule="majority",
    )
    cascade = result.cascade
    assert cascade.path == "single"
    assert cascade.routing.method == "expert", cascade.routing.reason
    # Both profiled alike: the alias breaks the tie; no1 has no profile here.
    assert cascade.routing.model == "sole1"
    (step,) = cascade.steps
    assert [c.model for c in step.added] == ["sole1"]
    assert "profile" in step.added[0].evidence
    assert step.added[0].expected_accuracy > 0.7
    assert (result.answer, result.calls_made) == ("YES", 1)
    assert asked(fake, "sole2", question) == 0


def test_an_abstention_escalates_by_adding_two_models(system, fake, client):
    onboard(system, fake, "abs1", Step(text="I cannot tell."))
    onboard(system, fake, "abs2", Step(text="Answer: YES"))
    onboard(system, fake, "abs3", Step(text="Answer: YES"))
    question = "Is 90 a whole number?"
    result = client.scale(
        question,
        k="auto",
        answers=ANSWERS,
        models=["abs1", "abs2", "abs3"],
        shadow=False,
        vote_rule="majority",
    )
    cascade = result.cascade
    assert cascade.path == "single>panel3", [s.reason for s in cascade.steps]
    single, three = cascade.steps
    assert single.models == ["abs1"] and "abstain" in single.reason
    # The abstention is carried; two models are added, none asked again.
    assert three.models == ["abs1", "abs2", "abs3"]
    assert sorted(c.model for c in three.added) == ["abs2", "abs3"]
    assert all("mean error correlation" in c.evidence for c in three.added)
    assert (result.answer, result.outcome, result.calls_made) == ("YES", "majority", 3)
    assert [asked(fake, m, question) for m in ("abs1", "abs2", "abs3")] == [1, 1, 1]


def test_a_split_escalates_to_five_keeping_the_votes_had(system, fake, simple):
    onboard(system, fake, "split1", Step(text="Answer: YES"))
    onboard(system, fake, "split2", Step(text="Answer: NO"))
    onboard(system, fake, "split3", Step(text="I cannot tell."))
    onboard(system, fake, "split4", Step(text="Answer: YES"))
    onboard(system, fake, "split5", Step(text="Answer: YES"))
    everyone = [f"split{i}" for i in range(1, 6)]
    question = "Is 100 a whole number?"
    # The expert (split1) answers YES clearly, but the gate wants 0.99 expected accuracy.
    gateway = system.gateway_for(simple.address, FREESCALING_GATEWAY_AUTO_MIN_ACCURACY="0.99")
    gateway.start().wait_serving().wait_ready()
    try:
        with Client(gateway.address, timeout_s=60) as other:
            result = other.scale(
                question,
                k="auto",
                answers=ANSWERS,
                models=everyone,
                shadow=False,
                vote_rule="majority",
            )
    finally:
        assert gateway.stop() == 0
    cascade = result.cascade
    assert cascade.path == "single>panel3>panel5", [s.reason for s in cascade.steps]
    single, three, five = cascade.steps
    assert "under 0.99: escalate to 3" in single.reason
    assert three.models == ["split1", "split2", "split3"]
    assert "disagreed" in three.reason
    assert five.models == everyone
    assert sorted(c.model for c in five.added) == ["split4", "split5"]
    assert (result.answer, result.outcome, result.calls_made) == ("YES", "majority", 5)
    assert [asked(fake, m, question) for m in everyone] == [1] * 5


def test_a_complex_prompt_goes_to_three_at_once(system, fake, classifier_checkpoint):
    onboard(system, fake, "deep2", Step(text="Answer: YES"))
    onboard(system, fake, "deep3", Step(text="Answer: YES"))
    onboard(system, fake, "deep4", Step(text="Answer: YES"))
    classifier = classifier_calling_all(system, "complex")
    gateway = system.gateway_for(classifier.address)
    gateway.start().wait_serving().wait_ready()
    try:
        with Client(gateway.address, timeout_s=60) as other:
            result = other.scale(
                "Is 110 a whole number?",
                k="auto",
                answers=ANSWERS,
                models=["deep2", "deep3", "deep4"],
                shadow=False,
                vote_rule="majority",
            )
    finally:
        assert gateway.stop() == 0
        assert classifier.stop() == 0
    cascade = result.cascade
    assert cascade.routing.classification.tier == "complex"
    assert cascade.path == "panel3"
    (three,) = cascade.steps
    assert [c.model for c in three.added] == ["deep2", "deep3", "deep4"]
    assert "the prompt is complex" in three.reason
    assert (result.answer, result.calls_made) == ("YES", 3)


def test_calibrated_the_cheapest_likely_model_answers_alone(system, fake, client):
    onboard(system, fake, "cal1", Step(text="Answer: YES"))
    onboard(system, fake, "cal2", Step(text="Answer: NO"))
    question = "Is 120 a whole number?"
    result = client.scale(
        question, k="auto", answers=ANSWERS, models=["cal1", "cal2"], shadow=False
    )
    cascade = result.cascade
    assert cascade.path == "k1", [s.reason for s in cascade.steps]
    assert cascade.min_confidence == pytest.approx(0.8)  # the gateway's default target
    assert cascade.routing.method == "expert" and cascade.routing.model == "cal1"
    (step,) = cascade.steps
    assert "reaches the target 0.80: stop" in step.reason
    assert "profile: expected accuracy" in step.added[0].evidence
    # Profiled alike (11 of 12 right): the alias breaks the tie.
    assert (result.answer, result.calls_made, result.vote_rule) == ("YES", 1, "weighted")
    assert result.confidence_source == "calibrated" and result.confident
    assert result.confidence == pytest.approx(step.added[0].expected_accuracy)
    (vote,) = result.votes
    assert vote.weight > 0 and "expected accuracy" in vote.weight_reason
    assert asked(fake, "cal2", question) == 0


def test_calibrated_an_abstention_asks_one_more_model(system, fake, client):
    onboard(system, fake, "cab1", Step(text="I cannot tell."))
    onboard(system, fake, "cab2", Step(text="Answer: YES"))
    onboard(system, fake, "cab3", Step(text="Answer: YES"))
    question = "Is 130 a whole number?"
    everyone = ["cab1", "cab2", "cab3"]
    result = client.scale(question, k="auto", answers=ANSWERS, models=everyone, shadow=False)
    cascade = result.cascade
    assert cascade.path == "k1>k2", [s.reason for s in cascade.steps]
    first, second = cascade.steps
    assert first.models == ["cab1"] and "confidence 0.00 (no answer)" in first.reason
    # The abstention is carried; one model is added.
    assert second.models == ["cab1", "cab2"]
    assert [c.model for c in second.added] == ["cab2"]
    assert (result.answer, result.calls_made) == ("YES", 2)
    assert [asked(fake, m, question) for m in everyone] == [1, 1, 0]


def test_calibrated_a_high_target_adds_models_up_to_five(system, fake, client):
    onboard(system, fake, "high1", Step(text="Answer: YES"))
    onboard(system, fake, "high2", Step(text="Answer: NO"))
    onboard(system, fake, "high3", Step(text="I cannot tell."))
    onboard(system, fake, "high4", Step(text="Answer: YES"))
    onboard(system, fake, "high5", Step(text="Answer: YES"))
    onboard(system, fake, "high6", Step(text="Answer: YES"))
    everyone = [f"high{i}" for i in range(1, 7)]
    question = "Is 140 a whole number?"
    result = client.scale(
        question, k="auto", answers=ANSWERS, models=everyone, shadow=False, min_confidence=0.99
    )
    cascade = result.cascade
    assert cascade.path == "k1>k2>k3>k4>k5", [s.reason for s in cascade.steps]
    assert cascade.min_confidence == pytest.approx(0.99)
    assert [s.models for s in cascade.steps][-1] == everyone[:5]
    assert "5 models asked: stop" in cascade.steps[-1].reason
    # Every model errs on the same validation item: agreeing votes count for less than five.
    assert (result.answer, result.calls_made) == ("YES", 5)
    assert result.confidence < 0.99 and not result.confident
    assert {v.model: v.parsed_answer for v in result.votes}["high2"] == "NO"
    assert all("errs with" in v.weight_reason for v in result.votes if v.parsed_answer)
    assert [asked(fake, m, question) for m in everyone] == [1, 1, 1, 1, 1, 0]
