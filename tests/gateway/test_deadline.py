"""The deadline the gateway's compositions take instead of a gRPC call context: read once at the
gRPC door, none at the HTTP door, and turned into downstream timeouts by downstream.py alone."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from services.common.settings import load
from services.gateway import deadline as module
from services.gateway.config import GatewaySettings
from services.gateway.deadline import Deadline
from services.gateway.downstream import DownstreamError, Downstreams


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    ticking = _Clock()
    monkeypatch.setattr(module, "monotonic", ticking)
    return ticking


class _Context:
    """What the gRPC door hands over: a ServicerContext's time_remaining."""

    def __init__(self, remaining: float | None) -> None:
        self.remaining = remaining

    def time_remaining(self) -> float | None:
        return self.remaining


def test_no_deadline_has_no_time_limit():
    assert Deadline.none().remaining() is None
    assert Deadline.of(_Context(None)) == Deadline.none()


def test_a_deadline_counts_down_on_the_monotonic_clock_and_stops_at_zero(clock):
    deadline = Deadline.after(3.0)
    assert deadline.remaining() == 3.0
    clock.now += 1.0
    assert deadline.remaining() == 2.0
    clock.now += 5.0
    assert deadline.remaining() == 0.0


def test_the_grpc_door_reads_the_callers_time_once(clock):
    context = _Context(2.5)
    deadline = Deadline.of(context)
    context.remaining = 99.0  # read at the door, not again
    clock.now += 0.5
    assert deadline.remaining() == 2.0


def timeouts(*deadlines: Deadline) -> list:
    """caller_timeout("learning", d) for each deadline (or the DownstreamError it raised), on
    Downstreams made and closed inside an event loop, as the gateway makes them (their gRPC
    channels belong to one)."""

    async def run() -> list:
        settings = load(GatewaySettings, [], {"FREESCALING_GATEWAY_DOWNSTREAM_TIMEOUT_S": "3"})
        downstreams = Downstreams(settings)
        out = []
        try:
            for d in deadlines:
                try:
                    out.append(downstreams.caller_timeout("learning", d))
                except DownstreamError as exc:
                    out.append(exc)
        finally:
            await downstreams.close()
        return out

    return asyncio.run(run())


def test_downstream_timeouts_are_the_gateways_without_a_deadline_and_never_longer_than_it(clock):
    none, short, long = timeouts(Deadline.none(), Deadline.after(1.0), Deadline.after(10.0))
    assert none == (3.0, "the gateway's downstream timeout")
    assert short == (1.0, "the caller's deadline")
    assert long[0] == 3.0


def test_a_passed_deadline_stops_the_call_before_it_is_made(clock):
    deadline = Deadline.after(1.0)
    clock.now += 2.0
    (err,) = timeouts(deadline)
    assert isinstance(err, DownstreamError)
    assert err.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert err.message == ("the deadline passed before the gateway could call the learning service")
