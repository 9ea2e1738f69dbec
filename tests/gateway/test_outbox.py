"""The outbox toward learning: never blocks the caller, retries until delivered, bounded with
visible drops, spooled to disk so a restart loses nothing, flushed on shutdown."""

from __future__ import annotations

import asyncio
import logging

import grpc
from prometheus_client import REGISTRY

from freescaling.common.v1 import records_pb2
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc
from services.common.settings import load
from services.gateway.config import GatewaySettings
from services.gateway.downstream import Downstreams
from services.gateway.outbox import Outbox, OutboxPolicy, PermanentError
from services.gateway.server import record_sender
from tests.support.processes import free_port

FAST = OutboxPolicy(capacity=100, senders=2, initial_backoff_s=0.01, max_backoff_s=0.05)


def _record(i: int) -> records_pb2.CallRecord:
    return records_pb2.CallRecord(call_id=f"call-{i}", kind=records_pb2.CALL_KIND_SCALE)


def _metric(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Learning:
    """Stands in for learning's RecordCall: fails while `down`, refuses `reject` ids."""

    def __init__(self, down_for: int = 0, reject: set[str] | None = None) -> None:
        self.down_for, self.reject = down_for, reject or set()
        self.delivered: list[str] = []
        self.attempts = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def send(self, record: records_pb2.CallRecord) -> None:
        self.attempts += 1
        await self.gate.wait()
        if record.call_id in self.reject:
            raise PermanentError("vote for unknown model")
        if self.down_for > 0:
            self.down_for -= 1
            raise ConnectionError("learning is down")
        self.delivered.append(record.call_id)


async def _drain(outbox: Outbox, timeout: float = 5.0) -> None:
    async def empty() -> None:
        while outbox.depth:
            await asyncio.sleep(0.005)

    await asyncio.wait_for(empty(), timeout)


def test_records_are_delivered_once_even_after_failures():
    async def scenario():
        learning = Learning(down_for=5)
        outbox = Outbox(learning.send, FAST)
        await outbox.start()
        retries = _metric("freescaling_outbox_retries_total")
        assert all(outbox.put(_record(i)) for i in range(20))
        assert outbox.put(_record(3))  # already waiting: not queued twice
        await _drain(outbox)
        assert await outbox.close(1.0) == 0
        assert sorted(learning.delivered) == sorted(f"call-{i}" for i in range(20))
        assert _metric("freescaling_outbox_retries_total") - retries == 5

    asyncio.run(scenario())


def test_a_full_outbox_drops_new_records_visibly(caplog):
    async def scenario():
        learning = Learning()
        learning.gate.clear()  # learning hangs: nothing leaves
        outbox = Outbox(learning.send, OutboxPolicy(capacity=3, senders=1))
        await outbox.start()
        dropped = _metric("freescaling_outbox_dropped_total", reason="full")
        assert [outbox.put(_record(i)) for i in range(5)] == [True, True, True, False, False]
        assert outbox.depth == 3
        assert _metric("freescaling_outbox_dropped_total", reason="full") - dropped == 2
        assert _metric("freescaling_outbox_depth") == 3
        learning.gate.set()
        await _drain(outbox)
        await outbox.close(1.0)
        assert learning.delivered == ["call-0", "call-1", "call-2"]

    with caplog.at_level(logging.ERROR):
        asyncio.run(scenario())
    assert "outbox full: dropped the record of call call-3" in caplog.text


def test_a_rejected_record_is_not_retried():
    async def scenario():
        learning = Learning(reject={"call-1"})
        outbox = Outbox(learning.send, FAST)
        await outbox.start()
        for i in range(3):
            outbox.put(_record(i))
        await _drain(outbox)
        await outbox.close(1.0)
        assert sorted(learning.delivered) == ["call-0", "call-2"]
        assert learning.attempts == 3

    asyncio.run(scenario())


def test_the_spool_keeps_records_across_a_restart(tmp_path):
    spool = tmp_path / "spool"

    async def first_process() -> int:
        learning = Learning()
        learning.gate.clear()  # learning never answers before shutdown
        outbox = Outbox(learning.send, FAST, spool)
        await outbox.start()
        for i in range(4):
            outbox.put(_record(i))
        assert outbox.put(_record(9)) and outbox.depth == 5
        left = await outbox.close(0.2)
        assert not outbox.put(_record(10))  # closing: refused, counted
        return left

    async def second_process() -> list[str]:
        learning = Learning()
        outbox = Outbox(learning.send, FAST, spool)
        await outbox.start()
        await _drain(outbox)
        await outbox.close(1.0)
        return learning.delivered

    assert asyncio.run(first_process()) == 5
    assert len(list(spool.glob("*.record"))) == 5
    assert sorted(asyncio.run(second_process())) == [
        "call-0",
        "call-1",
        "call-2",
        "call-3",
        "call-9",
    ]
    assert list(spool.glob("*.record")) == []


def test_without_a_spool_undelivered_records_are_reported_lost(caplog):
    async def scenario() -> int:
        learning = Learning()
        learning.gate.clear()
        outbox = Outbox(learning.send, FAST)
        await outbox.start()
        outbox.put(_record(1))
        return await outbox.close(0.1)

    with caplog.at_level(logging.ERROR):
        assert asyncio.run(scenario()) == 1
    assert "1 records lost at shutdown (no spool directory): call-1" in caplog.text


class RecordingLearning(learning_pb2_grpc.LearningServicer):
    def __init__(self) -> None:
        self.requests: list[tuple[learning_pb2.RecordCallRequest, str]] = []

    async def RecordCall(self, request, context):
        rid = dict(context.invocation_metadata()).get("x-request-id", "")
        self.requests.append((request, rid))
        return learning_pb2.RecordCallResponse(call_id=request.record.call_id)


def test_delivery_over_grpc_waits_out_a_learning_outage():
    async def scenario():
        port = free_port()
        settings = load(GatewaySettings, [], {"FREESCALING_LEARNING_ADDR": f"127.0.0.1:{port}"})
        downstreams = Downstreams(settings)
        outbox = Outbox(record_sender(downstreams, timeout_s=2.0), FAST)
        await outbox.start()
        record = _record(7)
        record.request_id = "req-7"
        outbox.put(record)
        await asyncio.sleep(0.3)  # learning is down: attempts fail and are retried
        assert outbox.depth == 1

        servicer = RecordingLearning()
        server = grpc.aio.server()
        learning_pb2_grpc.add_LearningServicer_to_server(servicer, server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        try:
            await _drain(outbox, timeout=10)
            await outbox.close(1.0)
        finally:
            await server.stop(None)
            await downstreams.close()
        ((request, request_id),) = servicer.requests
        assert request.record.call_id == "call-7"
        assert request.register_models
        assert request_id == "req-7"

    asyncio.run(scenario())
