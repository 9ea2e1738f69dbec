"""WeighVoters on both databases: each candidate's expected accuracy where the prompt falls,
their error correlations, how often wrong answers coincide, and calibration maps fitted on the
profiling data, refitted when a profile changes."""

from __future__ import annotations

import grpc
import pytest

from freescaling.common.v1 import routing_pb2
from freescaling.learning.v1 import learning_pb2 as L
from tests.learning.helpers import TIMEOUT, expect_error, unique

ITEMS = 400


def graded(errors: set[int], wrong: str, task_of) -> list[L.GradedItem]:
    return [
        L.GradedItem(
            item_id=f"w{i}", cluster_id=0, task_type=task_of(i), correct=i not in errors,
            answer=wrong if i in errors else "A",
        )
        for i in range(ITEMS)
    ]  # fmt: skip


def test_the_voters_standing_on_a_prompt_and_the_calibration_of_their_votes(stub):
    set_id = unique("wset")
    stub.RecordClusterSet(routing_pb2.ClusterSet(id=set_id, k=1), timeout=TIMEOUT)

    def task_of(i: int) -> str:
        return "Code Generation" if i % 2 else "Open QA"

    coder, twin, talker = (unique(n) for n in ("coder", "twin", "talker"))
    # coder and twin err together on a fifth of the QA items, with the same wrong answer;
    # talker errs on a fifth of the code items.
    plans = {
        coder: ({i for i in range(0, ITEMS, 2) if i % 10 == 0}, "B"),
        twin: ({i for i in range(0, ITEMS, 2) if i % 10 == 0}, "B"),
        talker: ({i for i in range(1, ITEMS, 2) if i % 10 == 1}, "C"),
    }
    for model, (errs, wrong) in plans.items():
        stub.RecordValidation(
            L.RecordValidationRequest(
                model=model,
                cluster_set_id=set_id,
                items=graded(errs, wrong, task_of),
                routing_cost=2.0 if model == talker else 1.0,
            ),
            timeout=TIMEOUT,
        )
    asked = L.WeighVotersRequest(
        candidates=[coder, talker], task_type="Open QA", cluster_set_id=set_id, cluster_id=0
    )
    weighing = stub.WeighVoters(asked, timeout=TIMEOUT)
    voters = {v.model: v for v in weighing.voters}
    assert set(voters) == {coder, talker}  # only the candidates asked about
    assert voters[talker].accuracy > 0.95 > voters[coder].accuracy > 0.7
    assert voters[talker].cost == 2.0 and voters[talker].evidence_n > 0
    assert voters[coder].evidence.startswith("profile: expected accuracy")
    (pair,) = weighing.correlations
    assert {pair.model_a, pair.model_b} == {coder, talker} and pair.correlation < 0
    # Wrong answers: coder's and twin's always coincide (B), talker's never meet theirs.
    assert 0 < weighing.wrong_coincidence <= 1
    assert [c.votes for c in weighing.calibrations] == [1, 2, 3, 4, 5]
    one = weighing.calibrations[0]
    assert one.samples > 200 and one.raw and list(one.raw) == sorted(one.raw)
    assert all(0 < p < 1 for p in one.calibrated) and "isotonic" in one.method
    # Three models cannot make a vote of four or five: no map there.
    assert not weighing.calibrations[3].raw and "too few" in weighing.calibrations[3].method

    everyone = stub.WeighVoters(L.WeighVotersRequest(cluster_set_id=set_id), timeout=TIMEOUT)
    assert {v.model for v in everyone.voters} == set(plans)
    twins = [c for c in everyone.correlations if {c.model_a, c.model_b} == {coder, twin}]
    assert twins[0].correlation == pytest.approx(1.0)
    first_fit = everyone.calibrations[0].id

    # A changed profile is a new fit.
    stub.RecordValidation(
        L.RecordValidationRequest(
            model=twin, cluster_set_id=set_id, items=graded(set(), "B", task_of), replace=True
        ),
        timeout=TIMEOUT,
    )
    again = stub.WeighVoters(L.WeighVotersRequest(cluster_set_id=set_id), timeout=TIMEOUT)
    assert again.calibrations[0].id != first_fit


def test_bad_prompts_are_refused_and_an_unprofiled_set_lists_no_voter(stub):
    set_id = unique("wempty")
    stub.RecordClusterSet(routing_pb2.ClusterSet(id=set_id, k=2), timeout=TIMEOUT)
    empty = stub.WeighVoters(L.WeighVotersRequest(cluster_set_id=set_id), timeout=TIMEOUT)
    assert not empty.voters and not empty.calibrations
    expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        "not a finite number",
        stub.WeighVoters,
        L.WeighVotersRequest(cluster_set_id=set_id, embedding=[float("nan")]),
    )
