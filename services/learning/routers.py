"""Profile routing's estimator per cluster set: the pool of graded validation answers read from
the database, the estimator chosen by cross-validation over it (estimators.py), and the ranking
of candidates for one prompt. The fitted router is a cache of what the database holds, keyed
by the set's profile version (profile count and newest update), so every replica routes alike
and a profile recorded through another replica is seen on the next Route."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import routing_pb2
from services.learning import estimators
from services.learning.schema import profiles, validation_items, validation_results

logger = logging.getLogger(__name__)
R = validation_results


@dataclass(frozen=True)
class Router:
    version: tuple[int, int]
    pool: estimators.Pool
    selection: estimators.Selection
    costs: dict[str, float]
    # The chosen estimator, the best one without embeddings, and the overall rate, fitted on
    # every item.
    chosen: estimators.Fitted
    plain: estimators.Fitted
    overall: estimators.Fitted

    def describe(self, spec: estimators.Spec) -> routing_pb2.ProfileEstimator:
        scored = next((s for s in self.selection.scores if s.spec == spec), None)
        return routing_pb2.ProfileEstimator(
            method=spec.method,
            neighbours=spec.neighbours,
            clusters=spec.clusters,
            shrinkage=spec.shrinkage,
            penalty=spec.penalty,
            logistic_weight=spec.weight,
            cv_log_loss=scored.log_loss if scored else 0.0,
            cv_accuracy=scored.accuracy if scored else 0.0,
            items=self.selection.items,
            description=spec.describe(),
        )

    def estimate(
        self, cluster_id: int | None, task_type: str, embedding
    ) -> tuple[estimators.Spec, dict[str, tuple[float, int]]]:
        """The spec used and (psi, answers behind it) per profiled model for one prompt; a
        prompt without a cluster (None) gets the overall rate where the estimator needs one."""
        pool = self.pool
        fitted = self.chosen
        query = pool.unit(embedding) if fitted.spec.needs_embedding else None
        if fitted.spec.needs_embedding and query is None:
            fitted = self.plain
        if cluster_id is None and fitted.spec.method in (estimators.LAPLACE, estimators.CLUSTER):
            fitted = self.overall
            cluster_id = 0
        task = pool.task_types.index(task_type) if task_type in pool.task_types else -1
        psi, answers = fitted.predict(
            np.asarray([cluster_id]),
            np.asarray([task]),
            None if query is None else query[None, :],
        )
        return fitted.spec, {
            m: (float(psi[0, i]), int(answers[0, i])) for i, m in enumerate(pool.models)
        }


def _version(conn: Connection, set_id: str) -> tuple[int, int]:
    count, newest = conn.execute(
        sa.select(sa.func.count(), sa.func.max(profiles.c.updated_us)).where(
            profiles.c.cluster_set_id == set_id
        )
    ).one()
    return int(count), int(newest or 0)


def load_pool(conn: Connection, set_id: str) -> estimators.Pool:
    rows = conn.execute(
        sa.select(R.c.model, R.c.item_id, R.c.cluster_id, R.c.task_type, R.c.correct).where(
            R.c.cluster_set_id == set_id
        )
    ).all()
    embedded = {
        item: np.frombuffer(blob, dtype=np.float32, count=dim)
        for item, dim, blob in conn.execute(
            sa.select(
                validation_items.c.item_id, validation_items.c.dim, validation_items.c.embedding
            ).where(validation_items.c.cluster_set_id == set_id)
        )
    }
    return estimators.Pool.build([tuple(r) for r in rows], embedded)


class Routers:
    """One fitted router per cluster set, refitted when the set's profiles change."""

    def __init__(self, estimator: str = "auto") -> None:
        self.estimator = estimator
        self._fitted: dict[str, Router] = {}
        self._lock = threading.Lock()

    def get(self, conn: Connection, set_id: str) -> Router:
        version = _version(conn, set_id)
        fitted = self._fitted.get(set_id)
        if fitted is not None and fitted.version == version:
            return fitted
        # One fit at a time: concurrent routes after a change wait for it instead of repeating it.
        with self._lock:
            fitted = self._fitted.get(set_id)
            if fitted is not None and fitted.version == version:
                return fitted
            pool = load_pool(conn, set_id)
            costs = dict(
                conn.execute(
                    sa.select(profiles.c.model, profiles.c.routing_cost).where(
                        profiles.c.cluster_set_id == set_id
                    )
                ).all()
            )
            forced = estimators.LAPLACE if self.estimator == "laplace" else ""
            selection = estimators.select(pool, forced)
            everything = np.arange(len(pool.item_ids))
            fitted = Router(
                version,
                pool,
                selection,
                costs,
                estimators.Fitted(selection.chosen, pool, everything),
                estimators.Fitted(selection.without_embedding, pool, everything),
                estimators.Fitted(estimators.Spec(estimators.OVERALL), pool, everything),
            )
            self._fitted[set_id] = fitted
            logger.info(
                "profile estimator for cluster set %s: %s over %d items and %d models",
                set_id,
                selection.chosen.describe(),
                selection.items,
                len(pool.models),
            )
            return fitted
