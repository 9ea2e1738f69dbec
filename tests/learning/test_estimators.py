"""The profile estimators and their cross-validated choice (the core, without a database)."""

from __future__ import annotations

import numpy as np

from services.learning import estimators as E

MODELS = ("a", "b", "c")


def _pool(correct, clusters, tasks=None, embeddings=None) -> E.Pool:
    """`correct(i, m)` says whether model m got item i right."""
    rows = []
    for i, cluster in enumerate(clusters):
        task = tasks[i] if tasks is not None else "QA"
        rows += [(m, f"item{i:04d}", int(cluster), task, bool(correct(i, m))) for m in MODELS]
    vectors = None
    if embeddings is not None:
        vectors = {
            f"item{i:04d}": np.asarray(e, dtype=np.float32) for i, e in enumerate(embeddings)
        }
    return E.Pool.build(rows, vectors)


def test_few_items_keep_spec_6s_laplace_rule():
    pool = _pool(lambda i, m: m == "a", [0] * 10)
    assert E.select(pool).chosen == E.Spec(E.LAPLACE)


def test_groups_that_say_nothing_shrink_to_the_best_single_model():
    rng = np.random.default_rng(0)
    # a is right 70% of the time, b 60%, c 50%, independently of the (random) clusters.
    skill = {"a": 0.7, "b": 0.6, "c": 0.5}
    draws = rng.random((600, 3))
    clusters = rng.integers(0, 12, 600)
    pool = _pool(lambda i, m: draws[i, MODELS.index(m)] < skill[m], clusters)
    selection = E.select(pool)
    assert selection.chosen.method in (E.OVERALL, E.CLUSTER)
    assert selection.chosen.method == E.OVERALL or selection.chosen.shrinkage >= 30
    # Whatever was chosen routes every cluster to the best single model.
    everything = np.arange(len(pool.item_ids))
    psi, _ = E.predict(selection.chosen, pool, everything, np.arange(12), np.full(12, -1), None)
    assert {pool.models[j] for j in psi.argmin(axis=1)} == {"a"}


def test_embeddings_that_say_nothing_route_to_the_best_single_model():
    rng = np.random.default_rng(6)
    skill = {"a": 0.7, "b": 0.6, "c": 0.5}
    draws = rng.random((600, 3))
    pool = _pool(
        lambda i, m: draws[i, MODELS.index(m)] < skill[m],
        [0] * 600,
        embeddings=rng.normal(0, 1, (600, 8)),
    )
    selection = E.select(pool)
    everything = np.arange(len(pool.item_ids))
    queries = np.stack([pool.unit(q) for q in rng.normal(0, 1, (50, 8))])
    psi, _ = E.predict(
        selection.chosen, pool, everything, np.zeros(50, int), np.full(50, -1), queries
    )
    assert {pool.models[j] for j in psi.argmin(axis=1)} == {"a"}, selection.chosen.describe()


def _four_blobs(rng, count):
    """Topic 0 at +-e1, topic 1 at +-e2: apart in embedding space, but no direction (no linear
    rule on the centred embeddings) separates them, so only neighbourhoods can."""
    topic = rng.integers(0, 2, count)
    sign = rng.choice([-1.0, 1.0], count)
    centres = np.eye(4)[topic] * sign[:, None]
    return topic, centres + rng.normal(0, 0.2, (count, 4))


def test_nearest_items_find_what_clusters_miss():
    rng = np.random.default_rng(1)
    # a is right on topic 0, b on topic 1; the clusters (all 0) and task types know nothing of it.
    topic, embeddings = _four_blobs(rng, 400)
    right = {"a": 0, "b": 1}
    pool = _pool(lambda i, m: m in right and topic[i] == right[m], [0] * 400, embeddings=embeddings)
    selection = E.select(pool)
    # The prompt's neighbourhood: its nearest items, or its cluster among those k-means finds.
    assert selection.chosen.method in (E.KNN, E.KMEANS), selection.chosen.describe()
    assert not selection.without_embedding.needs_embedding
    everything = np.arange(len(pool.item_ids))
    queries = np.stack([pool.unit(c) for c in ([1.0, 0.05, 0, 0], [0.05, -1.0, 0, 0])])
    psi, n = E.predict(
        selection.chosen, pool, everything, np.zeros(2, int), np.full(2, -1), queries
    )
    assert [pool.models[j] for j in psi.argmin(axis=1)] == ["a", "b"]
    if selection.chosen.method == E.KNN:
        assert (n == selection.chosen.neighbours).all()
    knn = [s for s in selection.scores if s.spec.method == E.KNN]
    # Either way the nearest items alone route held-out items almost always right too.
    assert min(knn, key=lambda s: s.log_loss).accuracy >= 0.99


def test_the_number_of_clusters_is_chosen_by_validation():
    """Eight tight topics, each model right on four: k-means with K=8 (or more) separates them,
    fewer clusters mix topics the models differ on, so validation takes K >= 8."""
    rng = np.random.default_rng(3)
    topic = rng.integers(0, 8, 800)
    embeddings = np.eye(16)[topic] * 3 + rng.normal(0, 0.3, (800, 16))
    right = {"a": {0, 1, 2, 3}, "b": {4, 5, 6, 7}}
    pool = _pool(lambda i, m: topic[i] in right.get(m, ()), [0] * 800, embeddings=embeddings)
    selection = E.select(pool)
    kmeans = sorted(
        (s for s in selection.scores if s.spec.method == E.KMEANS), key=lambda s: s.log_loss
    )
    assert {s.spec.clusters for s in kmeans} == {4, 8, 16, 32}  # 64 x 20 > 640 fold items
    assert kmeans[0].spec.clusters >= 8, kmeans[0].spec.describe()
    best_of = {k: min(s.log_loss for s in kmeans if s.spec.clusters == k) for k in (4, 8)}
    assert best_of[8] < best_of[4]
    assert kmeans[0].spec.describe().startswith(f"kmeans (K={kmeans[0].spec.clusters}, ")
    everything = np.arange(len(pool.item_ids))
    queries = np.stack([pool.unit(np.eye(16)[t] * 3) for t in range(8)])
    psi, _ = E.predict(kmeans[0].spec, pool, everything, np.zeros(8, int), np.full(8, -1), queries)
    assert [pool.models[j] for j in psi.argmin(axis=1)] == ["a"] * 4 + ["b"] * 4


def test_a_trend_along_the_embedding_is_a_logistic_regression():
    """a gets better, b worse, the further along the first axis a prompt lies (no topics, no
    clusters): a regression on the embedding says so, and routes each end to its model."""
    rng = np.random.default_rng(4)
    embeddings = rng.normal(0, 1, (600, 4))
    rise = 1 / (1 + np.exp(-3 * embeddings[:, 0]))
    draws = rng.random((600, 3))
    skill = {"a": rise, "b": 1 - rise, "c": np.full(600, 0.3)}
    pool = _pool(
        lambda i, m: draws[i, MODELS.index(m)] < skill[m][i], [0] * 600, embeddings=embeddings
    )
    selection = E.select(pool)
    assert selection.chosen.method in (E.LOGISTIC, E.BLEND)
    everything = np.arange(len(pool.item_ids))
    queries = np.stack([pool.unit(c) for c in ([2.0, 0, 0, 0], [-2.0, 0, 0, 0])])
    psi, _ = E.predict(
        selection.chosen, pool, everything, np.zeros(2, int), np.full(2, -1), queries
    )
    assert [pool.models[j] for j in psi.argmin(axis=1)] == ["a", "b"]


def test_the_logistic_fit_reaches_the_maximum_likelihood():
    """Two groups of prompts at opposite ends of one axis, a wrong on 80% of one and 20% of the
    other: unpenalised, the regression's estimates are those rates (the likelihood's maximum)."""
    embeddings = [[1.0, 0.0]] * 50 + [[-1.0, 0.0]] * 50
    pool = _pool(lambda i, m: not (i % 10 < (8 if i < 50 else 2)), [0] * 100, embeddings=embeddings)
    fitted = E.Fitted(E.Spec(E.LOGISTIC, penalty=1e-9), pool, np.arange(100))
    psi, n = fitted.predict(
        np.zeros(2, int), np.full(2, -1), np.stack([pool.unit([1.0, 0]), pool.unit([-1.0, 0])])
    )
    assert np.allclose(psi, [[0.8] * 3, [0.2] * 3], atol=1e-3)
    assert (n == 100).all()
    # A large penalty leaves the overall rate (and the intercept starts there).
    flat = E.Fitted(E.Spec(E.LOGISTIC, penalty=1e9), pool, np.arange(100))
    psi, _ = flat.predict(np.zeros(1, int), np.full(1, -1), pool.unit([1.0, 0])[None, :])
    assert np.allclose(psi, (50 + 1) / (100 + 2), atol=1e-6)


def test_a_blend_is_scored_and_predicts_as_its_weighted_parts():
    rng = np.random.default_rng(5)
    topic, embeddings = _four_blobs(rng, 400)
    embeddings[:, 2] = rng.normal(0, 1, 400)
    rise = 1 / (1 + np.exp(-2 * embeddings[:, 2]))
    draws = rng.random((400, 3))
    pool = _pool(
        lambda i, m: draws[i, MODELS.index(m)] < (rise[i] if m == "a" else 0.4 + 0.3 * topic[i]),
        [0] * 400,
        embeddings=embeddings,
    )
    selection = E.select(pool)
    by_method = {}
    for s in selection.scores:
        by_method.setdefault(s.spec.method, []).append(s)
    best = {m: min(by_method[m], key=lambda s: s.log_loss).spec for m in (E.KNN, E.LOGISTIC)}
    blends = [s.spec for s in by_method[E.BLEND]]
    assert [b.weight for b in blends] == list(E.BLEND_WEIGHTS)
    assert all(b.parts == (best[E.KNN], best[E.LOGISTIC]) for b in blends)
    assert selection.chosen == min(selection.scores, key=lambda s: s.log_loss).spec
    everything = np.arange(len(pool.item_ids))
    queries = pool.embeddings[:20]
    args = (pool, everything, np.zeros(20, int), np.full(20, -1), queries)
    mixed, _ = E.predict(blends[0], *args)
    near, _ = E.predict(best[E.KNN], *args)
    linear, _ = E.predict(best[E.LOGISTIC], *args)
    w = blends[0].weight
    assert np.allclose(mixed, w * linear + (1 - w) * near)
    assert "logistic" in blends[0].describe() and "knn" in blends[0].describe()


def test_task_type_is_used_where_it_helps():
    rng = np.random.default_rng(2)
    tasks = rng.choice(["Code Generation", "Open QA"], 400)
    pool = _pool(
        lambda i, m: (m == "a") == (tasks[i] == "Code Generation") and m != "c",
        rng.integers(0, 4, 400),
        tasks=list(tasks),
    )
    selection = E.select(pool)
    assert selection.chosen.method == E.TASK
    code = pool.task_types.index("Code Generation")
    everything = np.arange(len(pool.item_ids))
    psi, _ = E.predict(
        selection.chosen, pool, everything, np.zeros(3, int), np.array([code, 1 - code, -1]), None
    )
    best = [pool.models[j] for j in psi.argmin(axis=1)]
    assert best[:2] == ["a", "b"]


def test_the_choice_is_near_best_routing_first_then_the_lowest_log_loss():
    """Lower log-loss is not enough: an estimator whose held-out routing was more than one
    standard error below the most accurate one's is not taken; among those within it, the
    lowest log-loss is; and one that routed less accurately than the overall rate (the best
    single model) gives way to the overall rate."""
    overall = E.Scored(E.Spec(E.OVERALL), log_loss=0.63, accuracy=0.62)
    sharp = E.Scored(E.Spec(E.KNN, neighbours=10, shrinkage=5), log_loss=0.58, accuracy=0.60)
    fair = E.Scored(E.Spec(E.TASK, shrinkage=30), log_loss=0.61, accuracy=0.64)
    smooth = E.Scored(E.Spec(E.KNN, neighbours=50, shrinkage=5), log_loss=0.59, accuracy=0.63)
    # 400 questions: one standard error of 0.64 is 0.024, so 0.60 is out and 0.62-0.63 are in.
    assert E.chosen([overall, fair, sharp], 400) == fair
    assert E.chosen([overall, fair, sharp, smooth], 400) == smooth
    # 100,000 questions: 0.0015, so only the most accurate is near.
    assert E.chosen([overall, fair, sharp, smooth], 100_000) == fair
    # 100 questions: 0.048, so sharp is near and has the lowest log-loss, but it routed less
    # accurately than the overall rate did.
    assert E.chosen([overall, fair, sharp], 100) == overall
    assert E.chosen([overall], 100) == overall


def test_few_noisy_items_route_as_the_best_single_model():
    """60 items, two models a point apart and item difficulty everywhere: whatever predicts the
    grades best, the selection routes every prompt to the better model unless held-out routing
    vouched for more."""
    rng = np.random.default_rng(7)
    embeddings = rng.normal(0, 1, (60, 6))
    hard = 1 / (1 + np.exp(-2 * embeddings[:, 0]))
    draws = rng.random((60, 3))
    skill = {"a": 0.05, "b": 0.0, "c": -0.3}
    pool = _pool(
        lambda i, m: draws[i, MODELS.index(m)] < 1 - hard[i] + skill[m],
        [0] * 60,
        embeddings=embeddings,
    )
    selection = E.select(pool)
    scored = {s.spec: s for s in selection.scores}
    assert scored[selection.chosen].accuracy >= scored[E.Spec(E.OVERALL)].accuracy
