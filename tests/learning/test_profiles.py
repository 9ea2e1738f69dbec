"""Cluster sets, validation profiles, routing, per-task accuracy and error correlation through
gRPC on both databases."""

from __future__ import annotations

import grpc
import pytest

from freescaling.common.v1 import routing_pb2
from freescaling.learning.v1 import learning_pb2
from tests.learning.helpers import TIMEOUT, expect_error, ratings_by_model, unique

L = learning_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT


def graded(*items: tuple[str, int, str, bool]) -> list[L.GradedItem]:
    return [L.GradedItem(item_id=i, cluster_id=c, task_type=t, correct=ok) for i, c, t, ok in items]


@pytest.fixture
def cluster_set(stub):
    cs = routing_pb2.ClusterSet(id=unique("set"), k=3, dim=768, sizes=[10, 20, 30], seed=7)
    stored = stub.RecordClusterSet(cs, timeout=TIMEOUT)
    assert (stored.id, stored.k, list(stored.sizes)) == (cs.id, 3, [10, 20, 30])
    return cs.id


def validate(stub, model, set_id, items, cost=1.0, replace=False):
    return stub.RecordValidation(
        L.RecordValidationRequest(
            model=model, cluster_set_id=set_id, items=items, routing_cost=cost, replace=replace
        ),
        timeout=TIMEOUT,
    )


def test_profile_is_laplace_smoothed_and_routable_at_once(stub, cluster_set):
    model = unique("new")
    items = graded(
        ("q1", 0, "Open QA", True),
        ("q2", 0, "Open QA", False),
        ("q3", 0, "Code Generation", True),
        ("q4", 1, "Code Generation", False),
    )
    profile = validate(stub, model, cluster_set, items, cost=3.0)
    clusters = [(c.cluster_id, c.n, c.errors) for c in profile.clusters]
    assert clusters == [(0, 3, 1), (1, 1, 1), (2, 0, 0)]
    assert [c.psi for c in profile.clusters] == [pytest.approx(2 / 5), pytest.approx(2 / 3), 0.5]
    assert (profile.n, profile.accuracy) == (4, 0.5)
    tasks = {t.task_type: (t.n, t.correct, t.accuracy) for t in profile.task_types}
    assert tasks == {"Open QA": (2, 1, 0.5), "Code Generation": (2, 1, 0.5)}
    assert ratings_by_model(stub)[model].rating == 1500.0
    ranked = stub.Route(
        L.RouteRequest(cluster_id=0, cluster_set_id=cluster_set, candidates=[model]),
        timeout=TIMEOUT,
    )
    assert [(c.model, c.rank, c.cost) for c in ranked.candidates] == [(model, 1, 3.0)]
    everyone = stub.Route(L.RouteRequest(cluster_id=0, cluster_set_id=cluster_set), timeout=TIMEOUT)
    assert model in [c.model for c in everyone.candidates]
    assert stub.GetProfile(L.GetProfileRequest(model=model), timeout=TIMEOUT) == profile


def test_route_trades_error_rate_against_cost(stub, cluster_set):
    strong, cheap = unique("strong"), unique("cheap")
    # strong: 0 errors of 8 -> psi 0.1; cheap: 3 of 8 -> psi 0.4.
    validate(stub, strong, cluster_set, graded(*[(f"s{i}", 2, "QA", True) for i in range(8)]), 6.0)
    validate(stub, cheap, cluster_set, graded(*[(f"s{i}", 2, "QA", i >= 3) for i in range(8)]), 1.0)
    both = [strong, cheap]

    def order(lam: float, **kwargs) -> list[tuple[str, float, float, float]]:
        request = L.RouteRequest(
            cluster_id=2, candidates=both, cluster_set_id=cluster_set, **kwargs
        )
        setattr(request, "lambda", lam)
        reply = stub.Route(request, timeout=TIMEOUT)
        return [(c.model, round(c.psi, 6), c.cost, round(c.score, 6)) for c in reply.candidates]

    assert order(0.0) == [(strong, 0.1, 6.0, 0.1), (cheap, 0.4, 1.0, 0.4)]
    assert order(0.1) == [(cheap, 0.4, 1.0, 0.5), (strong, 0.1, 6.0, 0.7)]
    assert order(0.1, costs={strong: 1.0}) == [(strong, 0.1, 1.0, 0.2), (cheap, 0.4, 1.0, 0.5)]
    unprofiled = unique("unknown")
    request = L.RouteRequest(cluster_id=2, candidates=[unprofiled], cluster_set_id=cluster_set)
    only = stub.Route(request, timeout=TIMEOUT).candidates
    assert [(c.model, c.psi, c.n) for c in only] == [(unprofiled, 0.5, 0)]

    corr = stub.ErrorCorrelation(
        L.ErrorCorrelationRequest(model_a=strong, model_b=cheap, cluster_set_id=cluster_set),
        timeout=TIMEOUT,
    )
    # strong never errs: no variance, correlation 0.
    assert (corr.shared_items, corr.both_wrong, corr.correlation) == (8, 0, 0.0)


def test_error_correlation_phi(stub, cluster_set):
    a, b = unique("a"), unique("b")
    # Errors: a on 1,2,3; b on 1,2,4 over items 1..6: n11=2, n10=1, n01=1, n00=2 -> phi 1/3.
    validate(
        stub, a, cluster_set, graded(*[(f"e{i}", 0, "QA", i not in (1, 2, 3)) for i in range(1, 7)])
    )
    validate(
        stub, b, cluster_set, graded(*[(f"e{i}", 0, "QA", i not in (1, 2, 4)) for i in range(1, 7)])
    )
    corr = stub.ErrorCorrelation(
        L.ErrorCorrelationRequest(model_a=a, model_b=b, cluster_set_id=cluster_set), timeout=TIMEOUT
    )
    assert (corr.shared_items, corr.both_wrong) == (6, 2)
    assert corr.correlation == pytest.approx(1 / 3)


def test_error_correlations_of_every_pair(stub, cluster_set):
    a, b, c = unique("a"), unique("b"), unique("c")
    # a and b as above (phi 1/3); c errs exactly where a does (phi 1), on items 1..6.
    for model, wrong in ((a, (1, 2, 3)), (b, (1, 2, 4)), (c, (1, 2, 3))):
        items = graded(*[(f"e{i}", 0, "QA", i not in wrong) for i in range(1, 7)])
        validate(stub, model, cluster_set, items)
    reply = stub.ErrorCorrelations(
        routing_pb2.ErrorCorrelationsRequest(models=[a, b, c], cluster_set_id=cluster_set),
        timeout=TIMEOUT,
    )
    assert reply.cluster_set_id == cluster_set
    pairs = {(p.model_a, p.model_b): p for p in reply.pairs}
    assert list(pairs) == [(a, b), (a, c), (b, c)]
    assert pairs[a, b].correlation == pytest.approx(1 / 3)
    assert (pairs[a, c].correlation, pairs[a, c].both_wrong) == (pytest.approx(1.0), 3)
    assert pairs[b, c].shared_items == 6
    everyone = stub.ErrorCorrelations(
        routing_pb2.ErrorCorrelationsRequest(cluster_set_id=cluster_set), timeout=TIMEOUT
    )
    assert {(p.model_a, p.model_b) for p in everyone.pairs} >= {tuple(sorted((a, c)))}
    expect_error(
        INVALID,
        "give at least two models",
        stub.ErrorCorrelations,
        routing_pb2.ErrorCorrelationsRequest(models=[a], cluster_set_id=cluster_set),
    )
    expect_error(
        INVALID,
        "more than once",
        stub.ErrorCorrelations,
        routing_pb2.ErrorCorrelationsRequest(models=[a, a], cluster_set_id=cluster_set),
    )
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        "no profile on cluster set",
        stub.ErrorCorrelations,
        routing_pb2.ErrorCorrelationsRequest(models=[a, "never-profiled"]),
    )


def test_more_results_add_up_and_replace_starts_over(stub, cluster_set):
    model = unique("m")
    validate(stub, model, cluster_set, graded(("r1", 1, "QA", False)))
    added = validate(stub, model, cluster_set, graded(("r2", 1, "QA", True), ("r1", 1, "QA", True)))
    assert (added.clusters[1].n, added.clusters[1].errors) == (2, 0)
    replaced = validate(stub, model, cluster_set, graded(("r9", 2, "QA", False)), replace=True)
    assert [(c.n, c.errors) for c in replaced.clusters] == [(0, 0), (0, 0), (1, 1)]
    listed = stub.ListProfiles(L.ListProfilesRequest(cluster_set_id=cluster_set), timeout=TIMEOUT)
    assert model in [p.model for p in listed.profiles]


def test_profile_errors(stub, cluster_set):
    one = graded(("i", 0, "", True))
    expect_error(
        grpc.StatusCode.FAILED_PRECONDITION,
        "cluster set 'nope' is not recorded; RecordClusterSet first",
        stub.RecordValidation,
        L.RecordValidationRequest(model="x", cluster_set_id="nope", items=one),
    )
    expect_error(
        INVALID,
        f"items[0].cluster_id is 3; cluster set '{cluster_set}' has clusters 0..2",
        stub.RecordValidation,
        L.RecordValidationRequest(
            model="x", cluster_set_id=cluster_set, items=graded(("i", 3, "", True))
        ),
    )
    expect_error(
        INVALID,
        "cluster_id is 7",
        stub.Route,
        L.RouteRequest(cluster_id=7, cluster_set_id=cluster_set, candidates=["x"]),
    )
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        "model 'ghost' has no profile",
        stub.GetProfile,
        L.GetProfileRequest(model="ghost"),
    )
    expect_error(
        INVALID,
        "is already recorded with k=3, not 4",
        stub.RecordClusterSet,
        routing_pb2.ClusterSet(id=cluster_set, k=4),
    )
    again = stub.RecordClusterSet(routing_pb2.ClusterSet(id=cluster_set, k=3), timeout=TIMEOUT)
    assert again.dim == 768
