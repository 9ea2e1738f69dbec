"""The time a public call has left, as the compositions see it: an instant on the monotonic
clock, or none. The gRPC door reads it off the call once (`Deadline.of`); the HTTP door, whose
callers send none, passes `Deadline.none()`, and then the gateway's own downstream timeouts
(FREESCALING_GATEWAY_DOWNSTREAM_TIMEOUT_S, _STREAM_TIMEOUT_S) bound every call it makes. Only
downstream.py turns it into timeouts; no composition needs a gRPC call context."""

from __future__ import annotations

from dataclasses import dataclass
from time import monotonic
from typing import Protocol


class _Timed(Protocol):
    """What `Deadline.of` reads: a grpc.aio.ServicerContext (or anything as punctual)."""

    def time_remaining(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Deadline:
    # time.monotonic() when the caller stops waiting; None: it never does. Monotonic, so that
    # a wall-clock step (NTP) neither shortens nor stretches a call.
    at: float | None

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """`seconds` from now."""
        return cls(monotonic() + seconds)

    @classmethod
    def none(cls) -> Deadline:
        """No deadline: the gateway's downstream timeouts alone bound the calls."""
        return _NONE

    @classmethod
    def of(cls, context: _Timed) -> Deadline:
        """The deadline of a gRPC call, read once at the door (its ServicerContext)."""
        remaining = context.time_remaining()
        return _NONE if remaining is None else cls.after(remaining)

    def remaining(self) -> float | None:
        """Seconds left, never below 0 (as gRPC's time_remaining); None without a deadline."""
        if self.at is None:
            return None
        return max(self.at - monotonic(), 0.0)


_NONE = Deadline(None)
