"""Capability profiles (UniRoute) as stored: per model and cluster set, the smoothed error rate
psi = (errors + 1) / (n + 2) per cluster (0.5 for an empty cluster) and per-task-type accuracy."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import routing_pb2
from freescaling.learning.v1 import learning_pb2
from services.learning import ratings
from services.learning.cluster_sets import resolve_set
from services.learning.db import Database
from services.learning.errors import InvalidInput, NotFound
from services.learning.schema import cluster_sets, profiles, validation_results

R = validation_results


def psi(errors: int, n: int) -> float:
    return (errors + 1) / (n + 2)


def profiled_models(conn: Connection, set_id: str) -> set[str]:
    """The models with a profile on the cluster set."""
    return set(
        conn.execute(
            sa.select(profiles.c.model).where(profiles.c.cluster_set_id == set_id)
        ).scalars()
    )


def model_profile(conn: Connection, model: str, cset) -> routing_pb2.ModelProfile:
    """`model`'s profile on the set row `cset`, counted from its graded answers."""
    head = conn.execute(
        sa.select(profiles).where(profiles.c.model == model, profiles.c.cluster_set_id == cset.id)
    ).first()
    if head is None:
        raise NotFound(f"model {model!r} has no profile on cluster set {cset.id!r}")
    where = (R.c.model == model, R.c.cluster_set_id == cset.id)
    wrong = sa.func.sum(sa.case((R.c.correct, 0), else_=1))
    by_cluster = {
        c: (n, e)
        for c, n, e in conn.execute(
            sa.select(R.c.cluster_id, sa.func.count(), wrong).where(*where).group_by(R.c.cluster_id)
        )
    }
    by_task = conn.execute(
        sa.select(R.c.task_type, sa.func.count(), wrong)
        .where(*where)
        .group_by(R.c.task_type)
        .order_by(R.c.task_type)
    ).all()
    total = sum(n for n, _ in by_cluster.values())
    errors = sum(e for _, e in by_cluster.values())
    clusters = []
    for c in range(cset.k):
        n, e = by_cluster.get(c, (0, 0))
        clusters.append(routing_pb2.ClusterProfile(cluster_id=c, n=n, errors=e, psi=psi(e, n)))
    return routing_pb2.ModelProfile(
        model=model,
        cluster_set_id=cset.id,
        clusters=clusters,
        task_types=[
            routing_pb2.TaskTypeAccuracy(task_type=t, n=n, correct=n - e, accuracy=(n - e) / n)
            for t, n, e in by_task
            if n
        ],
        n=total,
        accuracy=(total - errors) / total if total else 0.0,
        updated_at=ratings.timestamp(head.updated_us),
    )


def get_profile(db: Database, model: str, set_id: str = "") -> routing_pb2.ModelProfile:
    if not model:
        raise InvalidInput("model is empty")

    def work(conn: Connection) -> routing_pb2.ModelProfile:
        if not set_id:
            latest = conn.execute(
                sa.select(profiles.c.cluster_set_id)
                .join(cluster_sets, cluster_sets.c.id == profiles.c.cluster_set_id)
                .where(profiles.c.model == model)
                .order_by(cluster_sets.c.recorded_us.desc())
                .limit(1)
            ).scalar()
            if latest is None:
                raise NotFound(
                    f"model {model!r} has no profile: profile it first "
                    f"(`freescaling profile --models {model}`)"
                )
            return model_profile(conn, model, resolve_set(conn, latest))
        return model_profile(conn, model, resolve_set(conn, set_id))

    return db.read(work)


def list_profiles(db: Database, set_id: str) -> learning_pb2.ListProfilesResponse:
    def work(conn: Connection) -> learning_pb2.ListProfilesResponse:
        cset = resolve_set(conn, set_id)
        models = conn.execute(
            sa.select(profiles.c.model)
            .where(profiles.c.cluster_set_id == cset.id)
            .order_by(profiles.c.model)
        ).scalars()
        return learning_pb2.ListProfilesResponse(
            profiles=[model_profile(conn, m, cset) for m in list(models)]
        )

    return db.read(work)
