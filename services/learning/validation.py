"""RecordValidation: a model's graded validation answers per item and trial, and the items'
prompt embeddings once per cluster set; the model is profiled, rated and routable at once."""

from __future__ import annotations

import math

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import routing_pb2
from freescaling.learning.v1 import learning_pb2
from services.learning import ratings
from services.learning.cluster_sets import resolve_set
from services.learning.db import Database
from services.learning.errors import InvalidInput
from services.learning.profiles import model_profile
from services.learning.schema import profiles, validation_items, validation_results

R = validation_results


def record_validation(
    db: Database, request: learning_pb2.RecordValidationRequest
) -> routing_pb2.ModelProfile:
    if not request.model:
        raise InvalidInput("model is empty; name the model the answers came from")
    if not request.cluster_set_id:
        raise InvalidInput("cluster_set_id is empty; name the centroid set the clusters refer to")
    if not math.isfinite(request.routing_cost) or request.routing_cost < 0:
        raise InvalidInput(f"routing_cost is {request.routing_cost}; it must not be negative")
    seen = set()
    for i, item in enumerate(request.items):
        if not item.item_id:
            raise InvalidInput(f"items[{i}].item_id is empty")
        if item.trial < 0:
            raise InvalidInput(f"items[{i}].trial is {item.trial}; it must not be negative")
        if (item.item_id, item.trial) in seen:
            raise InvalidInput(f"items[{i}]: item {item.item_id!r} trial {item.trial} twice")
        seen.add((item.item_id, item.trial))
    embedded = _check_embeddings(request.embeddings)

    def work(conn: Connection) -> routing_pb2.ModelProfile:
        cset = resolve_set(conn, request.cluster_set_id)
        for i, item in enumerate(request.items):
            if not 0 <= item.cluster_id < cset.k:
                raise InvalidInput(
                    f"items[{i}].cluster_id is {item.cluster_id}; cluster set "
                    f"{cset.id!r} has clusters 0..{cset.k - 1}"
                )
        if embedded and cset.dim and len(embedded[0][1]) != cset.dim:
            raise InvalidInput(
                f"embeddings have {len(embedded[0][1])} dimensions; cluster set {cset.id!r} "
                f"was fitted on {cset.dim}"
            )
        _store_embeddings(conn, cset.id, embedded)
        # A profiled model is rankable and routable at once: it gets its rating (1500).
        ratings.register(conn, [request.model])
        stamp = ratings.now_us()
        key = (profiles.c.model == request.model, profiles.c.cluster_set_id == cset.id)
        if conn.execute(sa.select(profiles.c.model).where(*key)).first() is None:
            conn.execute(
                profiles.insert().values(
                    model=request.model,
                    cluster_set_id=cset.id,
                    routing_cost=request.routing_cost,
                    updated_us=stamp,
                )
            )
        else:
            conn.execute(
                profiles.update()
                .where(*key)
                .values(routing_cost=request.routing_cost, updated_us=stamp)
            )
        mine = (R.c.model == request.model, R.c.cluster_set_id == cset.id)
        if request.replace:
            conn.execute(R.delete().where(*mine))
        elif request.items:
            # A re-graded (item, trial) replaces its earlier grade; in chunks, because SQLite
            # bounds the parameters of one statement.
            keys = [(i.item_id, i.trial) for i in request.items]
            for start in range(0, len(keys), 500):
                conn.execute(
                    R.delete().where(
                        *mine, sa.tuple_(R.c.item_id, R.c.trial).in_(keys[start : start + 500])
                    )
                )
        if request.items:
            conn.execute(
                R.insert(),
                [
                    {
                        "model": request.model,
                        "cluster_set_id": cset.id,
                        "item_id": i.item_id,
                        "trial": i.trial,
                        "cluster_id": i.cluster_id,
                        "task_type": i.task_type,
                        "correct": i.correct,
                        "answer": i.answer,
                    }
                    for i in request.items
                ],
            )
        return model_profile(conn, request.model, cset)

    return db.write(work)


def _check_embeddings(embeddings) -> list[tuple[str, list[float]]]:
    out, dims, seen = [], set(), set()
    for i, e in enumerate(embeddings):
        if not e.item_id:
            raise InvalidInput(f"embeddings[{i}].item_id is empty")
        if e.item_id in seen:
            raise InvalidInput(f"embeddings[{i}]: item {e.item_id!r} twice")
        if not e.embedding:
            raise InvalidInput(f"embeddings[{i}] ({e.item_id!r}) is empty")
        if not all(math.isfinite(x) for x in e.embedding):
            raise InvalidInput(f"embeddings[{i}] ({e.item_id!r}) holds a non-finite value")
        seen.add(e.item_id)
        dims.add(len(e.embedding))
        out.append((e.item_id, list(e.embedding)))
    if len(dims) > 1:
        raise InvalidInput(f"embeddings have different dimensions: {sorted(dims)}")
    return out


def _store_embeddings(conn: Connection, set_id: str, embedded) -> None:
    """One embedding per item and set, shared by every model profiled on it (newest wins)."""
    if not embedded:
        return
    ids = [item for item, _ in embedded]
    for start in range(0, len(ids), 500):
        conn.execute(
            validation_items.delete().where(
                validation_items.c.cluster_set_id == set_id,
                validation_items.c.item_id.in_(ids[start : start + 500]),
            )
        )
    conn.execute(
        validation_items.insert(),
        [
            {
                "cluster_set_id": set_id,
                "item_id": item,
                "dim": len(vector),
                "embedding": np.asarray(vector, dtype=np.float32).tobytes(),
            }
            for item, vector in embedded
        ],
    )
