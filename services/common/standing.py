"""A vote's `Weighing` (learning's WeighVoters, as the gateway passes it on) as the weighing rule's
`Standing`; ValueError, with a message for the caller, when it cannot be one."""

from __future__ import annotations

import math

from freescaling.common.v1 import voting_pb2
from services.common.weighing import Calibrator, Standing


def standing(weighing: voting_pb2.Weighing) -> Standing | None:
    """The voters' standing from learning's weighing; None when it lists no voter."""
    voters = [v for v in weighing.voters if v.model]
    if not voters:
        return None
    for v in voters:
        if not 0.0 <= v.accuracy <= 1.0:
            raise ValueError(
                f"weighing: {v.model!r} has accuracy {v.accuracy}; it must be within 0 to 1"
            )
    for c in weighing.correlations:
        if not -1.0 <= c.correlation <= 1.0 or math.isnan(c.correlation):
            raise ValueError(
                f"weighing: the correlation of {c.model_a!r} and {c.model_b!r} is "
                f"{c.correlation}; it must be within -1 to 1"
            )
    for cal in weighing.calibrations:
        if not all(math.isfinite(x) for x in (*cal.raw, *cal.calibrated)):
            raise ValueError(f"weighing.calibrations (votes={cal.votes}) hold a non-finite knot")
        if len(cal.raw) != len(cal.calibrated) or list(cal.raw) != sorted(cal.raw):
            raise ValueError(
                f"weighing.calibrations (votes={cal.votes}): raw must be ascending and as long "
                f"as calibrated ({len(cal.raw)} and {len(cal.calibrated)} knots)"
            )
    if not 0.0 <= weighing.wrong_coincidence <= 1.0:
        raise ValueError(
            f"weighing.wrong_coincidence is {weighing.wrong_coincidence}; it must be within 0 to 1"
        )
    return Standing(
        accuracy={v.model: v.accuracy for v in voters},
        evidence={v.model: v.evidence for v in voters if v.evidence},
        correlation={
            frozenset((c.model_a, c.model_b)): c.correlation
            for c in weighing.correlations
            if c.model_a != c.model_b
        },
        calibrators={
            max(c.votes, 1): Calibrator(tuple(c.raw), tuple(c.calibrated))
            for c in weighing.calibrations
            if c.raw
        },
        coincidence=weighing.wrong_coincidence,
    )
