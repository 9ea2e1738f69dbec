"""Late shadow votes: the shadow challenger answered after its call was recorded (the answer
never waits for it), so its vote joins the call's record when it arrives: the record's
`shadow` (its `pending_shadow` cleared), a `votes` row, and its tokens and cost in the call's.
The shadow does not vote, so no rating moves; 🅰️/🅱️ feedback then applies to it. Attaching
the same vote again changes nothing (the outbox may deliver it twice)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import records_pb2, voting_pb2
from freescaling.learning.v1 import learning_pb2
from services.learning import ratings, records
from services.learning.db import Database, insert_many, write_batch
from services.learning.errors import InvalidInput, LearningError, NotFound, Precondition
from services.learning.schema import calls, votes

Result = learning_pb2.AttachedShadow | LearningError


def _check(shadow: voting_pb2.ShadowVote) -> None:
    if not shadow.call_id or len(shadow.call_id) > records.MAX_ID:
        raise InvalidInput(f"call_id is empty or over {records.MAX_ID} characters")
    vote = shadow.vote
    if not vote.model:
        raise InvalidInput("vote.model is empty; a shadow's vote names its model")
    usage = vote.usage
    if min(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) < 0:
        raise InvalidInput("vote.usage has negative tokens")
    if not math.isfinite(usage.cost_usd) or usage.cost_usd < 0:
        raise InvalidInput("vote.usage.cost_usd must not be negative")
    if not math.isfinite(vote.latency_s) or vote.latency_s < 0:
        raise InvalidInput("vote.latency_s must not be negative")


def _refusal(record: records_pb2.CallRecord, vote: voting_pb2.Vote) -> LearningError | None:
    """Why this vote cannot be the call's shadow; None when it can (or already is)."""
    if record.kind != records_pb2.CALL_KIND_SCALE:
        return InvalidInput(f"call {record.call_id!r} is not a scale call; it has no shadow")
    if vote.model in {v.model for v in record.votes}:
        return InvalidInput(
            f"{vote.model!r} voted on call {record.call_id!r}'s panel; the shadow challenger "
            "is a model outside the panel"
        )
    if record.HasField("shadow"):
        if record.shadow.model == vote.model:
            return None
        return Precondition(
            f"call {record.call_id!r} already has the shadow {record.shadow.model!r}"
        )
    if record.pending_shadow and record.pending_shadow != vote.model:
        return InvalidInput(
            f"call {record.call_id!r} waits for the shadow {record.pending_shadow!r}, "
            f"not {vote.model!r}"
        )
    return None


def _add_usage(usage: voting_pb2.Usage, more: voting_pb2.Usage) -> None:
    usage.prompt_tokens += more.prompt_tokens
    usage.completion_tokens += more.completion_tokens
    usage.total_tokens += more.total_tokens
    usage.cost_usd += more.cost_usd


def attach(db: Database, shadows: Sequence[voting_pb2.ShadowVote], register: bool) -> list[Result]:
    """Attach each vote to its call in one transaction; per vote, what happened or why not."""
    results: list[Result | None] = [None] * len(shadows)
    todo = []
    for i, shadow in enumerate(shadows):
        try:
            _check(shadow)
            todo.append(i)
        except InvalidInput as exc:
            results[i] = exc

    def work(conn: Connection) -> dict[int, Result]:
        out: dict[int, Result] = {}
        ids = sorted({shadows[i].call_id for i in todo})
        query = sa.select(calls.c.seq, calls.c.call_id, calls.c.record).where(
            calls.c.call_id.in_(ids)
        )
        if conn.dialect.name == "postgresql":
            # Two replicas delivering the same vote: the second waits, then finds it attached.
            query = query.order_by(calls.c.call_id).with_for_update()
        rows = {r.call_id: r for r in conn.execute(query)}
        stored = {cid: records_pb2.CallRecord.FromString(r.record) for cid, r in rows.items()}
        accepted = []
        for i in todo:
            shadow = shadows[i]
            record = stored.get(shadow.call_id)
            if record is None:
                out[i] = NotFound(f"no call with call_id {shadow.call_id!r} is recorded")
                continue
            refusal = _refusal(record, shadow.vote)
            if refusal is not None:
                out[i] = refusal
            elif record.HasField("shadow"):
                out[i] = learning_pb2.AttachedShadow(call_id=shadow.call_id, duplicate=True)
            else:
                accepted.append(i)
                # A second copy in this batch finds it attached.
                record.shadow.CopyFrom(shadow.vote)
        if not accepted:
            return out
        models = {shadows[i].vote.model for i in accepted}
        known = ratings.lock(conn, models, create=models if register else ())
        vote_rows, changed = [], {}
        for i in accepted:
            shadow = shadows[i]
            record = stored[shadow.call_id]
            if shadow.vote.model not in known:
                record.ClearField("shadow")
                out[i] = InvalidInput(
                    f"shadow model {shadow.vote.model!r} is unknown: attach it with "
                    "register_models=true"
                )
                continue
            record.pending_shadow = ""
            _add_usage(record.usage, shadow.vote.usage)
            row = rows[shadow.call_id]
            vote_rows.append(records.vote_row(row.seq, len(record.votes), shadow.vote, "shadow"))
            changed[shadow.call_id] = row.seq
            out[i] = learning_pb2.AttachedShadow(call_id=shadow.call_id)
        insert_many(conn, votes, vote_rows)
        for call_id, seq in changed.items():
            usage = stored[call_id].usage
            conn.execute(
                calls.update()
                .where(calls.c.seq == seq)
                .values(
                    record=stored[call_id].SerializeToString(),
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    total_tokens=usage.total_tokens,
                    cost_usd=usage.cost_usd,
                )
            )
        return out

    if todo:
        # Something may break the transaction: then each vote alone, so only its own fails.
        done = write_batch(
            db,
            work,
            todo,
            lambda i: attach(db, [shadows[i]], register)[0],
            lambda i: f"attaching the shadow of {shadows[i].call_id!r}",
            "the database refused the shadow vote; see the log",
        )
        for i, result in done.items():
            results[i] = result
    return results  # type: ignore[return-value]
