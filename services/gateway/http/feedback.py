"""`POST /v1/feedback`: a reaction or verdict on a call (by the call id a response carried, or
the message id the caller gave), so that HTTP users close the learning loop as gRPC users do.

    {"call_id": "...", "reaction": "👍"}
    {"message_id": "...", "verdict": "override", "label": "NO"}
"""

from __future__ import annotations

from freescaling.common.v1 import ratings_pb2
from services.gateway.http import fields
from services.gateway.http.errors import invalid

FIELDS = {"call_id", "message_id", "reaction", "verdict", "label", "feedback_id", "source"}
VERDICTS = {
    "confirm": ratings_pb2.VERDICT_CONFIRM,
    "override": ratings_pb2.VERDICT_OVERRIDE,
    "panel_right": ratings_pb2.VERDICT_PANEL_RIGHT,
    "shadow_right": ratings_pb2.VERDICT_SHADOW_RIGHT,
}


def request(body: dict) -> ratings_pb2.FeedbackRequest:
    unknown = [k for k in body if k not in FIELDS]
    if unknown:
        raise invalid(
            f"unrecognized field {unknown[0]!r}: feedback takes {', '.join(sorted(FIELDS))}",
            param=unknown[0],
        )
    call_id, message_id = fields.string(body, "call_id"), fields.string(body, "message_id")
    if bool(call_id) == bool(message_id):
        raise invalid(
            "send exactly one of call_id (from a response's freescaling.call_id or its "
            "x-freescaling-call-id header) and message_id",
            param="call_id",
        )
    reaction, verdict = fields.string(body, "reaction"), fields.string(body, "verdict")
    if bool(reaction) == bool(verdict):
        raise invalid(
            "send exactly one of reaction (👍, 🅰️, 🅱️, 🔴, 🟡, ⚪) and verdict "
            f"({', '.join(VERDICTS)})",
            param="reaction",
        )
    if verdict and verdict not in VERDICTS:
        raise invalid(
            f"verdict must be one of {', '.join(VERDICTS)}; got {verdict!r}", param="verdict"
        )
    out = ratings_pb2.FeedbackRequest(
        reaction=reaction,
        verdict=VERDICTS.get(verdict, ratings_pb2.VERDICT_UNSPECIFIED),
        label=fields.string(body, "label"),
        feedback_id=fields.string(body, "feedback_id"),
        source=fields.string(body, "source"),
    )
    if call_id:
        out.call_id = call_id
    else:
        out.message_id = message_id
    return out


def body(result: ratings_pb2.FeedbackResult) -> dict:
    verdict = ratings_pb2.Verdict.Name(result.verdict).removeprefix("VERDICT_").lower()
    return {
        "object": "freescaling.feedback",
        "call_id": result.call_id,
        "verdict": verdict,
        "label": result.label,
        "duplicate": result.duplicate,
        "changes": [
            {"model": c.model, "before": c.before, "after": c.after} for c in result.changes
        ],
    }
