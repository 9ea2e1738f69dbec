"""The ensemble through its gRPC API, against scripted models on a local OpenAI-compatible
server: voting with short-circuit, ties and abstentions, the shadow challenger, self-healing,
429 back-off, best-of-k with judges, batches, health probes, completions and bad input."""

from __future__ import annotations

import threading

import grpc
import pytest

from freescaling.common.v1 import calls_pb2, info_pb2, models_pb2, voting_pb2
from freescaling.ensemble.v1 import ensemble_pb2, ensemble_pb2_grpc
from tests.ensemble.conftest import FAKE_KEY, FAST, MEDIUM, THINKING, start_ensemble
from tests.support.fake_openai import Step
from tests.support.processes import wait_for

YN = ["YES", "NO"]


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory, fake):
    process = start_ensemble(
        tmp_path_factory.mktemp("ensemble"),
        fake,
        FREESCALING_ENSEMBLE_SLOW_THRESHOLD_S="0.5",
        FREESCALING_ENSEMBLE_MAX_BATCH_ITEMS="20",
    )
    yield process
    assert process.stop() == 0
    # Nothing the service wrote, in any test of this module, carries the key.
    assert FAKE_KEY not in process.log_text()


@pytest.fixture
def stub(ensemble, fake):
    fake.reset()
    fake.default = Step(text="Answer: YES")
    return ensemble_pb2_grpc.EnsembleStub(ensemble.channel())


def scale(stub, models=(), k=0, patterns=YN, shadow=False, **kw):
    return stub.Scale(
        ensemble_pb2.ScaleRequest(
            question=kw.pop("question", "Is it so?"),
            k=k,
            models=list(models),
            answer_patterns=list(patterns),
            no_shadow=not shadow,
            **kw,
        ),
        timeout=kw.get("timeout", 20),
    )


def closed_early(fake, model: str) -> bool:
    return bool(fake.requests_for(model)) and all(r.closed_early for r in fake.requests_for(model))


# -- voting -----------------------------------------------------------------------------------
def test_majority_short_circuits_and_the_slow_request_is_really_closed(stub, fake):
    # Delays long enough for the hanging model's request to reach the server under any load,
    # so that what the test sees is its abort, not a request never sent.
    fake.script("test/f1", Step(text="Answer: YES", delay_s=0.3))
    fake.script("test/f2", Step(text="YES", think="Could be NO?", delay_s=0.4))
    fake.script("test/f3", Step(hang=True))
    result = scale(stub, k=3)
    assert result.outcome == voting_pb2.SCALE_OUTCOME_MAJORITY
    assert result.answer == "YES"
    assert result.confidence == 1.0
    assert result.short_circuited
    assert [v.model for v in result.votes] == ["f1", "f2", "f3"]
    assert [v.parsed_answer for v in result.votes] == ["YES", "YES", ""]
    assert result.votes[2].cancelled and not result.votes[2].error
    # litellm moves a <think> block into the reasoning field; either way it is not parsed.
    assert "Could be NO?" in result.votes[1].raw_output + result.votes[1].reasoning
    assert result.calls_made == 3
    assert result.k == 3 and list(result.answer_patterns) == YN
    assert len(result.call_id) == 32
    assert result.usage.total_tokens == 30
    assert result.usage.cost_usd == pytest.approx(2 * (12 * 2.0 + 3 * 10.0) / 1e6)
    # The hanging model's HTTP request was aborted, not left running.
    wait_for(lambda: closed_early(fake, "test/f3"), timeout=5, what="f3's request to be closed")


def test_context_goes_in_the_system_message_and_the_question_in_the_users(stub, fake):
    scale(stub, models=["f1"], question="Is 17 prime?", context="Numbers are integers.")
    (request,) = fake.requests_for("test/f1")
    system, user = request.body["messages"]
    assert system["role"] == "system" and system["content"].startswith("Numbers are integers.")
    assert "YES, NO" in system["content"]
    assert user == {"role": "user", "content": "Is 17 prime?"}


def test_five_models_need_three_agreeing(stub, fake):
    # The NO votes come first, so no majority is certain before the fifth vote.
    for name, text, delay in [
        ("f1", "YES", 0.3),
        ("f2", "NO", 0),
        ("f3", "YES", 0.6),
        ("f4", "NO", 0),
        ("f5", "YES", 0.9),
    ]:
        fake.script(f"test/{name}", Step(text=f"Answer: {text}", delay_s=delay))
    result = scale(stub, k=5)
    assert result.answer == "YES"
    assert result.confidence == pytest.approx(3 / 5)
    assert not result.short_circuited


def test_a_tie_is_reported_as_a_tie(stub, fake):
    fake.script("test/f1", Step(text="YES"))
    fake.script("test/f2", Step(text="NO"))
    fake.script("test/f3", Step(text="I cannot tell."))
    result = scale(stub, k=3)
    assert result.outcome == voting_pb2.SCALE_OUTCOME_TIE
    assert result.answer == ""
    assert result.confidence == 0.5
    assert result.votes[2].abstained and result.votes[2].parsed_answer == ""


def test_all_abstain_is_reported_with_no_answer(stub, fake):
    for name in ("f1", "f2", "f3"):
        fake.script(f"test/{name}", Step(text="Hard to say, it depends."))
    result = scale(stub, k=3)
    assert result.outcome == voting_pb2.SCALE_OUTCOME_ALL_ABSTAIN
    assert result.answer == "" and result.confidence == 0.0
    assert all(v.abstained for v in result.votes)


def test_when_every_model_fails_the_outcome_is_no_answer_with_each_error(stub, fake):
    for name in ("f1", "f2", "f3"):
        fake.script(f"test/{name}", Step(status=500))
    result = scale(stub, k=3)
    assert result.outcome == voting_pb2.SCALE_OUTCOME_NO_ANSWER
    assert result.answer == ""
    assert all("HTTP 500" in v.error for v in result.votes)


def test_reasoning_fields_are_returned_and_not_parsed(stub, fake):
    fake.script("test/f1", Step(text="Answer: NO", reasoning="Surely YES? no..."))
    result = scale(stub, models=["f1"])
    assert result.answer == "NO"
    assert result.votes[0].reasoning.startswith("Surely YES")


# -- the shadow challenger --------------------------------------------------------------------
def test_shadow_answers_outside_the_panel_and_does_not_vote(stub, fake):
    for name in ("f1", "f2", "f3"):
        fake.script(f"test/{name}", Step(text="YES", delay_s=0.3))
    fake.default = Step(text="NO")  # every model outside the panel
    result = scale(stub, k=3, shadow=True)
    assert result.answer == "YES" and result.confidence == 1.0
    assert result.HasField("shadow")
    assert result.shadow.model not in {"f1", "f2", "f3"}
    assert result.shadow.parsed_answer == "NO" and not result.shadow_agrees
    assert (result.calls_made, result.shadow_calls_made, result.pending_shadow) == (3, 1, "")
    # The panel's usage only (a third vote short-circuited away under load costs nothing);
    # the shadow's is its own.
    answered = sum(1 for v in result.votes if not v.cancelled)
    assert answered >= 2
    assert result.usage.total_tokens == answered * 15 and result.shadow.usage.total_tokens == 15
    second = scale(stub, k=3, shadow=True)
    assert second.shadow.model not in {"f1", "f2", "f3", result.shadow.model}  # spread


def test_a_slow_shadow_never_delays_the_answer_and_is_cancelled(stub, fake):
    # The panel takes 0.3 s, long enough for the shadow's request (started alongside) to reach
    # the server under any load, so that its abort is what the test sees.
    for name in ("f1", "f2", "f3"):
        fake.script(f"test/{name}", Step(text="YES", delay_s=0.3))
    fake.default = Step(hang=True)
    result = scale(stub, k=3, shadow=True)
    assert result.answer == "YES"
    assert not result.HasField("shadow")
    (shadow_request,) = [
        r for r in fake.requests if r.model not in {"test/f1", "test/f2", "test/f3"}
    ]
    wait_for(lambda: shadow_request.closed_early, timeout=5, what="the shadow's request to close")
    assert (result.calls_made, result.shadow_calls_made, result.pending_shadow) == (3, 1, "")


def scale_stream(stub, models=(), k=0, **kw):
    return stub.ScaleStream(
        ensemble_pb2.ScaleRequest(
            question="Is it so?", k=k, models=list(models), answer_patterns=YN, **kw
        ),
        timeout=20,
    )


def test_a_slow_shadow_answers_after_the_result_on_scale_stream(stub, fake):
    for name in ("f1", "f2", "f3"):
        fake.script(f"test/{name}", Step(text="YES"))
    fake.default = Step(text="Answer: NO", delay_s=1.0)  # every model outside the panel
    events = scale_stream(stub, k=3, answer_within_s=15)
    first = next(events)
    assert first.WhichOneof("event") == "result"
    result = first.result
    assert result.answer == "YES" and not result.HasField("shadow")
    assert result.pending_shadow not in ("", "f1", "f2", "f3")
    second = next(events)
    assert second.WhichOneof("event") == "shadow"
    late = second.shadow
    assert (late.call_id, late.vote.model, late.vote.parsed_answer) == (
        result.call_id,
        result.pending_shadow,
        "NO",
    )
    assert late.calls_made == 1 and late.vote.usage.total_tokens == 15
    # The result was sent before the shadow had answered: the answer did not wait for it.
    assert late.vote.latency_s >= 1.0 and late.vote.latency_s > result.elapsed_s
    assert list(events) == []


def test_scale_stream_gone_before_the_shadow_cancels_it(stub, fake):
    for name in ("f1", "f2", "f3"):
        fake.script(f"test/{name}", Step(text="YES", delay_s=0.2))
    fake.default = Step(hang=True)
    events = scale_stream(stub, k=3)
    result = next(events).result
    assert result.pending_shadow
    wait_for(
        lambda: fake.requests_for(f"test/{result.pending_shadow}"),
        timeout=5,
        what="the shadow's request to reach the provider",
    )
    events.cancel()
    (shadow_request,) = fake.requests_for(f"test/{result.pending_shadow}")
    wait_for(lambda: shadow_request.closed_early, timeout=5, what="the shadow's request to close")


def test_a_late_shadow_that_times_out_is_reported_with_its_error(stub, fake):
    for name in ("f1", "f2", "f3"):
        fake.script(f"test/{name}", Step(text="YES"))
    fake.default = Step(hang=True)
    events = scale_stream(stub, k=3, options=calls_pb2.CallOptions(timeout_s=1.0))
    result = next(events).result
    late = next(events).shadow
    assert late.vote.model == result.pending_shadow
    assert "no answer within" in late.vote.error and not late.vote.parsed_answer


def test_batch_late_shadows_follow_the_items(stub, fake):
    for name in ("f1", "f2", "f3"):
        fake.script(f"test/{name}", Step(text="YES"))
    fake.default = Step(text="NO", delay_s=0.8)
    request = ensemble_pb2.ScaleBatchRequest(
        items=[ensemble_pb2.ScaleItem(question=f"Q{i}?") for i in range(3)],
        k=3,
        answer_patterns=YN,
        late_shadows=True,
    )
    events = list(stub.ScaleBatch(request, timeout=30))
    kinds = [e.WhichOneof("outcome") for e in events]
    assert kinds[:3] == ["result"] * 3 and kinds[3:] == ["shadow"] * 3
    pending = {e.index: e.result for e in events[:3]}
    for e in events[3:]:
        assert e.shadow.call_id == pending[e.index].call_id
        assert e.shadow.vote.model == pending[e.index].pending_shadow
        assert e.shadow.vote.parsed_answer == "NO"
    # Without late_shadows, as before: the late shadows are cancelled, nothing follows.
    request.late_shadows = False
    assert {e.WhichOneof("outcome") for e in stub.ScaleBatch(request, timeout=30)} == {"result"}


# -- self-healing -----------------------------------------------------------------------------
def test_a_dead_model_is_substituted_now_and_skipped_afterwards(stub, fake):
    fake.script("test/f6", Step(status=404))
    fake.script("test/f7", Step(text="YES"))
    fake.script("test/f8", Step(text="NO"))  # so that the vote waits for the stand-in
    result = scale(stub, models=["f6", "f7", "f8"])
    assert result.answer == "YES"
    first = result.votes[0]
    assert first.substituted_for == "f6" and first.model not in {"f6", "f7", "f8"}
    assert first.model.startswith("f")  # same tier
    assert not first.error

    listed = {m.alias: m for m in stub.ListModels(models_pb2.ListModelsRequest()).models}
    assert listed["f6"].dead and listed["f6"].dead_until.seconds > 0
    assert not listed["f7"].dead
    live = stub.ListModels(models_pb2.ListModelsRequest(live_only=True)).models
    assert "f6" not in {m.alias for m in live}

    again = scale(stub, models=["f6", "f7", "f8"])
    assert again.votes[0].substituted_for == "f6"
    assert len(fake.requests_for("test/f6")) == 1  # not asked again within its TTL


def test_gone_410_also_marks_dead_and_health_reports_it(stub, fake):
    fake.script("test/f9", Step(status=410))
    report = stub.Health(models_pb2.ModelHealthRequest(models=["f9"]), timeout=10)
    (entry,) = report.models
    assert entry.status == models_pb2.HEALTH_STATUS_DEAD
    assert "HTTP 410" in entry.error
    assert entry.dead_until.seconds > entry.checked_at.seconds
    assert report.dead == 1 and report.live == 0


def test_health_probes_in_parallel_and_says_ok_slow_error(stub, fake, ensemble):
    fake.script("test/m4", Step(text="OK"))
    fake.script("test/m5", Step(text="OK", delay_s=0.8))
    fake.script("test/m6", Step(status=500))
    report = stub.Health(models_pb2.ModelHealthRequest(models=["m4", "m5", "m6"]), timeout=10)
    statuses = [(e.model, e.status) for e in report.models]
    assert statuses == [
        ("m4", models_pb2.HEALTH_STATUS_OK),
        ("m5", models_pb2.HEALTH_STATUS_SLOW),
        ("m6", models_pb2.HEALTH_STATUS_ERROR),
    ]
    assert report.models[1].latency_ms >= 500
    assert "HTTP 500" in report.models[2].error
    assert report.live == 2
    # Model problems never make the service itself unhealthy.
    assert ensemble.health(ensemble.grpc_name) == "SERVING"


def test_429_backs_off_honouring_retry_after_and_is_retried(stub, fake):
    fake.script("test/f10", Step(status=429, retry_after=0.3), Step(text="Answer: NO"))
    result = scale(stub, models=["f10"])
    assert result.answer == "NO"
    first, second = fake.requests_for("test/f10")
    assert second.started - first.started >= 0.3


def test_429_past_the_deadline_is_that_vote_s_error_not_death(stub, fake):
    fake.script("test/f11", Step(status=429, retry_after=60))
    result = scale(stub, models=["f11"], options=calls_pb2.CallOptions(timeout_s=3))
    assert result.outcome == voting_pb2.SCALE_OUTCOME_NO_ANSWER
    assert "429" in result.votes[0].error and "deadline" in result.votes[0].error
    assert len(fake.requests_for("test/f11")) == 1
    listed = {m.alias: m for m in stub.ListModels(models_pb2.ListModelsRequest()).models}
    assert not listed["f11"].dead


def test_a_transient_503_is_tried_again_and_the_vote_stands(stub, fake):
    fake.script("test/f10", Step(status=503), Step(text="Answer: NO"))
    result = scale(stub, models=["f10"])
    assert result.answer == "NO" and not result.votes[0].error
    first, second = fake.requests_for("test/f10")
    assert second.started - first.started >= 0.25


def test_a_500_that_persists_fails_after_two_attempts_and_a_400_after_one(stub, fake):
    fake.script("test/f11", Step(status=500))
    fake.script("test/f12", Step(status=400))
    result = scale(stub, models=["f11", "f12"])
    errors = {v.model: v.error for v in result.votes}
    assert "HTTP 500" in errors["f11"] and "(2 attempts)" in errors["f11"]
    assert "HTTP 400" in errors["f12"] and "attempts" not in errors["f12"]
    assert len(fake.requests_for("test/f11")) == 2
    assert len(fake.requests_for("test/f12")) == 1


def test_a_bad_key_names_the_variable_and_never_shows_the_key(stub, fake):
    fake.script("test/f12", Step(status=401))
    result = scale(stub, models=["f12"])
    error = result.votes[0].error
    assert "HTTP 401" in error and "NVIDIA_API_KEY" in error
    assert FAKE_KEY not in error


# -- best-of-k --------------------------------------------------------------------------------
def test_generate_is_judged_by_different_models_on_anonymised_shuffled_outputs(stub, fake):
    for name, text in [("f1", "alpha answer"), ("f2", "beta answer"), ("f3", "gamma answer")]:
        fake.script(f"test/{name}", Step(text=text, think="drafting"))
    for judge in ("m1", "m2", "m3"):
        fake.script(f"test/{judge}", Step(pick="beta"))
    orders = set()
    for _ in range(3):
        result = stub.Generate(
            ensemble_pb2.GenerateRequest(question="Write one.", models=["f1", "f2", "f3"]),
            timeout=20,
        )
        assert result.output == "beta answer"
        assert result.winner_model == "f2"
        assert list(result.judge_votes) == [0, 3, 0]
        assert [o.output for o in result.all_outputs] == [
            "alpha answer",
            "beta answer",
            "gamma answer",
        ]
        assert {j.judge for j in result.judges} == {"m1", "m2", "m3"}  # the "judges" panel
        assert result.total_calls == 6
        assert not result.tie_broken
    for request in fake.requests:
        if request.model in {"test/m1", "test/m2", "test/m3"}:
            shown = request.body["messages"][-1]["content"]
            assert not any(alias in shown for alias in ("f1", "f2", "f3", "test/"))
            assert "drafting" not in shown  # reasoning is not shown to judges
            orders.add(tuple(sorted(("alpha", "beta", "gamma"), key=shown.index)))
    assert len(orders) > 1  # each judge sees its own order


def test_generate_tie_rule_earliest_output_wins(stub, fake):
    for name, text in [("f1", "alpha"), ("f2", "beta"), ("f3", "gamma")]:
        fake.script(f"test/{name}", Step(text=text))
    for judge, pick in [("m1", "gamma"), ("m2", "beta"), ("m3", "Answer?")]:
        fake.script(f"test/{judge}", Step(text="no idea", pick=pick))
    result = stub.Generate(
        ensemble_pb2.GenerateRequest(
            question="Write one.", models=["f1", "f2", "f3"], judges=["m1", "m2", "m3"]
        ),
        timeout=20,
    )
    assert list(result.judge_votes) == [0, 1, 1]
    assert result.winner_model == "f2" and result.tie_broken
    assert result.judges[2].choice == -1


def test_generate_rejects_a_judge_that_is_a_generator(stub):
    with pytest.raises(grpc.RpcError) as err:
        stub.Generate(
            ensemble_pb2.GenerateRequest(question="q", models=["f1", "f2"], judges=["f2"]),
            timeout=5,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "judges must differ from the generators; f2 is both" in err.value.details()


def test_generate_when_every_generator_fails_is_unavailable(stub, fake):
    fake.script("test/f4", Step(status=500))
    with pytest.raises(grpc.RpcError) as err:
        stub.Generate(ensemble_pb2.GenerateRequest(question="q", models=["f4"]), timeout=10)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "every generator failed: f4: HTTP 500" in err.value.details()


# -- batches ----------------------------------------------------------------------------------
def test_scale_batch_streams_as_items_finish_and_isolates_failures(stub, fake):
    for name in ("f1", "f2", "f3"):
        fake.script(f"test/{name}", Step(text="YES"))
    items = [
        ensemble_pb2.ScaleItem(question="slow one [[delay=1.5]]"),
        ensemble_pb2.ScaleItem(question=""),
        ensemble_pb2.ScaleItem(question="answers NO [[answer=Answer: NO]]"),
        ensemble_pb2.ScaleItem(question="own patterns", answer_patterns=["A", "a"]),
        ensemble_pb2.ScaleItem(question="fine"),
    ]
    results = list(
        stub.ScaleBatch(
            ensemble_pb2.ScaleBatchRequest(
                items=items, k=3, answer_patterns=YN, no_shadow=True, max_concurrency=5
            ),
            timeout=30,
        )
    )
    assert sorted(r.index for r in results) == [0, 1, 2, 3, 4]
    assert results[-1].index == 0  # the slow item came last; the others did not wait for it
    by_index = {r.index: r for r in results}
    assert by_index[1].error.code == "INVALID_ARGUMENT"
    assert by_index[1].error.message == "question is empty"
    assert by_index[3].error.code == "INVALID_ARGUMENT"
    assert "twice" in by_index[3].error.message
    assert by_index[2].result.answer == "NO"
    assert by_index[0].result.answer == by_index[4].result.answer == "YES"


def test_batch_concurrency_is_bounded(stub, fake):
    fake.script("test/f1", Step(text="YES", delay_s=0.2))
    items = [ensemble_pb2.ScaleItem(question=f"q{i}") for i in range(6)]
    results = list(
        stub.ScaleBatch(
            ensemble_pb2.ScaleBatchRequest(
                items=items, models=["f1"], answer_patterns=YN, no_shadow=True, max_concurrency=2
            ),
            timeout=30,
        )
    )
    assert len(results) == 6
    spans = [(r.started, r.finished) for r in fake.requests_for("test/f1")]
    most = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert most <= 2


def test_generate_batch_isolates_item_errors(stub, fake):
    for name, text in [("f1", "alpha"), ("f2", "beta")]:
        fake.script(f"test/{name}", Step(text=text))
    fake.script("test/m1", Step(pick="alpha"))
    fake.script("test/m2", Step(pick="alpha"))
    results = list(
        stub.GenerateBatch(
            ensemble_pb2.GenerateBatchRequest(
                items=[
                    ensemble_pb2.GenerateItem(question="one"),
                    ensemble_pb2.GenerateItem(question=" "),
                ],
                models=["f1", "f2"],
            ),
            timeout=30,
        )
    )
    by_index = {r.index: r for r in results}
    assert by_index[0].result.winner_model == "f1"
    assert by_index[0].result.total_calls == 4
    assert by_index[1].error.code == "INVALID_ARGUMENT"


def test_a_batch_over_the_limit_is_resource_exhausted(stub):
    items = [ensemble_pb2.ScaleItem(question="q")] * 21
    with pytest.raises(grpc.RpcError) as err:
        list(stub.ScaleBatch(ensemble_pb2.ScaleBatchRequest(items=items, k=1), timeout=5))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "21 items is over the batch limit of 20" in err.value.details()


# -- completions ------------------------------------------------------------------------------
def test_complete_streams_tokens_then_usage_and_cost(stub, fake):
    fake.script(
        "test/m2",
        Step(
            text="Hello there, world",
            reasoning="let me think",
            prompt_tokens=100,
            completion_tokens=7,
        ),
    )
    chunks = list(
        stub.Complete(
            ensemble_pb2.CompleteRequest(
                model="m2",
                messages=[calls_pb2.ChatMessage(role="user", content="hi")],
                call_id="c-1",
            ),
            timeout=10,
        )
    )
    assert "".join(c.delta for c in chunks if c.HasField("delta")) == "Hello there, world"
    assert "".join(c.reasoning_delta for c in chunks).strip() == "let me think"
    done = chunks[-1].done
    assert done.model == "m2" and done.call_id == "c-1" and done.finish_reason == "stop"
    assert done.usage.prompt_tokens == 100 and done.usage.completion_tokens == 7
    assert done.usage.cost_usd == pytest.approx((100 * 2.0 + 7 * 10.0) / 1e6)
    assert len([c for c in chunks if c.HasField("delta")]) > 1  # really streamed
    assert fake.requests_for("test/m2")[0].body["stream"] is True


def test_complete_passes_the_callers_sampling_options_to_the_provider(stub, fake):
    # OpenAI's own models take every option; litellm sends `user` only to providers it knows
    # take it (NIM's API has no such field, nor do many OpenAI-compatible servers).
    entry = models_pb2.ModelInfo(
        alias="compat", litellm_model="openai/gpt-4o-mini", tier=models_pb2.MODEL_TIER_FAST
    )
    stub.RegisterModel(ensemble_pb2.RegisterModelRequest(model=entry))
    messages = [calls_pb2.ChatMessage(role="user", content="hi")]
    options = calls_pb2.CallOptions(
        max_tokens=77, temperature=0.25, top_p=0.5, stop=["END", "\n\n"], seed=42, user="u-7"
    )
    for model in ("compat", "m4"):
        for given in (options, None):
            request = ensemble_pb2.CompleteRequest(model=model, messages=messages, options=given)
            list(stub.Complete(request, timeout=10))
    given, unset = (r.body for r in fake.requests_for("gpt-4o-mini"))
    names = ("max_tokens", "temperature", "top_p", "stop", "seed", "user")
    assert {k: given.get(k) for k in names} == {
        "max_tokens": 77, "temperature": 0.25, "top_p": 0.5, "stop": ["END", "\n\n"],
        "seed": 42, "user": "u-7",
    }  # fmt: skip
    # Unset options are not sent: the provider's defaults apply (max_tokens: the service's).
    assert unset["max_tokens"] == 1024
    assert not {"temperature", "top_p", "stop", "seed", "user"} & set(unset)
    nim, _ = (r.body for r in fake.requests_for("test/m4"))
    assert (nim["top_p"], nim["stop"], nim["seed"], "user" in nim) == (
        0.5,
        ["END", "\n\n"],
        42,
        False,
    )


def _complete(stub, model: str, timeout: float = 10, **options):
    return list(
        stub.Complete(
            ensemble_pb2.CompleteRequest(
                model=model,
                messages=[calls_pb2.ChatMessage(role="user", content="hi")],
                options=calls_pb2.CallOptions(**options),
            ),
            timeout=timeout,
        )
    )


def test_complete_backs_off_a_429_before_the_first_token(stub, fake):
    fake.script("test/m4", Step(status=429, retry_after=0.3), Step(text="Hello after a wait"))
    chunks = _complete(stub, "m4")
    assert "".join(c.delta for c in chunks if c.HasField("delta")) == "Hello after a wait"
    assert chunks[-1].done.model == "m4"
    first, second = fake.requests_for("test/m4")
    assert second.started - first.started >= 0.3  # Retry-After honoured


def test_complete_429_past_the_deadline_is_resource_exhausted(stub, fake):
    fake.script("test/m5", Step(status=429, retry_after=60))
    with pytest.raises(grpc.RpcError) as err:
        _complete(stub, "m5", timeout_s=3)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "would pass the call's deadline" in err.value.details()
    assert len(fake.requests_for("test/m5")) == 1


def test_complete_tries_a_502_again_before_the_first_token(stub, fake):
    fake.script("test/m4", Step(status=502), Step(text="Hello the second time"))
    chunks = _complete(stub, "m4")
    assert "".join(c.delta for c in chunks if c.HasField("delta")) == "Hello the second time"
    assert len(fake.requests_for("test/m4")) == 2


def test_complete_with_a_dead_model_is_answered_by_a_stand_in(stub, fake):
    fake.script("test/m3", Step(status=404))
    chunks = list(
        stub.Complete(
            ensemble_pb2.CompleteRequest(
                model="m3", messages=[calls_pb2.ChatMessage(role="user", content="hi")]
            ),
            timeout=10,
        )
    )
    assert chunks[-1].done.model not in ("", "m3")
    assert chunks[-1].done.model.startswith("m")  # same tier
    assert len(fake.requests_for("test/m3")) == 1  # its 404 made it dead, at once replaced
    listed = {m.alias: m for m in stub.ListModels(models_pb2.ListModelsRequest()).models}
    assert listed["m3"].dead


# -- the registry -----------------------------------------------------------------------------
def test_list_models_and_panels(stub):
    models = stub.ListModels(models_pb2.ListModelsRequest(tier=models_pb2.MODEL_TIER_THINKING))
    assert [m.alias for m in models.models] == ["t1", "t2"]
    first = models.models[0]
    assert first.litellm_model == "nvidia_nim/test/t1" and first.routing_cost == 6.0
    assert first.api_key_env == "NVIDIA_API_KEY" and first.provider == "nvidia_nim"
    panels = stub.ListPanels(models_pb2.ListPanelsRequest()).panels
    assert [p.name for p in panels][:3] == ["default-k1", "default-k3", "default-k5"]
    assert list(panels[1].models) == ["f1", "f2", "f3"]


def test_register_model_adds_an_entry_and_refuses_a_conflicting_one(stub):
    entry = models_pb2.ModelInfo(
        alias="newbie", litellm_model="nvidia_nim/test/newbie", tier=models_pb2.MODEL_TIER_FAST
    )
    added = stub.RegisterModel(ensemble_pb2.RegisterModelRequest(model=entry))
    assert added.alias == "newbie" and added.routing_cost == 1.0
    assert stub.RegisterModel(ensemble_pb2.RegisterModelRequest(model=entry)).alias == "newbie"
    entry.tier = models_pb2.MODEL_TIER_MEDIUM
    with pytest.raises(grpc.RpcError) as err:
        stub.RegisterModel(ensemble_pb2.RegisterModelRequest(model=entry))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "'newbie' is already registered" in err.value.details()


def test_register_model_without_learning_lives_in_this_process_and_names_no_key(stub):
    info = stub.GetInfo(info_pb2.GetInfoRequest())
    assert info.settings["registered_in"] == (
        "this process's memory (FREESCALING_ENSEMBLE_LEARNING_ADDR is empty)"
    )
    # The registry file's models cannot be changed at run time; the same definition is fine.
    f1 = models_pb2.ModelInfo(
        alias="f1", litellm_model="nvidia_nim/test/other", tier=models_pb2.MODEL_TIER_FAST
    )
    with pytest.raises(grpc.RpcError) as err:
        stub.RegisterModel(ensemble_pb2.RegisterModelRequest(model=f1))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert err.value.details().startswith(
        "model 'f1' is defined by the registry file "
    ) and err.value.details().endswith(
        "(nvidia_nim/test/f1, tier fast); a run-time registration cannot change it: register "
        "the new definition under another alias"
    )
    keyed = models_pb2.ModelInfo(
        alias="keyed",
        litellm_model="nvidia_nim/test/keyed",
        tier=models_pb2.MODEL_TIER_FAST,
        api_key_env=FAKE_KEY,
    )
    with pytest.raises(grpc.RpcError) as err:
        stub.RegisterModel(ensemble_pb2.RegisterModelRequest(model=keyed))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == (
        "model 'keyed': api_key_env must name the environment variable that holds the key "
        "(capital letters, digits and _, at most 128, e.g. NVIDIA_API_KEY), never the key itself"
    )
    listed = [m.alias for m in stub.ListModels(models_pb2.ListModelsRequest()).models]
    assert "keyed" not in listed


# -- bad input --------------------------------------------------------------------------------
BAD_SCALE = [
    (
        {"k": 2},
        grpc.StatusCode.INVALID_ARGUMENT,
        "k must be 1, 3 or 5 (or give models explicitly); got 2",
    ),
    ({"k": 0}, grpc.StatusCode.INVALID_ARGUMENT, "k must be 1, 3 or 5"),
    ({"k": 3, "question": "  "}, grpc.StatusCode.INVALID_ARGUMENT, "question is empty"),
    (
        {"k": 3, "patterns": ["YES"]},
        grpc.StatusCode.INVALID_ARGUMENT,
        "at least two allowed answers",
    ),
    ({"k": 3, "patterns": []}, grpc.StatusCode.INVALID_ARGUMENT, "at least two allowed answers"),
    (
        {"k": 3, "patterns": ["YES", ""]},
        grpc.StatusCode.INVALID_ARGUMENT,
        "answer_patterns[1] is empty",
    ),
    ({"k": 3, "patterns": ["YES", "yes"]}, grpc.StatusCode.INVALID_ARGUMENT, "'yes' twice"),
    ({"models": ["f1", "nope"]}, grpc.StatusCode.NOT_FOUND, "unknown model 'nope'"),
    ({"models": ["f1", "f1"]}, grpc.StatusCode.INVALID_ARGUMENT, "lists 'f1' twice"),
    (
        {"models": ["f1", "f2", "f3", "f4", "f5", "f6"]},
        grpc.StatusCode.INVALID_ARGUMENT,
        "models lists 6 models; at most 5",
    ),
    ({"panel": "nope"}, grpc.StatusCode.NOT_FOUND, "unknown panel 'nope'"),
]


@pytest.mark.parametrize(("kwargs", "code", "message"), BAD_SCALE)
def test_bad_scale_input(stub, fake, kwargs, code, message):
    with pytest.raises(grpc.RpcError) as err:
        scale(stub, **kwargs)
    assert err.value.code() == code
    assert message in err.value.details()
    assert not fake.requests  # nothing was asked


def test_bad_completion_and_health_input(stub):
    cases = [
        (
            ensemble_pb2.CompleteRequest(model="f1"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "messages is empty",
        ),
        (
            ensemble_pb2.CompleteRequest(
                model="f1", messages=[calls_pb2.ChatMessage(role="robot", content="x")]
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "messages[0].role must be one of system, user, assistant; got 'robot'",
        ),
        (
            ensemble_pb2.CompleteRequest(
                model="zz", messages=[calls_pb2.ChatMessage(role="user", content="x")]
            ),
            grpc.StatusCode.NOT_FOUND,
            "unknown model 'zz'",
        ),
    ]
    for request, code, message in cases:
        with pytest.raises(grpc.RpcError) as err:
            list(stub.Complete(request, timeout=5))
        assert (err.value.code(), message in err.value.details()) == (code, True)
    with pytest.raises(grpc.RpcError) as err:
        stub.Health(models_pb2.ModelHealthRequest(models=["zz"]), timeout=5)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_the_caller_s_deadline_bounds_the_vote(stub, fake):
    fake.script("test/f5", Step(hang=True))
    result = stub.Scale(
        ensemble_pb2.ScaleRequest(question="q", models=["f5"], answer_patterns=YN, no_shadow=True),
        timeout=1.5,
    )
    assert result.outcome == voting_pb2.SCALE_OUTCOME_NO_ANSWER
    assert "no answer within" in result.votes[0].error
    wait_for(lambda: closed_early(fake, "test/f5"), timeout=5, what="f5's request to close")


def test_concurrent_votes_do_not_mix(stub, fake):
    fake.script("test/f1", Step(text="x", delay_s=0.1))
    fake.script("test/f2", Step(text="x", delay_s=0.1))
    answers: dict[int, str] = {}

    def one(i: int) -> None:
        word = "YES" if i % 2 else "NO"
        result = scale(stub, models=["f1", "f2"], question=f"q{i} [[answer=Answer: {word}]]")
        answers[i] = result.answer

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert answers == {i: "YES" if i % 2 else "NO" for i in range(10)}


def test_a_completion_the_client_abandons_is_closed_at_the_provider(stub, fake):
    words = " ".join(f"w{i}" for i in range(40))
    fake.script("test/m6", Step(text=words, chunk_delay_s=0.1))
    stream = stub.Complete(
        ensemble_pb2.CompleteRequest(
            model="m6", messages=[calls_pb2.ChatMessage(role="user", content="hi")]
        ),
        timeout=30,
    )
    first = next(stream)
    assert first.delta.startswith("w0")
    stream.cancel()
    wait_for(lambda: closed_early(fake, "test/m6"), timeout=10, what="the stream to be closed")


def test_generate_by_k_uses_the_default_panel_and_k_judges_outside_it(stub, fake):
    for name, text in [("f1", "alpha"), ("f2", "beta"), ("f3", "gamma")]:
        fake.script(f"test/{name}", Step(text=text))
    for judge in MEDIUM:
        fake.script(f"test/{judge}", Step(pick="gamma"))
    result = stub.Generate(ensemble_pb2.GenerateRequest(question="Write.", k=3), timeout=20)
    assert [o.model for o in result.all_outputs] == ["f1", "f2", "f3"]
    assert result.winner_model == "f3" and list(result.judge_votes) == [0, 0, 3]
    judges = [j.judge for j in result.judges]
    # The "judges" panel first (a dead one is replaced by another live model of its tier).
    assert len(set(judges)) == 3 and not set(judges) & {"f1", "f2", "f3"}
    assert {"m1", "m2"} <= set(judges)
    with pytest.raises(grpc.RpcError) as err:
        stub.Generate(ensemble_pb2.GenerateRequest(question="Write.", k=2), timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "k must be 1, 3 or 5" in err.value.details()


def test_carried_votes_count_and_short_circuit_without_being_asked_again(stub, fake):
    carried = [
        voting_pb2.Vote(model=model, parsed_answer="YES", raw_output="Answer: YES")
        for model in ("f8", "f9")
    ]
    # One YES from the panel makes three of five: f2 and f3 could no longer change it, so the
    # vote ends there. Without the carried votes it would be one YES with two to come, and the
    # vote would wait on f2 and f3 (which never answer).
    # f1's delay is long enough for f2's and f3's requests to reach the server under any load,
    # so that what the test sees is their abort, not requests never sent.
    fake.script("test/f1", Step(text="Answer: YES", delay_s=0.5))
    fake.script("test/f2", Step(hang=True))
    fake.script("test/f3", Step(hang=True))
    result = scale(stub, ["f1", "f2", "f3"], carried_votes=carried)
    assert (result.answer, result.outcome) == ("YES", voting_pb2.SCALE_OUTCOME_MAJORITY)
    assert [v.model for v in result.votes][:2] == ["f8", "f9"]
    # Cancelled because the answer was certain, not failed after waiting.
    assert {(v.model, v.cancelled, v.error) for v in result.votes[3:]} == {
        ("f2", True, ""),
        ("f3", True, ""),
    }
    assert result.k == 5 and result.confidence == pytest.approx(1.0)
    assert result.calls_made == 3  # f1, and the cancelled f2 and f3: carried votes cost nothing
    assert fake.requests_for("test/f8") == fake.requests_for("test/f9") == []
    # The server sees the aborts a moment after the vote is decided (later still under load).
    for model in ("test/f2", "test/f3"):
        wait_for(
            lambda m=model: closed_early(fake, m), timeout=5, what=f"{model}'s request to close"
        )


def test_the_shadow_is_never_a_model_whose_vote_is_carried(fake, tmp_path):
    # A k=auto cascade carries its earlier steps' votes into the next step: those models have
    # voted in the call, so none may be its shadow challenger (learning refuses such a record,
    # and the call's record was lost). The shadow is the least-chosen outsider: on an ensemble
    # of its own (no earlier test's picks counted, every model alive), twice as many calls as
    # there are outsiders come round to every one of them. ScaleStream names each call's shadow
    # whether it answered before the vote ended or after, so no timing is assumed.
    carried = [
        voting_pb2.Vote(model=model, parsed_answer=answer, raw_output=f"Answer: {answer}")
        for model, answer in (("f4", "YES"), ("f5", "NO"), ("f6", "YES"), ("f7", "NO"))
    ]
    for name in ("f1", "f2", "f3"):
        fake.script(f"test/{name}", Step(text="Answer: YES"))
    own = start_ensemble(tmp_path / "own", fake).wait_serving().wait_ready()
    try:
        stub = ensemble_pb2_grpc.EnsembleStub(own.channel())
        outsiders = {*FAST, *MEDIUM, *THINKING} - {"f1", "f2", "f3"}
        shadows = set()
        for _ in range(2 * len(outsiders)):
            events = list(scale_stream(stub, ["f1", "f2", "f3"], carried_votes=carried))
            result = events[0].result
            shadows.add(result.shadow.model or result.pending_shadow)
        assert shadows == outsiders - {"f4", "f5", "f6", "f7"}
    finally:
        assert own.stop() == 0


def test_carried_votes_are_checked(stub):
    def refused(carried, models=("f1", "f2")) -> str:
        with pytest.raises(grpc.RpcError) as err:
            scale(stub, list(models), carried_votes=carried)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        return err.value.details()

    yes = voting_pb2.Vote(model="f9", parsed_answer="YES")
    assert "'f1' has voted already" in refused([voting_pb2.Vote(model="f1", parsed_answer="NO")])
    assert "'MAYBE' is not one of answer_patterns" in refused(
        [voting_pb2.Vote(model="f9", parsed_answer="MAYBE")]
    )
    assert "at most 4 may join" in refused(
        [voting_pb2.Vote(model=f"m{i}", parsed_answer="YES") for i in range(1, 6)]
    )
    two_yes = [yes, voting_pb2.Vote(model="f8", parsed_answer="YES")]
    assert "decide the question already" in refused(two_yes, models=("f1",))


def test_a_run_time_model_sends_its_key_only_where_the_operator_sends_keys(tmp_path, fake):
    from tests.ensemble.conftest import start_ensemble

    elsewhere = "http://127.0.0.1:9/v1"

    def entry(alias: str, **fields) -> ensemble_pb2.RegisterModelRequest:
        return ensemble_pb2.RegisterModelRequest(
            model=models_pb2.ModelInfo(
                alias=alias,
                litellm_model=f"nvidia_nim/test/{alias}",
                tier=models_pb2.MODEL_TIER_FAST,
                api_base=elsewhere,
                **fields,
            )
        )

    # No global API base: each entry's own is used, so a registration could name any host.
    plain = start_ensemble(tmp_path / "plain", fake, FREESCALING_ENSEMBLE_API_BASE="")
    allowing = start_ensemble(
        tmp_path / "allowing",
        fake,
        FREESCALING_ENSEMBLE_API_BASE="",
        FREESCALING_ENSEMBLE_ALLOWED_API_BASES=elsewhere + "/",
    )
    try:
        stub = ensemble_pb2_grpc.EnsembleStub(plain.channel())
        with pytest.raises(grpc.RpcError) as err:
            stub.RegisterModel(entry("exfil", api_key_env="NVIDIA_API_KEY"), timeout=10)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "may send a key (NVIDIA_API_KEY) only there" in err.value.details()
        assert "FREESCALING_ENSEMBLE_ALLOWED_API_BASES" in err.value.details()
        # Without a key variable nothing secret travels: allowed anywhere.
        assert stub.RegisterModel(entry("keyless"), timeout=10).alias == "keyless"
        allowed = ensemble_pb2_grpc.EnsembleStub(allowing.channel())
        request = entry("vouched", api_key_env="NVIDIA_API_KEY")
        assert allowed.RegisterModel(request, timeout=10).alias == "vouched"
    finally:
        assert plain.stop() == 0
        assert allowing.stop() == 0
    assert FAKE_KEY not in plain.log_text() + allowing.log_text()
