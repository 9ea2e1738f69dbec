"""`freescaling.feedback`: feedback as the seed project's `feedback` module took it (by external
message id and reaction), applied by the service: learning finds the call recorded with that
message id (pass `message_id=` to scale) and moves ELO; the same feedback twice changes
nothing. Like the seed's, these answer a dict and do not raise when the feedback cannot
apply: `resolved` False and `error` saying why."""

from __future__ import annotations

from freescaling.api import client
from freescaling.client.errors import FreeScalingError


def _applied(result) -> dict:
    return {
        "resolved": not result.duplicate,
        "call_id": result.call_id,
        "feedback": result.verdict,
        "label": result.label,
        "models_affected": [c.model for c in result.changes],
        **({"error": "Already resolved"} if result.duplicate else {}),
    }


def resolve_by_reaction(message_id: str, emoji: str) -> dict:
    """A reaction on the message a call was recorded with: 👍 confirms, 🅰️/🅱️ say whether the
    panel or the shadow challenger was right, 🔴 🟡 ⚪ pick the 1st, 2nd or 3rd answer."""
    try:
        return _applied(client().feedback(message_id=message_id, reaction=emoji))
    except FreeScalingError as exc:
        return {"resolved": False, "error": exc.message}


def resolve_feedback(
    entry_id: str | None = None,
    message_id: str | None = None,
    correct_answer: str | None = None,
    confirmed: bool = False,
) -> dict:
    """Confirm a call's answer, or give the right one. `entry_id` is the call_id."""
    target = {"call_id": entry_id} if entry_id else {"message_id": message_id or ""}
    if confirmed:
        verdict = {"verdict": "confirm"}
    elif correct_answer:
        verdict = {"verdict": "override", "label": correct_answer}
    else:
        return {"resolved": False, "error": "Need either confirmed=True or correct_answer"}
    try:
        return _applied(client().feedback(**target, **verdict))
    except (FreeScalingError, ValueError) as exc:
        return {"resolved": False, "error": getattr(exc, "message", str(exc))}
