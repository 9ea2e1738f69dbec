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


def test_nearest_items_find_what_clusters_miss():
    rng = np.random.default_rng(1)
    # Two topics in embedding space; a is right on topic 0, b on topic 1; the clusters (all 0)
    # and task types know nothing of it.
    topic = rng.integers(0, 2, 400)
    centres = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
    embeddings = centres[topic] + rng.normal(0, 0.2, (400, 4))
    right = {"a": 0, "b": 1}
    pool = _pool(lambda i, m: m in right and topic[i] == right[m], [0] * 400, embeddings=embeddings)
    selection = E.select(pool)
    assert selection.chosen.method == E.KNN
    assert selection.without_embedding.method != E.KNN
    everything = np.arange(len(pool.item_ids))
    queries = np.stack([pool.unit(c + 0.05) for c in centres])
    psi, n = E.predict(
        selection.chosen, pool, everything, np.zeros(2, int), np.full(2, -1), queries
    )
    assert [pool.models[j] for j in psi.argmin(axis=1)] == ["a", "b"]
    assert (n == selection.chosen.neighbours).all()


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
