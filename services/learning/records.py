"""Call records: validate, store once (idempotent by call_id) with the consensus ELO update,
read back one by id or a page at a time (keyset pagination, newest first)."""

from __future__ import annotations

import asyncio
import base64
import json
import math
from collections.abc import Sequence
from concurrent.futures import Executor

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import classification_pb2, records_pb2, routing_pb2, voting_pb2
from freescaling.learning.v1 import learning_pb2
from services.learning import elo, ratings
from services.learning.db import Database, insert_many, write_batch
from services.learning.errors import InvalidInput, LearningError, NotFound
from services.learning.schema import calls, votes

MAX_ID = 200
DEFAULT_PAGE, MAX_PAGE = 50, 500


def _check_usage(usage: voting_pb2.Usage, where: str) -> None:
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        if getattr(usage, name) < 0:
            raise InvalidInput(f"{where}.{name} is {getattr(usage, name)}; it must not be negative")
    if not math.isfinite(usage.cost_usd) or usage.cost_usd < 0:
        raise InvalidInput(f"{where}.cost_usd is {usage.cost_usd}; it must not be negative")


def _check_latency(value: float, where: str) -> None:
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(f"{where} is {value}; it must not be negative")


def validate(record: records_pb2.CallRecord) -> None:
    if not record.call_id:
        raise InvalidInput("record.call_id is empty; every record needs the call's id")
    if len(record.call_id) > MAX_ID or len(record.message_id) > MAX_ID:
        raise InvalidInput(f"record.call_id and record.message_id take at most {MAX_ID} chars")
    if record.kind not in (
        records_pb2.CALL_KIND_SCALE,
        records_pb2.CALL_KIND_GENERATE,
        records_pb2.CALL_KIND_CHAT,
    ):
        raise InvalidInput(
            f"record.kind is {record.kind} (unspecified or unknown); it must be "
            "CALL_KIND_SCALE, CALL_KIND_GENERATE or CALL_KIND_CHAT"
        )
    _check_usage(record.usage, "record.usage")
    _check_latency(record.latency_s, "record.latency_s")
    if record.HasField("created_at"):
        ratings.micros(record.created_at, "record.created_at")
    panel = set()
    for i, vote in enumerate(record.votes):
        where = f"record.votes[{i}]"
        if not vote.model:
            raise InvalidInput(f"{where}.model is empty; every vote names its model")
        if vote.model in panel:
            raise InvalidInput(f"{where}: model {vote.model!r} voted twice in one call")
        panel.add(vote.model)
        _check_usage(vote.usage, f"{where}.usage")
        _check_latency(vote.latency_s, f"{where}.latency_s")
    if record.HasField("shadow"):
        if not record.shadow.model:
            raise InvalidInput("record.shadow.model is empty; a shadow answer names its model")
        if record.shadow.model in panel:
            raise InvalidInput(
                f"record.shadow.model {record.shadow.model!r} is also on the panel; the shadow "
                "challenger must be a model outside the panel"
            )
        _check_usage(record.shadow.usage, "record.shadow.usage")
        if record.pending_shadow:
            raise InvalidInput(
                "record.pending_shadow is set although record.shadow is: a shadow is either "
                "answered or pending"
            )
    if record.pending_shadow in panel:
        raise InvalidInput(
            f"record.pending_shadow {record.pending_shadow!r} is also on the panel; the shadow "
            "challenger must be a model outside the panel"
        )
    patterns = set(record.answer_patterns)
    if (
        record.kind == records_pb2.CALL_KIND_SCALE
        and patterns
        and record.answer not in (patterns | {""})
    ):
        raise InvalidInput(f"record.answer {record.answer!r} is not one of record.answer_patterns")


def _parsed(vote: voting_pb2.Vote) -> str:
    """A vote's answer, or empty when it is not a vote (abstained, failed, cancelled)."""
    if vote.abstained or vote.error or vote.cancelled:
        return ""
    return vote.parsed_answer


def _majority(record: records_pb2.CallRecord) -> str:
    if record.kind != records_pb2.CALL_KIND_SCALE:
        return ""
    if record.outcome != voting_pb2.SCALE_OUTCOME_MAJORITY:
        return ""
    return record.answer


def error_cause(error: str) -> str:
    """An error's first clause (up to its first colon or line end, at most 80 characters): what
    the dashboard groups failures by, without the details that differ call to call."""
    return error.strip().splitlines()[0].split(":")[0].strip()[:80] if error.strip() else ""


def _one_answer(usages: list[voting_pb2.Usage]) -> tuple[int, int]:
    """Mean prompt and completion tokens of the model calls that reported usage."""
    used = [u for u in usages if u.total_tokens > 0]
    if not used:
        return 0, 0
    return (
        round(sum(u.prompt_tokens for u in used) / len(used)),
        round(sum(u.completion_tokens for u in used) / len(used)),
    )


def dashboard_columns(record: records_pb2.CallRecord) -> dict:
    """The columns the dashboard aggregates (revision 0009): the vote's confidence, the tokens
    of one answer (a panel vote's or a generator's on average; a chat's own), which the
    saving against always asking the best single model prices, and the error's cause."""
    if record.kind == records_pb2.CALL_KIND_SCALE:
        prompt, completion = _one_answer([v.usage for v in record.votes])
    elif record.kind == records_pb2.CALL_KIND_GENERATE:
        prompt, completion = _one_answer([o.usage for o in record.outputs])
    else:
        prompt, completion = record.usage.prompt_tokens, record.usage.completion_tokens
    return {
        "confidence": record.confidence if record.kind == records_pb2.CALL_KIND_SCALE else None,
        "answer_prompt_tokens": prompt,
        "answer_completion_tokens": completion,
        "error_cause": error_cause(record.error),
    }


def _columns(record: records_pb2.CallRecord, created_us: int) -> dict:
    classification = record.routing.classification
    has_class = record.routing.HasField("classification")
    tier = classification.tier if has_class else 0
    return {
        "call_id": record.call_id,
        "message_id": record.message_id or None,
        "kind": record.kind,
        "created_us": created_us,
        "answer": record.answer,
        "outcome": record.outcome,
        "model": record.model or record.routing.model,
        "tier": classification_pb2.Tier.Name(tier).removeprefix("TIER_").lower() if tier else "",
        "task_type": classification.task_type_1 if has_class else "",
        "complexity": classification.prompt_complexity_score if has_class else None,
        "cluster_id": (
            classification.cluster_id
            if has_class and classification.HasField("cluster_id")
            else None
        ),
        "routing_method": record.routing.method,
        "routing_latency_ms": (
            record.routing.routing_latency_ms
            if record.routing.method
            not in (routing_pb2.ROUTING_METHOD_UNSPECIFIED, routing_pb2.ROUTING_METHOD_NAMED)
            else None
        ),
        "prompt_tokens": record.usage.prompt_tokens,
        "completion_tokens": record.usage.completion_tokens,
        "total_tokens": record.usage.total_tokens,
        "cost_usd": record.usage.cost_usd,
        "latency_s": record.latency_s,
        "failed": bool(record.error),
        "record": record.SerializeToString(),
        **dashboard_columns(record),
    }


def vote_row(seq: int, position: int, vote: voting_pb2.Vote, role: str) -> dict:
    """A `votes` row: a panel vote (role "panel") or the shadow's answer (role "shadow", after
    the panel's positions)."""
    return {
        "call_seq": seq,
        "position": position,
        "model": vote.model,
        "role": role,
        "parsed_answer": _parsed(vote),
        "abstained": vote.abstained,
        "error": vote.error,
        "latency_s": vote.latency_s,
        "total_tokens": vote.usage.total_tokens,
        "cost_usd": vote.usage.cost_usd,
        "error_cause": error_cause(vote.error),
        "failed": bool(vote.error),
    }


def _vote_rows(seq: int, record: records_pb2.CallRecord) -> list[dict]:
    rows = [vote_row(seq, i, v, "panel") for i, v in enumerate(record.votes)]
    if record.HasField("shadow"):
        rows.append(vote_row(seq, len(record.votes), record.shadow, "shadow"))
    return rows


def _models(record: records_pb2.CallRecord) -> list[str]:
    models = [v.model for v in record.votes]
    if record.HasField("shadow"):
        models.append(record.shadow.model)
    return models


Result = learning_pb2.RecordCallResponse | LearningError


def record_calls(
    db: Database, requests: Sequence[learning_pb2.RecordCallRequest], k: float
) -> list[Result]:
    """Record a batch of calls in ONE transaction (group commit), each exactly as if alone and
    in order: a call's consensus update starts from the ratings the calls before it left.
    Returns, per request, its response or the error that refused it (refusing one call
    never refuses the others)."""
    results: list[Result | None] = [None] * len(requests)
    firsts: dict[str, int] = {}
    repeats: dict[int, int] = {}
    for i, request in enumerate(requests):
        record = request.record
        try:
            validate(record)
        except InvalidInput as exc:
            results[i] = exc
            continue
        if not record.HasField("created_at"):
            record.created_at.FromMicroseconds(ratings.now_us())
        if record.call_id in firsts:
            repeats[i] = firsts[record.call_id]
        else:
            firsts[record.call_id] = i
    todo = list(firsts.values())

    def work(conn: Connection) -> dict[int, Result]:
        out: dict[int, Result] = {}
        models = {i: _models(requests[i].record) for i in todo}
        current = ratings.lock(
            conn,
            {m for i in todo for m in models[i]},
            create={m for i in todo if requests[i].register_models for m in models[i]},
        )
        accepted = []
        for i in todo:
            unknown = sorted(set(models[i]) - set(current))
            if unknown:
                out[i] = InvalidInput(
                    f"vote for unknown model(s) {', '.join(map(repr, unknown))}: record it with "
                    "register_models=true, or onboard the model first"
                )
            else:
                accepted.append(i)
        if not accepted:
            return out
        # Calls in id order: two writers inserting the same ids never wait for each other in a
        # cycle. A call already stored is not returned: it is a retried record.
        rows = sorted(
            (
                _columns(requests[i].record, requests[i].record.created_at.ToMicroseconds())
                for i in accepted
            ),
            key=lambda row: row["call_id"],
        )
        inserted = dict(
            conn.execute(
                ratings.insert_ignore(conn, calls).returning(calls.c.call_id, calls.c.seq), rows
            ).all()
        )
        vote_rows: list[dict] = []
        totals = ratings.Totals()
        for i in accepted:
            record = requests[i].record
            seq = inserted.get(record.call_id)
            if seq is None:
                out[i] = learning_pb2.RecordCallResponse(call_id=record.call_id, duplicate=True)
                continue
            vote_rows.extend(_vote_rows(seq, record))
            answers = {v.model: _parsed(v) for v in record.votes if _parsed(v)}
            majority = _majority(record)
            outcome = elo.consensus(current, answers, majority, k)
            changes = totals.add(current, outcome)
            totals.count(record.votes, answers, majority)
            out[i] = learning_pb2.RecordCallResponse(call_id=record.call_id, changes=changes)
        insert_many(conn, votes, vote_rows)
        totals.write(conn)
        return out

    if todo:
        # Something in the batch may break the transaction: then each call alone, so that only
        # the call at fault fails.
        done = write_batch(
            db,
            work,
            todo,
            lambda i: record_calls(db, [requests[i]], k)[0],
            lambda i: f"recording call {requests[i].record.call_id!r}",
            "the database refused the record; see the log",
        )
        for i, result in done.items():
            results[i] = result
    for i, first in repeats.items():
        earlier = results[first]
        results[i] = (
            earlier
            if isinstance(earlier, LearningError)
            else learning_pb2.RecordCallResponse(call_id=requests[i].record.call_id, duplicate=True)
        )
    return results  # type: ignore[return-value]


def record_call(
    db: Database, request: learning_pb2.RecordCallRequest, k: float
) -> learning_pb2.RecordCallResponse:
    """Record one call (a batch of one); raise the error that refused it."""
    (result,) = record_calls(db, [request], k)
    if isinstance(result, LearningError):
        raise result
    return result


class Recorder:
    """Group commit for RecordCall and RecordCalls: requests arriving while a batch is being
    written wait and go into the next transaction together. One batch at a time per process;
    other processes (replicas) write concurrently, serialized by row locks (PostgreSQL) or the
    write lock (SQLite)."""

    def __init__(self, db: Database, k: float, executor: Executor, max_batch: int = 256) -> None:
        self.db, self.k, self.executor, self.max_batch = db, k, executor, max_batch
        self.pending: list[tuple[learning_pb2.RecordCallRequest, asyncio.Future]] = []
        self.task: asyncio.Task | None = None

    async def record(self, request: learning_pb2.RecordCallRequest):
        future = asyncio.get_running_loop().create_future()
        self._add([(request, future)])
        result = await future
        if isinstance(result, LearningError):
            raise result
        return result

    async def record_many(self, requests: Sequence[learning_pb2.RecordCallRequest]) -> list[Result]:
        """Each request's response or the LearningError that refused it, in order; the requests
        join the pending batch (large ones span several transactions)."""
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in requests]
        self._add(list(zip(requests, futures, strict=True)))
        return list(await asyncio.gather(*futures))

    def _add(self, entries: list[tuple[learning_pb2.RecordCallRequest, asyncio.Future]]) -> None:
        self.pending.extend(entries)
        if self.task is None:
            self.task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.pending:
                batch, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch :]
                try:
                    results = await loop.run_in_executor(
                        self.executor, record_calls, self.db, [r for r, _ in batch], self.k
                    )
                except Exception as exc:  # every waiter of the batch gets the error
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():  # the caller gave up (deadline, cancellation)
                        continue
                    if isinstance(result, Exception) and not isinstance(result, LearningError):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self.task = None


def find(conn: Connection, call_id: str = "", message_id: str = ""):
    """The call's row by id, else by external message id; None when neither matches."""
    if call_id:
        row = conn.execute(sa.select(calls).where(calls.c.call_id == call_id)).first()
        if row is not None:
            return row
    key = message_id or call_id
    if not key:
        return None
    return conn.execute(
        sa.select(calls).where(calls.c.message_id == key).order_by(calls.c.seq.desc()).limit(1)
    ).first()


def _record(row) -> records_pb2.CallRecord:
    return records_pb2.CallRecord.FromString(row.record)


def get_call(db: Database, call_id: str) -> records_pb2.CallRecord:
    if not call_id:
        raise InvalidInput("call_id is empty; give a call_id or a message id recorded with a call")
    row = db.read(lambda conn: find(conn, call_id))
    if row is None:
        raise NotFound(f"no call with call_id or message_id {call_id!r} is recorded")
    return _record(row)


def _encode(created_us: int, seq: int, filters: str) -> str:
    raw = json.dumps([created_us, seq, filters]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str, filters: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        created_us, seq, token_filters = json.loads(raw)
        created_us, seq = int(created_us), int(seq)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            "page_token is not a token this service issued; pass next_page_token unchanged"
        ) from exc
    if token_filters != filters:
        raise InvalidInput("page_token was issued for other filters; keep the filters of page 1")
    return created_us, seq


def time_filters(table: sa.Table, since, until, has_since: bool, has_until: bool) -> list:
    clauses = []
    if has_since:
        clauses.append(table.c.created_us >= ratings.micros(since, "since"))
    if has_until:
        clauses.append(table.c.created_us < ratings.micros(until, "until"))
    return clauses


def list_calls(db: Database, request: records_pb2.ListCallsRequest) -> records_pb2.CallPage:
    if request.page_size < 0:
        raise InvalidInput(f"page_size is {request.page_size}; it must be 0 (default) or more")
    size = min(request.page_size or DEFAULT_PAGE, MAX_PAGE)
    clauses = time_filters(
        calls,
        request.since,
        request.until,
        request.HasField("since"),
        request.HasField("until"),
    )
    if request.kind:
        clauses.append(calls.c.kind == request.kind)
    if request.model:
        voted = sa.select(votes.c.call_seq).where(votes.c.model == request.model)
        clauses.append(sa.or_(calls.c.model == request.model, calls.c.seq.in_(voted)))
    probe = records_pb2.ListCallsRequest()
    probe.CopyFrom(request)
    probe.page_token, probe.page_size = "", 0
    filters = base64.b64encode(probe.SerializeToString(deterministic=True)).decode()
    if request.page_token:
        created_us, seq = _decode(request.page_token, filters)
        clauses.append(
            sa.or_(
                calls.c.created_us < created_us,
                sa.and_(calls.c.created_us == created_us, calls.c.seq < seq),
            )
        )
    query = (
        sa.select(calls.c.seq, calls.c.created_us, calls.c.record)
        .where(*clauses)
        .order_by(calls.c.created_us.desc(), calls.c.seq.desc())
        .limit(size + 1)
    )
    rows = db.read(lambda conn: conn.execute(query).all())
    page = records_pb2.CallPage(calls=[_record(r) for r in rows[:size]])
    if len(rows) > size:
        last = rows[size - 1]
        page.next_page_token = _encode(last.created_us, last.seq, filters)
    return page
