"""The answer cache, shared by every gateway replica: answers kept for `ttl_s`, found again by an
exact match of their keys or, with an embedding, by the most similar question of the same scope,
kind, settings, embedder and numbers. Keys are digests the gateway computes (learning never sees
an API key or a question) and the answer is the gateway's serialised reply, opaque here.

Every lookup, hit or miss, is counted in `cache_lookups` in the lookup's own transaction, so
that GetStats' `cache` is exact over any range."""

from __future__ import annotations

import math

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import calls_pb2, records_pb2
from freescaling.learning.v1 import learning_pb2
from services.learning.db import Database
from services.learning.errors import InvalidInput
from services.learning.ratings import now_us
from services.learning.schema import answer_cache, cache_lookups

KINDS = ("scale", "generate", "chat")
# Keys, embedder and call id fit the table's String(200) columns (digests are far shorter).
MAX_KEY = 200
# The contract's limit: an answer is one gRPC message among others (16 MiB by default).
MAX_ANSWER_BYTES = 4 * 1024 * 1024
# Ten years: any longer is a mistake, and expires_us must stay well inside a BIGINT.
MAX_TTL_S = 10 * 365 * 86400.0
# A semantic lookup compares the question with the newest entries of its (scope, kind,
# settings, embedder, numbers, dim) only: 5000 x 1024 float32 is 20 MB read and one
# matrix-vector product (a few ms), whatever the table's size. Older entries are still found
# exactly.
SEMANTIC_SCAN = 5000
# Expired rows deleted by each store: more than one, so the table shrinks back after a burst
# of short-lived entries, and few enough that a store stays one short transaction.
PURGE_PER_STORE = 100


def _check_keys(request) -> None:
    """Scope, kind and the two keys are required and short; the kind is one of KINDS."""
    needs = {
        "scope": "a digest of the caller's API key ('open' where the gateway has no keys)",
        "kind": "'scale', 'generate' or 'chat'",
        "settings_key": "the digest of everything but the question's wording",
        "text_key": "the digest of the normalised question",
    }
    for name, what in needs.items():
        value = getattr(request, name)
        if not value:
            raise InvalidInput(f"{name} is empty; send {what}")
        if len(value) > MAX_KEY:
            raise InvalidInput(
                f"{name} has {len(value)} characters; at most {MAX_KEY} (send {what})"
            )
    if request.kind not in KINDS:
        raise InvalidInput(f"kind {request.kind[:40]!r} is not 'scale', 'generate' or 'chat'")
    if len(request.embedder) > MAX_KEY:
        raise InvalidInput(f"embedder has {len(request.embedder)} characters; at most {MAX_KEY}")


def _embedding(request) -> np.ndarray | None:
    """The request's embedding as float64 (None without one), checked usable for a cosine."""
    if not request.embedding:
        return None
    vector = np.asarray(request.embedding, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(vector))
    if bad.size:
        raise InvalidInput(
            f"embedding[{int(bad[0])}] is {float(vector[bad[0]])}; every value must be a finite "
            "number: send the embedder's output as it is, or no embedding for an exact lookup"
        )
    if not np.any(vector):
        raise InvalidInput(
            "embedding is all zeros, which has no cosine similarity with anything; send the "
            "question's embedding, or none for an exact lookup"
        )
    if not request.embedder:
        raise InvalidInput(
            "embedder is empty; name the embedder the embedding came from (entries of another "
            "embedder never match)"
        )
    return vector


def _hit(row, match: str, similarity: float) -> learning_pb2.LookupAnswerResponse:
    return learning_pb2.LookupAnswerResponse(
        found=True,
        answer=row.answer,
        hit=calls_pb2.CacheHit(
            original_call_id=row.call_id,
            match=match,
            similarity=similarity,
            saved_cost_usd=row.cost_usd,
            stored_at_us=row.created_us,
        ),
    )


def _nearest(conn: Connection, request, vector: np.ndarray, now: int) -> tuple[int, float] | None:
    """The id and cosine similarity of the most similar unexpired entry of the same scope,
    kind, settings, embedder, numbers and dimension (the newest of equals), among the newest
    SEMANTIC_SCAN; None when there is none."""
    c = answer_cache.c
    rows = conn.execute(
        sa.select(c.id, c.embedding)
        .where(
            c.scope == request.scope,
            c.kind == request.kind,
            c.settings_key == request.settings_key,
            c.embedder == request.embedder,
            c.numbers == request.numbers,
            c.dim == vector.size,
            c.embedding.is_not(None),
            c.expires_us > now,
        )
        .order_by(c.id.desc())
        .limit(SEMANTIC_SCAN)
    ).all()
    if not rows:
        return None
    stored = np.frombuffer(b"".join(r.embedding for r in rows), dtype="<f4")
    stored = stored.reshape(len(rows), vector.size).astype(np.float64)
    # Stored embeddings are never all zeros (store refuses them), so no norm is 0.
    similarity = (stored @ vector) / (np.linalg.norm(stored, axis=1) * np.linalg.norm(vector))
    best = int(np.argmax(similarity))  # the first of equals: rows come newest first
    return rows[best].id, min(1.0, float(similarity[best]))


def lookup(
    db: Database, request: learning_pb2.LookupAnswerRequest
) -> learning_pb2.LookupAnswerResponse:
    _check_keys(request)
    vector = _embedding(request)
    threshold = request.threshold
    if vector is not None and not 0 < threshold <= 1:
        raise InvalidInput(
            f"threshold is {threshold!r}; a semantic lookup (with an embedding) needs a least "
            "cosine similarity above 0 and at most 1, e.g. 0.95"
        )

    def work(conn: Connection) -> learning_pb2.LookupAnswerResponse:
        now = now_us()
        c = answer_cache.c
        reply = learning_pb2.LookupAnswerResponse(found=False)
        row = conn.execute(
            sa.select(answer_cache)
            .where(
                c.scope == request.scope,
                c.kind == request.kind,
                c.settings_key == request.settings_key,
                c.text_key == request.text_key,
                c.expires_us > now,
            )
            .order_by(c.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            reply = _hit(row, "exact", 1.0)
        elif vector is not None:
            nearest = _nearest(conn, request, vector, now)
            if nearest is not None and nearest[1] >= threshold:
                row = conn.execute(sa.select(answer_cache).where(c.id == nearest[0])).one()
                reply = _hit(row, "semantic", nearest[1])
        conn.execute(
            cache_lookups.insert().values(
                at_us=now,
                kind=request.kind,
                hit=reply.found,
                semantic=reply.hit.match == "semantic",
                saved_cost_usd=reply.hit.saved_cost_usd,
            )
        )
        return reply

    return db.write(work)


def store(
    db: Database, request: learning_pb2.StoreAnswerRequest
) -> learning_pb2.StoreAnswerResponse:
    _check_keys(request)
    vector = _embedding(request)
    ttl = request.ttl_s
    if not math.isfinite(ttl) or ttl <= 0 or ttl > MAX_TTL_S:
        raise InvalidInput(
            f"ttl_s is {ttl!r}; send the seconds to keep the answer, above 0 and at most "
            f"{MAX_TTL_S:.0f} (ten years), e.g. 86400 for a day"
        )
    if len(request.answer) > MAX_ANSWER_BYTES:
        raise InvalidInput(
            f"answer has {len(request.answer)} bytes; at most {MAX_ANSWER_BYTES} (4 MiB) are "
            "kept: do not cache an answer this large"
        )
    if not math.isfinite(request.cost_usd) or request.cost_usd < 0:
        raise InvalidInput(f"cost_usd is {request.cost_usd!r}; it must be a number, 0 or more")
    if len(request.call_id) > MAX_KEY:
        raise InvalidInput(f"call_id has {len(request.call_id)} characters; at most {MAX_KEY}")
    keys = {
        "scope": request.scope,
        "kind": request.kind,
        "settings_key": request.settings_key,
        "text_key": request.text_key,
    }

    def work(conn: Connection) -> learning_pb2.StoreAnswerResponse:
        now = now_us()
        expires = now + round(ttl * 1_000_000)
        c = answer_cache.c
        conn.execute(answer_cache.delete().where(*(c[k] == v for k, v in keys.items())))
        expired = sa.select(c.id).where(c.expires_us <= now).limit(PURGE_PER_STORE)
        conn.execute(answer_cache.delete().where(c.id.in_(expired)))
        conn.execute(
            answer_cache.insert().values(
                **keys,
                embedder=request.embedder if vector is not None else "",
                numbers=request.numbers,
                dim=0 if vector is None else vector.size,
                embedding=None if vector is None else vector.astype("<f4").tobytes(),
                answer=request.answer,
                call_id=request.call_id,
                cost_usd=request.cost_usd,
                created_us=now,
                expires_us=expires,
            )
        )
        return learning_pb2.StoreAnswerResponse(expires_at_us=expires)

    return db.write(work)


def lookup_stats(
    conn: Connection, since_us: int | None, until_us: int | None, kind: int
) -> records_pb2.CacheStats:
    """The lookups in [since_us, until_us) (None: unbounded), of one CallKind when `kind` is
    set (CALL_KIND_SCALE counts "scale" lookups, and so on)."""
    c = cache_lookups.c
    where = []
    if since_us is not None:
        where.append(c.at_us >= since_us)
    if until_us is not None:
        where.append(c.at_us < until_us)
    if kind:
        where.append(c.kind == records_pb2.CallKind.Name(kind).removeprefix("CALL_KIND_").lower())
    hits, lookups, semantic, saved = conn.execute(
        sa.select(
            sa.func.sum(sa.case((c.hit, 1), else_=0)),
            sa.func.count(),
            sa.func.sum(sa.case((c.semantic, 1), else_=0)),
            sa.func.sum(c.saved_cost_usd),
        ).where(*where)
    ).one()
    hits = int(hits or 0)
    return records_pb2.CacheStats(
        hits=hits,
        misses=lookups - hits,
        semantic_hits=int(semantic or 0),
        saved_cost_usd=float(saved or 0.0),
        hit_rate=hits / lookups if lookups else 0.0,
    )
