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
    # Never ranked as if it were free or average: left out, and named.
    reply = stub.Route(request, timeout=TIMEOUT)
    assert (list(reply.candidates), list(reply.unprofiled)) == ([], [unprofiled])
    # Too few items to compare estimators: SPEC 6's rule.
    assert reply.estimator.method == "laplace"

    corr = stub.ErrorCorrelation(
        L.ErrorCorrelationRequest(model_a=strong, model_b=cheap, cluster_set_id=cluster_set),
        timeout=TIMEOUT,
    )
    # strong never errs: no variance, the correlation undefined (unset, read as 0).
    assert (corr.shared_items, corr.both_wrong, corr.correlation) == (8, 0, 0.0)
    assert not corr.HasField("correlation")


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
        "cluster set 'nope' is not recorded: profile models on it first (`freescaling profile "
        "--models ALIAS ...`), or name no cluster set for the newest",
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
        "model 'ghost' has no profile: profile it first (`freescaling profile --models ghost`)",
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


def test_route_compares_a_prompt_with_its_nearest_validation_items(stub):
    """Two topics the clusters do not separate, nor any direction in embedding space (topic 0
    at +-e1, topic 1 at +-e2): the cross-validated estimator is the nearest items', which routes
    each topic to the model that is right on it; a prompt without an embedding gets the best
    estimator that needs none."""
    import numpy as np

    set_id = unique("knnset")
    stub.RecordClusterSet(routing_pb2.ClusterSet(id=set_id, k=2, dim=4), timeout=TIMEOUT)
    rng = np.random.default_rng(3)
    topic = rng.integers(0, 2, 200)
    centres = np.eye(4)[topic] * rng.choice([-1.0, 1.0], 200)[:, None]
    vectors = centres + rng.normal(0, 0.2, (200, 4))
    first, second = unique("first"), unique("second")
    embeddings = [
        L.ItemEmbedding(item_id=f"k{i}", embedding=list(map(float, v)))
        for i, v in enumerate(vectors)
    ]
    for model, good in ((first, 0), (second, 1)):
        items = [
            L.GradedItem(
                item_id=f"k{i}",
                cluster_id=i % 2,
                task_type="QA",
                correct=bool(topic[i] == good),
                answer="A" if topic[i] == good else "B",
            )
            for i in range(200)
        ]
        stub.RecordValidation(
            L.RecordValidationRequest(
                model=model, cluster_set_id=set_id, items=items, embeddings=embeddings
            ),
            timeout=TIMEOUT,
        )

    def route(embedding):
        request = L.RouteRequest(cluster_id=0, cluster_set_id=set_id, embedding=embedding)
        return stub.Route(request, timeout=TIMEOUT)

    near_first = route([0.95, 0.05, 0.0, 0.0])
    # The prompt's nearest items, or its cluster among those k-means fits on the items.
    assert near_first.estimator.method in ("knn", "kmeans")
    assert near_first.estimator.cv_log_loss > 0 and near_first.estimator.items == 200
    assert [c.model for c in near_first.candidates] == [first, second]
    if near_first.estimator.method == "knn":
        assert near_first.candidates[0].n == near_first.estimator.neighbours
    else:
        assert near_first.estimator.clusters >= 4 and near_first.estimator.neighbours == 0
    assert [c.model for c in route([0.05, -0.95, 0.0, 0.0]).candidates] == [second, first]
    blind = route([])
    assert blind.estimator.method != "knn"
    expect_error(
        INVALID,
        "embedding holds a value",
        stub.Route,
        L.RouteRequest(cluster_id=0, cluster_set_id=set_id, embedding=[float("nan")] * 4),
    )
    expect_error(
        INVALID,
        "embeddings have 3 dimensions; cluster set",
        stub.RecordValidation,
        L.RecordValidationRequest(
            model=first,
            cluster_set_id=set_id,
            embeddings=[L.ItemEmbedding(item_id="x", embedding=[1.0, 2.0, 3.0])],
        ),
    )

    atlas = stub.GetCapabilityMap(
        routing_pb2.GetCapabilityMapRequest(cluster_set_id=set_id), timeout=TIMEOUT
    )
    assert [m.model for m in atlas.models] == sorted([first, second])
    by_model = {m.model: m for m in atlas.models}
    share = float(np.mean(topic == 0))
    assert by_model[first].accuracy == pytest.approx(share)
    assert (by_model[first].items, by_model[first].trials) == (200, 1)
    # One trial each: nothing to be consistent with.
    assert (by_model[first].consistency, by_model[first].consistency_items) == (0.0, 0)
    (pair,) = atlas.correlations
    # They err on complementary items: perfectly anti-correlated.
    assert (pair.shared_items, pair.both_wrong) == (200, 0)
    assert pair.correlation == pytest.approx(-1.0)
    assert atlas.estimator.method in ("knn", "kmeans")
    assert atlas.compared[0].description == atlas.estimator.description


def test_capability_map_measures_consistency_across_trials(stub, cluster_set):
    steady, fickle = unique("steady"), unique("fickle")
    for model, answers in ((steady, ["A", "A", "A"]), (fickle, ["A", "B", "A"])):
        items = [
            L.GradedItem(
                item_id=f"t{i}", cluster_id=0, task_type="QA", trial=t, answer=a, correct=a == "A"
            )
            for i in range(4)
            for t, a in enumerate(answers if i < 2 else answers[:1])
        ]
        validate(stub, model, cluster_set, items)
    atlas = stub.GetCapabilityMap(
        routing_pb2.GetCapabilityMapRequest(cluster_set_id=cluster_set), timeout=TIMEOUT
    )
    by_model = {m.model: m for m in atlas.models}
    assert (by_model[steady].consistency, by_model[steady].consistency_items) == (1.0, 2)
    assert (by_model[fickle].consistency, by_model[fickle].consistency_items) == (0.0, 2)
    assert (by_model[fickle].trials, by_model[fickle].items) == (3, 4)
    # 2 items x (A, B, A) and 2 items x (A): 6 right of 8.
    assert by_model[fickle].accuracy == pytest.approx(6 / 8)


def test_suggested_panel_prefers_models_that_err_apart(stub):
    """Four models on 12 items: twin1 and twin2 are the most accurate alone but err on the same
    items, so a panel holding both errs wherever they do; loner and steady err elsewhere."""
    set_id = unique("panelset")
    stub.RecordClusterSet(routing_pb2.ClusterSet(id=set_id, k=1), timeout=TIMEOUT)
    wrong_on = {
        "twin1": {0, 1, 2},
        "twin2": {0, 1, 2},
        "loner": {6, 7, 8, 9},
        "steady": {3, 4, 10, 11},
    }
    names = {m: unique(m) for m in wrong_on}
    for m, errs in wrong_on.items():
        items = [
            L.GradedItem(
                item_id=f"p{i}", cluster_id=0, task_type="QA", correct=i not in errs,
                answer="B" if i in errs else "A",
            )
            for i in range(12)
        ]  # fmt: skip
        validate(stub, names[m], set_id, items)
    # A model profiled on other items shares none with them: panels holding it are not
    # judged (they would be judged on nothing), the others still are.
    elsewhere = unique("elsewhere")
    validate(
        stub,
        elsewhere,
        set_id,
        [
            L.GradedItem(item_id=f"z{i}", cluster_id=0, task_type="QA", correct=True, answer="A")
            for i in range(12)
        ],
    )
    panel = stub.SuggestPanel(
        routing_pb2.SuggestPanelRequest(size=3, cluster_set_id=set_id), timeout=TIMEOUT
    )
    # twin1 + loner + steady: every item has two right votes; any panel with both twins errs
    # on items 0-2.
    assert sorted(panel.models) == sorted([names["twin1"], names["loner"], names["steady"]])
    assert panel.panel_accuracy == 1.0
    assert (panel.best_single_model, panel.best_single_accuracy) == (names["twin1"], 0.75)
    assert panel.items == 12 and panel.mean_error_correlation < 0
    assert "every panel of 3 of the 5 candidates" in panel.reason
    expect_error(
        INVALID,
        "size must be 3 or 5",
        stub.SuggestPanel,
        routing_pb2.SuggestPanelRequest(size=2, cluster_set_id=set_id),
    )
    expect_error(
        grpc.StatusCode.FAILED_PRECONDITION,
        "no panel of 5 of the candidates shares 10 validation items",
        stub.SuggestPanel,
        routing_pb2.SuggestPanelRequest(size=5, cluster_set_id=set_id),
    )
    expect_error(
        grpc.StatusCode.FAILED_PRECONDITION,
        "a panel of 5 needs 5 profiled candidates; there are 4",
        stub.SuggestPanel,
        routing_pb2.SuggestPanelRequest(
            size=5, cluster_set_id=set_id, candidates=[names[m] for m in wrong_on]
        ),
    )
