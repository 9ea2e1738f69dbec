"""Profile estimators: from a pool's graded validation answers, each model's estimated error
rate on a new prompt (UniRoute's psi), and the held-out validation that picks the estimator.

Every estimator except SPEC 6's Laplace rule shrinks toward the model's overall error rate
p0 = (errors + 1) / (answers + 2), so that where a prompt's group says little, the estimate is
the model's overall record (routing then picks the best single model, never worse):

- `overall`:  p0; the pool's best single model answers everything.
- `laplace`:  (e_c + 1) / (n_c + 2) on the prompt's cluster c, 0.5 for an empty cluster (SPEC 6).
- `cluster`:  (e_c + a * p0) / (n_c + a) on the prompt's cluster.
- `task`:     the same on the prompt's task type (unseen task types: p0).
- `knn`:      the same on the prompt's k most similar validation items (cosine of centred,
              unit-length embeddings): a neighbourhood per prompt instead of fixed clusters.

`select` scores every candidate by k-fold cross-validated log-loss of predicting each model's
graded answers on items it did not see (a proper scoring rule: it rewards groups only where they
predict better than the overall rate) and keeps the lowest. Pure numpy; nothing here knows of the
database or gRPC.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

OVERALL, LAPLACE, CLUSTER, TASK, KNN = "overall", "laplace", "cluster", "task", "knn"
# Below this many validation items cross-validation says little: SPEC 6's rule applies.
MIN_ITEMS_TO_SELECT = 40
FOLDS = 5
SHRINKAGE = (1.0, 3.0, 10.0, 30.0, 100.0)
KNN_SHRINKAGE = (1.0, 5.0, 20.0, 50.0)
NEIGHBOURS = (10, 25, 50, 100, 200)
# Cross-validation of neighbourhoods costs items^2 x dim: a deterministic subsample beyond this.
MAX_CV_ITEMS = 4000
# Predictions are clipped off 0 and 1 so that one surprise does not cost an infinite loss.
_EPS = 1e-3


@dataclass(frozen=True)
class Spec:
    """One estimator: its method, and for `knn` the neighbourhood size; `shrinkage` is a."""

    method: str
    neighbours: int = 0
    shrinkage: float = 0.0

    def describe(self) -> str:
        if self.method == KNN:
            return f"knn (k={self.neighbours}, shrinkage {self.shrinkage:g})"
        if self.method in (CLUSTER, TASK):
            return f"{self.method} (shrinkage {self.shrinkage:g})"
        return self.method


@dataclass
class Pool:
    """The graded answers of every profiled model on one cluster set, item by item.
    `errors[i, m]` and `answers[i, m]` count model m's wrong and graded trials of item i."""

    models: list[str]
    item_ids: list[str]
    errors: np.ndarray
    answers: np.ndarray
    clusters: np.ndarray
    task_types: list[str]
    tasks: np.ndarray
    # Unit-length, centred embeddings of the items that have one (rows of `embedded`).
    embeddings: np.ndarray | None = None
    embedded: np.ndarray | None = None
    centre: np.ndarray | None = None

    @classmethod
    def build(
        cls,
        rows: Sequence[tuple[str, str, int, str, bool]],
        embeddings: dict[str, np.ndarray] | None = None,
    ) -> Pool:
        """From (model, item_id, cluster_id, task_type, correct) rows, one per graded trial, and
        item embeddings by item id."""
        models = sorted({r[0] for r in rows})
        item_ids = sorted({r[1] for r in rows})
        mi = {m: i for i, m in enumerate(models)}
        ii = {t: i for i, t in enumerate(item_ids)}
        task_types = sorted({r[3] for r in rows})
        ti = {t: i for i, t in enumerate(task_types)}
        errors = np.zeros((len(item_ids), len(models)))
        answers = np.zeros((len(item_ids), len(models)))
        clusters = np.zeros(len(item_ids), dtype=np.int64)
        tasks = np.zeros(len(item_ids), dtype=np.int64)
        for model, item, cluster, task, correct in rows:
            i = ii[item]
            answers[i, mi[model]] += 1
            errors[i, mi[model]] += not correct
            clusters[i], tasks[i] = cluster, ti[task]
        pool = cls(models, item_ids, errors, answers, clusters, task_types, tasks)
        if embeddings:
            have = [i for i, t in enumerate(item_ids) if t in embeddings]
            dims = {embeddings[item_ids[i]].shape[0] for i in have}
            if have and len(dims) == 1:
                raw = np.stack([embeddings[item_ids[i]] for i in have]).astype(np.float64)
                pool.centre = raw.mean(axis=0)
                pool.embeddings = _unit(raw - pool.centre)
                pool.embedded = np.asarray(have, dtype=np.int64)
        return pool

    @property
    def dim(self) -> int:
        return 0 if self.embeddings is None else self.embeddings.shape[1]

    def unit(self, embedding: Sequence[float]) -> np.ndarray | None:
        """A prompt's embedding as the neighbourhoods compare it; None when it does not fit."""
        if self.centre is None or len(embedding) != self.dim:
            return None
        return _unit(np.asarray(embedding, dtype=np.float64)[None, :] - self.centre)[0]


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def overall_rate(pool: Pool, fit: np.ndarray) -> np.ndarray:
    """p0 per model over the items `fit`."""
    return (pool.errors[fit].sum(axis=0) + 1) / (pool.answers[fit].sum(axis=0) + 2)


def _groups(labels: np.ndarray, pool: Pool, fit: np.ndarray, size: int):
    e = np.zeros((size, len(pool.models)))
    n = np.zeros((size, len(pool.models)))
    np.add.at(e, labels[fit], pool.errors[fit])
    np.add.at(n, labels[fit], pool.answers[fit])
    return e, n


class Fitted:
    """An estimator fitted on the items `fit` of a pool: the tables a prediction reads, computed
    once (routing asks the fitted router of a set many times)."""

    def __init__(self, spec: Spec, pool: Pool, fit: np.ndarray) -> None:
        self.spec, self.pool = spec, pool
        self.p0 = overall_rate(pool, fit)
        self.total = pool.answers[fit].sum(axis=0)
        if spec.method in (LAPLACE, CLUSTER):
            # One spare row: a cluster no validation item fell in reads zeros.
            self.e, self.n = _groups(
                pool.clusters, pool, fit, int(pool.clusters.max(initial=0)) + 2
            )
        elif spec.method == TASK:
            # The spare row is index -1: an unknown task type reads zeros, i.e. p0.
            self.e, self.n = _groups(pool.tasks, pool, fit, len(pool.task_types) + 1)
        elif spec.method == KNN:
            assert pool.embeddings is not None and pool.embedded is not None
            keep = np.isin(pool.embedded, fit)
            self.rows = pool.embeddings[keep]
            items = pool.embedded[keep]
            self.errors, self.answers = pool.errors[items], pool.answers[items]
            self.k = min(spec.neighbours, len(items))
        elif spec.method != OVERALL:
            raise ValueError(f"unknown estimator {spec.method!r}")

    def nearest(self, queries: np.ndarray, k: int) -> np.ndarray:
        """Rows of the k most similar items per query, most similar first."""
        similarity = queries @ self.rows.T
        top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        ranks = np.argsort(-np.take_along_axis(similarity, top, axis=1), axis=1)
        return np.take_along_axis(top, ranks, axis=1)

    def predict(
        self,
        clusters: np.ndarray,
        tasks: np.ndarray,
        queries: np.ndarray | None,
        nearest: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(estimates, answers behind them), each (prompts, models), for prompts given by their
        cluster ids, task indexes (-1: unknown) and unit embeddings (`knn` only; `nearest`, from
        `nearest()` with at least k columns, saves recomputing them)."""
        spec, a = self.spec, self.spec.shrinkage
        if spec.method == OVERALL:
            shape = (len(clusters), len(self.p0))
            return np.broadcast_to(self.p0, shape).copy(), np.broadcast_to(self.total, shape).copy()
        if spec.method == KNN:
            if nearest is None:
                assert queries is not None
                nearest = self.nearest(queries, self.k)
            nearest = nearest[:, : self.k]
            e, n = self.errors[nearest].sum(axis=1), self.answers[nearest].sum(axis=1)
        else:
            labels = tasks if spec.method == TASK else np.minimum(clusters, len(self.e) - 1)
            e, n = self.e[labels], self.n[labels]
        if spec.method == LAPLACE:
            return (e + 1) / (n + 2), n
        return (e + a * self.p0) / (n + a), n


def predict(
    spec: Spec,
    pool: Pool,
    fit: np.ndarray,
    clusters: np.ndarray,
    tasks: np.ndarray,
    queries: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """`Fitted(spec, pool, fit).predict(...)`, for one use."""
    return Fitted(spec, pool, fit).predict(clusters, tasks, queries)


def candidates(pool: Pool) -> list[Spec]:
    """The estimators worth comparing on this pool, simplest first (ties keep the simpler)."""
    specs = [Spec(OVERALL), Spec(LAPLACE)]
    specs += [Spec(CLUSTER, shrinkage=a) for a in SHRINKAGE]
    if len(pool.task_types) > 1:
        specs += [Spec(TASK, shrinkage=a) for a in SHRINKAGE]
    if pool.embeddings is not None and pool.embedded is not None:
        # A neighbourhood must leave most of the fold's items outside it to say anything.
        fit_items = len(pool.embedded) * (FOLDS - 1) // FOLDS
        for k in NEIGHBOURS:
            if k <= fit_items // 4:
                specs += [Spec(KNN, neighbours=k, shrinkage=a) for a in KNN_SHRINKAGE]
    return specs


@dataclass(frozen=True)
class Scored:
    spec: Spec
    log_loss: float
    accuracy: float


@dataclass(frozen=True)
class Selection:
    """The chosen estimator, the best one that needs no embedding (for prompts without one),
    and every candidate's cross-validated figures."""

    chosen: Spec
    without_embedding: Spec
    scores: list[Scored]
    items: int


def _fold(item_id: str) -> int:
    return zlib.crc32(item_id.encode()) % FOLDS


def select(pool: Pool, forced: str = "") -> Selection:
    """Cross-validate every candidate (folds by a stable hash of the item id) and keep the
    lowest log-loss; `forced` ("laplace") skips the comparison."""
    items = len(pool.item_ids)
    if forced == LAPLACE or items < MIN_ITEMS_TO_SELECT:
        return Selection(Spec(LAPLACE), Spec(LAPLACE), [], items)
    everything = np.arange(items)
    if items > MAX_CV_ITEMS:
        order = sorted(everything, key=lambda i: zlib.crc32(f"cv:{pool.item_ids[i]}".encode()))
        everything = np.sort(np.asarray(order[:MAX_CV_ITEMS]))
    folds = np.array([_fold(pool.item_ids[i]) for i in everything])
    specs = candidates(pool)
    loss = dict.fromkeys(specs, 0.0)
    right = dict.fromkeys(specs, 0.0)
    weight = 0.0
    questions = 0
    position = (
        {int(item): row for row, item in enumerate(pool.embedded)}
        if pool.embedded is not None
        else {}
    )
    for f in range(FOLDS):
        held, fit = everything[folds == f], everything[folds != f]
        if not len(held) or not len(fit):
            continue
        queries = None
        if pool.embeddings is not None:
            held = np.asarray([i for i in held if int(i) in position], dtype=np.int64)
            if not len(held):
                continue
            queries = pool.embeddings[[position[int(i)] for i in held]]
        e, n = pool.errors[held], pool.answers[held]
        weight += n.sum()
        questions += len(held)
        # Neighbourhoods of every size come from one ranking of the fold's items.
        ranked = None
        widest = max((s.neighbours for s in specs if s.method == KNN), default=0)
        if widest and queries is not None:
            base = Fitted(Spec(KNN, neighbours=widest), pool, fit)
            ranked = base.nearest(queries, base.k)
        for spec in specs:
            fitted = Fitted(spec, pool, fit)
            p, _ = fitted.predict(pool.clusters[held], pool.tasks[held], queries, ranked)
            p = np.clip(p, _EPS, 1 - _EPS)
            loss[spec] -= float((e * np.log(p) + (n - e) * np.log(1 - p)).sum())
            # Routing at lambda 0 among the models that answered the item.
            masked = np.where(n > 0, p, np.inf)
            chosen = masked.argmin(axis=1)
            rows = np.arange(len(held))
            answered = n[rows, chosen]
            right[spec] += float(
                np.divide(
                    answered - e[rows, chosen],
                    answered,
                    out=np.zeros(len(held)),
                    where=answered > 0,
                ).sum()
            )
    if not weight:
        return Selection(Spec(LAPLACE), Spec(LAPLACE), [], items)
    scores = [Scored(s, loss[s] / weight, right[s] / questions) for s in specs]
    best = min(scores, key=lambda s: s.log_loss)
    plain = min((s for s in scores if s.spec.method != KNN), key=lambda s: s.log_loss)
    return Selection(best.spec, plain.spec, scores, items)
