"""Feedback on a recorded call: reactions and explicit verdicts read as "this answer was right",
turned into pairwise ELO games at K = 64, applied once per feedback.

- 👍 / CONFIRM: the call's answer was right. Every model (panel and shadow) whose parsed answer
  was the call's answer beats every model that parsed another answer.
- 🔴 🟡 ⚪ / OVERRIDE(label): the 1st, 2nd or 3rd answer pattern (or `label`) was right; models
  that answered it beat models that answered something else.
- 🅰️ / PANEL_RIGHT: the panel was right and the shadow wrong: the panel's majority voters beat
  the shadow. 🅱️ / SHADOW_RIGHT: the reverse. Both need a shadow whose answer differed; a shadow
  still answering when the call was recorded counts once its late vote is attached
  (FAILED_PRECONDITION until then).
Abstentions and failures take no part. A call without parsed answers (chat, generate) records
the feedback and moves nothing. The same feedback twice (same feedback_id, or the same call,
verdict and label when no id is given) changes nothing the second time.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import ratings_pb2, records_pb2
from services.learning import elo, ratings, records
from services.learning.db import Database
from services.learning.errors import InvalidInput, NotFound, Precondition
from services.learning.schema import feedback, votes

V = ratings_pb2
REACTIONS = {
    "👍": (V.VERDICT_CONFIRM, None),
    "🅰": (V.VERDICT_PANEL_RIGHT, None),
    "🅱": (V.VERDICT_SHADOW_RIGHT, None),
    "🔴": (V.VERDICT_OVERRIDE, 0),
    "🟡": (V.VERDICT_OVERRIDE, 1),
    "⚪": (V.VERDICT_OVERRIDE, 2),
}
# Emoji presentation selector and skin tones: "🅰️" and "🅰", "👍🏽" and "👍" are one reaction.
_DECORATIONS = {0xFE0F, 0xFE0E, *range(0x1F3FB, 0x1F400)}


def normalize_reaction(reaction: str) -> str:
    return "".join(ch for ch in reaction.strip() if ord(ch) not in _DECORATIONS)


def _read_verdict(request: ratings_pb2.FeedbackRequest) -> tuple[int, int | None]:
    if request.reaction and request.verdict:
        raise InvalidInput("give either a reaction or a verdict, not both")
    if request.reaction:
        key = normalize_reaction(request.reaction)
        if key not in REACTIONS:
            raise InvalidInput(
                f"unknown reaction {request.reaction!r}; use one of "
                + ", ".join(REACTIONS)
                + " or an explicit verdict"
            )
        return REACTIONS[key]
    if request.verdict not in (
        V.VERDICT_CONFIRM,
        V.VERDICT_OVERRIDE,
        V.VERDICT_PANEL_RIGHT,
        V.VERDICT_SHADOW_RIGHT,
    ):
        raise InvalidInput("neither a reaction nor a verdict was given; feedback needs one")
    return request.verdict, None


def _games(
    record: records_pb2.CallRecord, vote_rows, verdict: int, label: str
) -> tuple[str, list[str], list[str]]:
    """(label the feedback says was right, winners, losers)."""
    panel = {r.model: r.parsed_answer for r in vote_rows if r.role == "panel" and r.parsed_answer}
    shadow = [r for r in vote_rows if r.role == "shadow"]
    answered = {r.model: r.parsed_answer for r in vote_rows if r.parsed_answer}
    if verdict in (V.VERDICT_PANEL_RIGHT, V.VERDICT_SHADOW_RIGHT):
        if not shadow and record.pending_shadow:
            raise Precondition(
                f"the shadow challenger {record.pending_shadow!r} of call {record.call_id!r} "
                "has not answered yet (it answers after the panel, and its vote is recorded "
                "when it does): try again shortly"
            )
        if not shadow or not shadow[0].parsed_answer:
            raise InvalidInput(
                f"call {record.call_id!r} has no shadow answer; 🅰️/🅱️ compare the panel with "
                "the shadow challenger"
            )
        if not record.answer:
            raise InvalidInput(f"call {record.call_id!r} has no panel answer to compare")
        challenger = shadow[0]
        if challenger.parsed_answer == record.answer:
            raise InvalidInput(
                f"in call {record.call_id!r} the shadow agreed with the panel "
                f"({record.answer!r}); 🅰️/🅱️ apply only when they differ"
            )
        majority = [m for m, a in panel.items() if a == record.answer]
        if verdict == V.VERDICT_PANEL_RIGHT:
            return record.answer, majority, [challenger.model]
        return challenger.parsed_answer, [challenger.model], majority
    if not label:
        return label, [], []
    winners = [m for m, a in answered.items() if a == label]
    losers = [m for m, a in answered.items() if a != label]
    return label, winners, losers


def _label(record: records_pb2.CallRecord, verdict: int, index: int | None, label: str) -> str:
    patterns = list(record.answer_patterns)
    if verdict == V.VERDICT_CONFIRM:
        if record.kind == records_pb2.CALL_KIND_SCALE and not record.answer:
            raise InvalidInput(
                f"call {record.call_id!r} ended without an answer (tie or no votes); nothing "
                "to confirm: override with the right label instead"
            )
        return record.answer
    if verdict != V.VERDICT_OVERRIDE:
        return ""
    if index is not None:
        if index >= len(patterns):
            raise InvalidInput(
                f"reaction picks answer pattern {index + 1}, but call {record.call_id!r} had "
                f"{len(patterns)} pattern(s): {patterns}"
            )
        return patterns[index]
    if not label:
        raise InvalidInput("VERDICT_OVERRIDE needs a label: the right answer")
    if patterns and label not in patterns:
        raise InvalidInput(
            f"label {label!r} is not one of call {record.call_id!r}'s answer patterns {patterns}"
        )
    return label


def submit(db: Database, request: ratings_pb2.FeedbackRequest, k: float):
    target = request.WhichOneof("target")
    if target is None or not getattr(request, target):
        raise InvalidInput("feedback needs a call_id or a message_id")
    verdict, index = _read_verdict(request)

    def work(conn: Connection) -> ratings_pb2.FeedbackResult:
        row = records.find(
            conn,
            call_id=request.call_id if target == "call_id" else "",
            message_id=request.message_id if target == "message_id" else "",
        )
        if row is None:
            raise NotFound(f"no call with {target} {getattr(request, target)!r} is recorded")
        record = records_pb2.CallRecord.FromString(row.record)
        label = _label(record, verdict, index, request.label)
        vote_rows = conn.execute(
            sa.select(votes).where(votes.c.call_seq == row.seq).order_by(votes.c.position)
        ).all()
        label, winners, losers = _games(record, vote_rows, verdict, label)
        key = request.feedback_id or f"{row.call_id}|{verdict}|{label}"
        result = ratings_pb2.FeedbackResult(call_id=row.call_id, verdict=verdict, label=label)
        stored = conn.execute(
            ratings.insert_ignore(conn, feedback)
            .values(
                idem_key=("id:" if request.feedback_id else "auto:") + key[:480],
                call_seq=row.seq,
                verdict=verdict,
                label=label,
                reaction=request.reaction[:20],
                source=request.source[:200],
                created_us=ratings.now_us(),
            )
            .returning(feedback.c.id)
        ).scalar()
        if stored is None:
            result.duplicate = True
            return result
        before = ratings.lock(conn, [*winners, *losers])
        outcome = elo.pairwise(before, winners, losers, k)
        totals = ratings.Totals()
        result.changes.extend(totals.add(before, outcome, feedback=True))
        totals.write(conn)
        return result

    return db.write(work)
