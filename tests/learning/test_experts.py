"""The k=auto cascade's choice of models through learning's Experts RPC, on both databases:
the expert by profile, task type and consensus evidence; escalations that add accurate models
erring apart from those already asked."""

from __future__ import annotations

import grpc
import pytest

from freescaling.common.v1 import routing_pb2
from freescaling.learning.v1 import learning_pb2 as L
from tests.learning.helpers import TIMEOUT, expect_error, scale_record, unique


def graded(model_errors: set[int], task_of, items: int = 60) -> list[L.GradedItem]:
    return [
        L.GradedItem(
            item_id=f"x{i}", cluster_id=0, task_type=task_of(i), correct=i not in model_errors,
            answer="B" if i in model_errors else "A",
        )
        for i in range(items)
    ]  # fmt: skip


def experts(stub, **fields) -> L.ExpertsResponse:
    request = L.ExpertsRequest(**fields)
    return stub.Experts(request, timeout=TIMEOUT)


def test_the_expert_is_the_best_on_the_prompts_task_type_and_escalations_err_apart(stub):
    set_id = unique("xset")
    stub.RecordClusterSet(routing_pb2.ClusterSet(id=set_id, k=1), timeout=TIMEOUT)

    def task_of(i: int) -> str:
        return "Code Generation" if i < 30 else "Open QA"

    coder, twin, talker, other = (unique(n) for n in ("coder", "twin", "talker", "other"))
    # coder: right on code, wrong on 12 QA items; twin errs exactly as coder does; talker is
    # right on QA and wrong on 12 code items; other errs on a mix.
    plans = {
        coder: set(range(30, 42)),
        twin: set(range(30, 42)),
        talker: set(range(12)),
        other: {*range(12, 18), *range(42, 48)},
    }
    for model, errs in plans.items():
        stub.RecordValidation(
            L.RecordValidationRequest(
                model=model, cluster_set_id=set_id, items=graded(errs, task_of)
            ),
            timeout=TIMEOUT,
        )
    everyone = list(plans)

    def ask(task_type: str, **fields) -> L.ExpertsResponse:
        return experts(
            stub, candidates=everyone, task_type=task_type, cluster_set_id=set_id, **fields
        )

    code = ask("Code Generation", cluster_id=0)
    (first,) = code.chosen
    # One cluster, so the task type is what predicts: cross-validation chose its estimator,
    # and coder and twin (all 30 code items right) tie; the alias breaks it.
    assert first.model == min(coder, twin)
    assert (first.task_accuracy, first.task_n, first.profile_n) == (1.0, 30, 30)
    by_model = {e.model: e for e in code.ranked}
    assert by_model[coder].accuracy > by_model[other].accuracy > by_model[talker].accuracy
    assert first.evidence.startswith("profile 0.9") and "(task type 1.00 over 30)" in first.evidence
    assert ask("Open QA", cluster_id=0).chosen[0].model == talker
    # Without the prompt's cluster the task type still speaks.
    assert ask("Open QA").chosen[0].model == talker

    # Escalating from coder on a QA prompt: twin errs with it (phi 1) where it errs; talker and
    # other err apart, and are the ones added.
    more = ask("Open QA", cluster_id=0, asked=[coder], count=2)
    chosen = [e.model for e in more.chosen]
    assert coder not in chosen and twin not in chosen
    assert set(chosen) == {talker, other}
    by_model = {e.model: e for e in more.ranked}
    assert by_model[twin].correlation == pytest.approx(1.0)
    assert by_model[talker].correlation < 0
    assert "mean error correlation" in by_model[twin].evidence


def test_consensus_counts_from_min_calls_and_no_evidence_is_a_coin(stub):
    agreeable, contrarian, stranger = unique("agree"), unique("contra"), unique("stranger")
    for _ in range(4):
        stub.RecordCall(
            L.RecordCallRequest(
                record=scale_record(
                    {agreeable: "YES", unique("peer"): "YES", contrarian: "NO"}, "YES"
                ),
                register_models=True,
            ),
            timeout=TIMEOUT,
        )
    trio = [agreeable, contrarian, stranger]
    reply = experts(stub, candidates=trio, min_calls=4)
    by_model = {e.model: e for e in reply.ranked}
    assert (by_model[agreeable].agreement, by_model[agreeable].agreement_n) == (1.0, 4)
    assert by_model[agreeable].accuracy == pytest.approx((4 + 1) / (4 + 2))
    assert by_model[contrarian].accuracy == pytest.approx(1 / 6)
    assert by_model[stranger].accuracy == 0.5
    assert by_model[stranger].evidence == "no evidence (0.5)"
    assert reply.chosen[0].model == agreeable
    # Below min_calls the record is not evidence.
    few = {e.model: e for e in experts(stub, candidates=trio, min_calls=5).ranked}
    assert few[agreeable].accuracy == 0.5
    expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, "candidates is empty", stub.Experts, L.ExpertsRequest()
    )
