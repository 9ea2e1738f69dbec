"""The k=auto cascade's choice of models through learning's Experts RPC, on both databases:
the expert by profile, task type and consensus evidence; escalations that add accurate models
erring apart from those already asked."""

from __future__ import annotations

import grpc
import pytest

from freescaling.common.v1 import routing_pb2
from freescaling.learning.v1 import learning_pb2 as L
from tests.learning.helpers import TIMEOUT, expect_error, scale_record, unique


def graded(model_errors: set[int], task_of) -> list[L.GradedItem]:
    return [
        L.GradedItem(
            item_id=f"x{i}", cluster_id=0, task_type=task_of(i), correct=i not in model_errors,
            answer="B" if i in model_errors else "A",
        )
        for i in range(20)
    ]  # fmt: skip


def experts(stub, **fields) -> L.ExpertsResponse:
    request = L.ExpertsRequest(**fields)
    return stub.Experts(request, timeout=TIMEOUT)


def test_the_expert_is_the_best_on_the_prompts_task_type_and_escalations_err_apart(stub):
    set_id = unique("xset")
    stub.RecordClusterSet(routing_pb2.ClusterSet(id=set_id, k=1), timeout=TIMEOUT)

    def task_of(i: int) -> str:
        return "Code Generation" if i < 10 else "Open QA"

    coder, twin, talker, other = (unique(n) for n in ("coder", "twin", "talker", "other"))
    # coder: right on code, wrong on 4 QA items; twin errs exactly as coder does; talker is
    # right on QA and wrong on 4 code items; other errs on a mix.
    plans = {
        coder: {10, 11, 12, 13},
        twin: {10, 11, 12, 13},
        talker: {0, 1, 2, 3},
        other: {4, 5, 14, 15, 16},
    }
    for model, errs in plans.items():
        stub.RecordValidation(
            L.RecordValidationRequest(
                model=model, cluster_set_id=set_id, items=graded(errs, task_of)
            ),
            timeout=TIMEOUT,
        )
    everyone = list(plans)
    code = experts(
        stub, candidates=everyone, task_type="Code Generation", cluster_set_id=set_id, cluster_id=0
    )
    (first,) = code.chosen
    # coder and twin tie on every piece of evidence; the alias breaks it.
    assert first.model == min(coder, twin)
    assert (first.task_accuracy, first.task_n, first.profile_n) == (1.0, 10, 20)
    # 20 items: SPEC 6 psi (4 + 1) / (20 + 2) on the one cluster; 10 code items all right.
    assert first.accuracy == pytest.approx((20 * (1 - 5 / 22) + 10 * 1.0 + 1.0) / 32)
    assert "task type 1.00 over 10" in first.evidence
    qa = experts(
        stub, candidates=everyone, task_type="Open QA", cluster_set_id=set_id, cluster_id=0
    )
    # Without the prompt's cluster, the profile says nothing (an empty cluster's 0.5, no weight).
    blind = experts(stub, candidates=everyone, task_type="Open QA", cluster_set_id=set_id)
    assert (blind.chosen[0].model, blind.chosen[0].profile_n) == (talker, 0)
    assert qa.chosen[0].model == talker

    # Escalating from coder: twin is as accurate but errs with it (phi 1); talker errs apart.
    more = experts(
        stub,
        candidates=everyone,
        asked=[coder],
        count=2,
        task_type="Code Generation",
        cluster_set_id=set_id,
        cluster_id=0,
    )
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
    assert by_model[agreeable].accuracy == pytest.approx((4 * 1.0 + 1.0) / 6)
    assert by_model[contrarian].accuracy == pytest.approx(1.0 / 6)
    assert by_model[stranger].accuracy == 0.5
    assert by_model[stranger].evidence == "no evidence (prior 0.5)"
    assert reply.chosen[0].model == agreeable
    # Below min_calls the record is not evidence.
    few = {e.model: e for e in experts(stub, candidates=trio, min_calls=5).ranked}
    assert few[agreeable].accuracy == 0.5
    expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, "candidates is empty", stub.Experts, L.ExpertsRequest()
    )
