"""WeighVoters: what a weighted vote needs to know about its voters on one prompt. Each profiled
candidate's expected accuracy there (1 - psi from the set's profile estimator, as Route ranks
them), their routing costs, their pairwise error correlations, the chance that two wrong answers
coincide, and the calibration of the vote's raw posterior (calibration.py), fitted once per
profile version of the set and cached like the fitted router (every replica fits the same map
from the same rows)."""

from __future__ import annotations

import math
import threading

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import voting_pb2
from freescaling.learning.v1 import learning_pb2
from services.learning import calibration
from services.learning.cluster_sets import resolve_set
from services.learning.db import Database
from services.learning.errors import InvalidInput
from services.learning.routers import Router, Routers
from services.learning.schema import validation_results

R = validation_results


class Calibrations:
    """The calibration, coincidence and correlations of each set's current pool."""

    def __init__(self) -> None:
        self._fitted: dict[str, tuple[Router, voting_pb2.Weighing]] = {}
        self._lock = threading.Lock()

    def get(self, conn: Connection, set_id: str, router: Router) -> voting_pb2.Weighing:
        """A Weighing with no voters: the set's correlations, coincidence and calibration."""
        cached = self._fitted.get(set_id)
        if cached is not None and cached[0] is router:
            return cached[1]
        with self._lock:
            cached = self._fitted.get(set_id)
            if cached is not None and cached[0] is router:
                return cached[1]
            fitted = _fit(conn, set_id, router)
            self._fitted[set_id] = (router, fitted)
            return fitted


def _answers(conn: Connection, set_id: str, router: Router) -> list[list[str]]:
    pool = router.pool
    mi = {m: i for i, m in enumerate(pool.models)}
    ii = {t: i for i, t in enumerate(pool.item_ids)}
    answers = [[""] * len(pool.models) for _ in pool.item_ids]
    rows = conn.execute(
        sa.select(R.c.model, R.c.item_id, R.c.answer).where(
            R.c.cluster_set_id == set_id, R.c.trial == 0
        )
    )
    for model, item, answer in rows:
        if model in mi and item in ii:
            answers[ii[item]][mi[model]] = answer or ""
    return answers


def _fit(conn: Connection, set_id: str, router: Router) -> voting_pb2.Weighing:
    pool = router.pool
    answers = _answers(conn, set_id, router)
    wrong = (pool.errors > 0) & (pool.answers > 0)
    coincidence = calibration.coincidence(answers, wrong)
    phi = calibration.correlations(pool)
    found = calibration.fit(pool, answers, router.selection.chosen, phi, coincidence)
    models = pool.models
    return voting_pb2.Weighing(
        correlations=[
            voting_pb2.VoterCorrelation(
                model_a=models[a], model_b=models[b], correlation=float(phi[a, b])
            )
            for a in range(len(models))
            for b in range(a + 1, len(models))
        ],
        calibrations=[
            voting_pb2.Calibration(
                id=f"{set_id}@{router.version[0]}.{router.version[1]}",
                raw=f.calibrator.raw,
                calibrated=f.calibrator.calibrated,
                samples=f.samples,
                method=f.method,
                votes=f.votes,
            )
            for f in found
        ],
        wrong_coincidence=coincidence,
    )


def weigh(
    db: Database,
    routers: Routers,
    calibrations: Calibrations,
    request: learning_pb2.WeighVotersRequest,
) -> voting_pb2.Weighing:
    if not all(math.isfinite(x) for x in request.embedding):
        raise InvalidInput("embedding holds a value that is not a finite number")

    def work(conn: Connection) -> voting_pb2.Weighing:
        cset = resolve_set(conn, request.cluster_set_id)
        router = routers.get(conn, cset.id)
        if not router.costs:
            return voting_pb2.Weighing()
        cluster = request.cluster_id if request.HasField("cluster_id") else None
        if cluster is not None and not 0 <= cluster < cset.k:
            raise InvalidInput(
                f"cluster_id is {cluster}; cluster set {cset.id!r} has clusters 0..{cset.k - 1}"
            )
        spec, estimates = router.estimate(cluster, request.task_type, list(request.embedding))
        wanted = set(request.candidates) if request.candidates else set(router.costs)
        chosen = [m for m in router.pool.models if m in wanted and m in router.costs]
        shared = calibrations.get(conn, cset.id, router)
        weighing = voting_pb2.Weighing()
        weighing.CopyFrom(shared)
        keep = set(chosen)
        del weighing.correlations[:]
        weighing.correlations.extend(
            c for c in shared.correlations if c.model_a in keep and c.model_b in keep
        )
        described = spec.describe()
        for m in chosen:
            psi, n = estimates.get(m, (0.5, 0))
            accuracy = float(np.clip(1.0 - psi, 0.0, 1.0))
            weighing.voters.append(
                voting_pb2.Voter(
                    model=m,
                    accuracy=accuracy,
                    evidence_n=n,
                    evidence=f"profile: expected accuracy {accuracy:.2f} from {n} validation "
                    f"answers ({described})",
                    cost=router.costs[m],
                )
            )
        return weighing

    return db.read(work)
