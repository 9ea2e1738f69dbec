"""Cluster sets, the only writer of the `cluster_sets` table: a set's metadata (RecordClusterSet)
or the set with its centroids (StoreCentroids), the newest set of an embedder for every
classifier replica (GetCentroids), and the set a profile request names (or the newest)."""

from __future__ import annotations

import json
import struct

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import routing_pb2
from freescaling.learning.v1 import learning_pb2
from services.learning import ratings
from services.learning.db import Database
from services.learning.errors import InvalidInput, NotFound, Precondition
from services.learning.schema import cluster_sets

# What a person runs to record a cluster set (profiling fits the clusters when there are none
# and records them): messages name it, never the RPC that records the set.
PROFILE_FIRST = "`freescaling profile --models ALIAS ...`"


# Centroids travel as float32 and are stored as their little-endian bytes (struct: a plain list
# of floats in, the same out, without a detour through arrays).
def _pack(values) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def _unpack(blob: bytes) -> list[float]:
    return list(struct.unpack(f"<{len(blob) // 4}f", blob))


def _metadata(row) -> routing_pb2.ClusterSet:
    return routing_pb2.ClusterSet(
        id=row.id,
        k=row.k,
        dim=row.dim,
        model_fingerprint=row.model_fingerprint,
        seed=row.seed,
        sizes=json.loads(row.sizes),
        fitted_at=ratings.timestamp(row.fitted_us),
    )


def _fitted_us(cs: routing_pb2.ClusterSet) -> int:
    if cs.HasField("fitted_at"):
        return ratings.micros(cs.fitted_at, "cluster_set.fitted_at")
    return ratings.now_us()


def _write(
    conn: Connection, cs: routing_pb2.ClusterSet, fitted_us: int, centroids: bytes | None
) -> routing_pb2.ClusterSet:
    """The one writer of `cluster_sets`. A new id is inserted, with its centroids when given.
    Metadata alone (`centroids` None) never changes a recorded set: the same id must have the
    same k. Centroids update the set and make it the newest (they refuse another k or dim,
    unless the set was recorded without a dim: metadata first, centroids later)."""
    existing = conn.execute(sa.select(cluster_sets).where(cluster_sets.c.id == cs.id)).first()
    now = ratings.now_us()
    if existing is None:
        values = dict(
            id=cs.id,
            k=cs.k,
            dim=cs.dim,
            model_fingerprint=cs.model_fingerprint,
            seed=cs.seed,
            sizes=json.dumps(list(cs.sizes)),
            fitted_us=fitted_us,
            recorded_us=now,
        )
        if centroids is not None:
            values["centroids"] = centroids
        conn.execute(cluster_sets.insert().values(**values))
    elif centroids is None:
        if existing.k != cs.k:
            raise InvalidInput(
                f"cluster set {cs.id!r} is already recorded with k={existing.k}, not {cs.k}"
            )
    else:
        if (existing.k, existing.dim) != (cs.k, cs.dim) and existing.dim:
            raise InvalidInput(
                f"cluster set {cs.id!r} is already recorded with k={existing.k}, "
                f"dim={existing.dim}, not k={cs.k}, dim={cs.dim}"
            )
        # Stored again (fitted again to the same centroids): it is the set in use now.
        conn.execute(
            cluster_sets.update()
            .where(cluster_sets.c.id == cs.id)
            .values(
                k=cs.k,
                dim=cs.dim,
                model_fingerprint=cs.model_fingerprint,
                centroids=centroids,
                recorded_us=max(now, existing.recorded_us + 1),
            )
        )
    row = conn.execute(sa.select(cluster_sets).where(cluster_sets.c.id == cs.id)).one()
    return _metadata(row)


def record_cluster_set(db: Database, cs: routing_pb2.ClusterSet) -> routing_pb2.ClusterSet:
    if not cs.id:
        raise InvalidInput("cluster set id is empty; use the digest of its centroids")
    if cs.k < 1:
        raise InvalidInput(f"cluster set k is {cs.k}; it must be 1 or more")
    if cs.sizes and len(cs.sizes) != cs.k:
        raise InvalidInput(f"cluster set has {len(cs.sizes)} sizes for k={cs.k} clusters")
    fitted = _fitted_us(cs)
    return db.write(lambda conn: _write(conn, cs, fitted, None))


def store_centroids(
    db: Database, request: learning_pb2.StoreCentroidsRequest
) -> routing_pb2.ClusterSet:
    cs = request.cluster_set
    if not cs.id:
        raise InvalidInput("cluster set id is empty; use the digest of its centroids")
    if cs.k < 1 or cs.dim < 1:
        raise InvalidInput(f"cluster set has k={cs.k}, dim={cs.dim}; both must be 1 or more")
    if not cs.model_fingerprint:
        raise InvalidInput("cluster set model_fingerprint is empty; name the embedder (its id)")
    if len(request.centroids) != cs.k * cs.dim:
        raise InvalidInput(
            f"{len(request.centroids)} centroid values for k={cs.k} x dim={cs.dim} "
            f"(expected {cs.k * cs.dim})"
        )
    if cs.sizes and len(cs.sizes) != cs.k:
        raise InvalidInput(f"cluster set has {len(cs.sizes)} sizes for k={cs.k} clusters")
    blob = _pack(request.centroids)
    fitted = _fitted_us(cs)
    return db.write(lambda conn: _write(conn, cs, fitted, blob))


def get_centroids(
    db: Database, request: learning_pb2.GetCentroidsRequest
) -> learning_pb2.GetCentroidsResponse:
    if not request.model_fingerprint:
        raise InvalidInput("model_fingerprint is empty; name the embedder (its id)")

    def work(conn: Connection) -> learning_pb2.GetCentroidsResponse:
        row = conn.execute(
            sa.select(cluster_sets)
            .where(
                cluster_sets.c.model_fingerprint == request.model_fingerprint,
                cluster_sets.c.centroids.is_not(None),
            )
            .order_by(cluster_sets.c.recorded_us.desc(), cluster_sets.c.id)
            .limit(1)
        ).first()
        if row is None:
            raise NotFound(
                f"no centroids are stored for embedder {request.model_fingerprint!r}; "
                "fit them with the classifier's FitClusters"
            )
        reply = learning_pb2.GetCentroidsResponse(cluster_set=_metadata(row))
        if row.id != request.known_id:
            reply.centroids.extend(_unpack(row.centroids))
        return reply

    return db.read(work)


def resolve_set(conn: Connection, set_id: str):
    """The recorded set `set_id`, or the newest recorded set when it is empty."""
    if set_id:
        row = conn.execute(sa.select(cluster_sets).where(cluster_sets.c.id == set_id)).first()
        if row is None:
            raise Precondition(
                f"cluster set {set_id!r} is not recorded: profile models on it first "
                f"({PROFILE_FIRST}), or name no cluster set for the newest"
            )
        return row
    row = conn.execute(
        sa.select(cluster_sets)
        .order_by(cluster_sets.c.recorded_us.desc(), cluster_sets.c.id)
        .limit(1)
    ).first()
    if row is None:
        raise Precondition(
            f"no cluster set is recorded yet: profile models first ({PROFILE_FIRST})"
        )
    return row
