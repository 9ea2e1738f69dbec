"""The call context the compositions take. They were written for gRPC's ServicerContext and ask
it one thing, the time the caller has left; an HTTP caller sends no deadline, so the gateway's
own downstream timeouts (FREESCALING_GATEWAY_DOWNSTREAM_TIMEOUT_S, _STREAM_TIMEOUT_S) bound
every call it makes."""

from __future__ import annotations


class NoDeadline:
    __slots__ = ()

    def time_remaining(self) -> float | None:
        return None


NO_DEADLINE = NoDeadline()
