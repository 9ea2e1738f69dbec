"""The outbox toward learning: never blocks the caller, retries until delivered, bounded with
visible drops, spooled to disk so a restart loses nothing, flushed on shutdown."""

from __future__ import annotations

import asyncio
import collections
import logging

import grpc
from prometheus_client import REGISTRY

from freescaling.common.v1 import records_pb2, voting_pb2
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
    """Stands in for learning's RecordCalls: fails whole batches while `down_for` lasts, refuses
    `reject` ids for good, fails each `flaky` id once (a transient per-record error)."""

    def __init__(
        self, down_for: int = 0, reject: set[str] | None = None, flaky: set[str] | None = None
    ) -> None:
        self.down_for, self.reject, self.flaky = down_for, reject or set(), flaky or set()
        self.delivered: list[str] = []
        self.batches: list[list[str]] = []
        self.sent: collections.Counter[str] = collections.Counter()
        self.failed_records = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def send(self, records: list[records_pb2.CallRecord]) -> list[Exception | None]:
        await self.gate.wait()
        ids = [
            f"shadow:{r.call_id}" if isinstance(r, voting_pb2.ShadowVote) else r.call_id
            for r in records
        ]
        self.batches.append(ids)
        self.sent.update(ids)
        if self.down_for > 0:
            self.down_for -= 1
            self.failed_records += len(records)
            raise ConnectionError("learning is down")
        outcomes: list[Exception | None] = []
        for call_id in ids:
            await asyncio.sleep(0)  # others may queue meanwhile, as over a network
            if call_id in self.reject:
                outcomes.append(PermanentError("vote for unknown model"))
            elif call_id in self.flaky:
                self.flaky.discard(call_id)
                self.failed_records += 1
                outcomes.append(ConnectionError("database busy"))
            else:
                self.delivered.append(call_id)
                outcomes.append(None)
        return outcomes


async def _drain(outbox: Outbox, timeout: float = 5.0) -> None:
    async def empty() -> None:
        while outbox.depth:
            await asyncio.sleep(0.005)

    await asyncio.wait_for(empty(), timeout)


def test_records_are_delivered_once_even_after_failures():
    async def scenario():
        learning = Learning(down_for=5, flaky={"call-4", "call-15"})
        outbox = Outbox(learning.send, FAST)
        await outbox.start()
        retries = _metric("freescaling_outbox_retries_total")
        assert all(outbox.put(_record(i)) for i in range(20))
        assert outbox.put(_record(3))  # already waiting: not queued twice
        await _drain(outbox)
        assert await outbox.close(1.0) == 0
        assert sorted(learning.delivered) == sorted(f"call-{i}" for i in range(20))
        assert learning.sent["call-4"] >= 2 and learning.sent["call-15"] >= 2
        retried = _metric("freescaling_outbox_retries_total") - retries
        assert retried == learning.failed_records >= 5 + 2

    asyncio.run(scenario())


def test_records_travel_in_batches_bounded_by_count_and_bytes():
    async def scenario(policy: OutboxPolicy, records: list) -> list[list[str]]:
        learning = Learning()
        outbox = Outbox(learning.send, policy)
        await outbox.start()
        for record in records:
            outbox.put(record)
        await _drain(outbox)
        await outbox.close(1.0)
        assert sorted(learning.delivered) == sorted(r.call_id for r in records)
        return learning.batches

    one_sender = OutboxPolicy(senders=1, batch_size=4, linger_s=0.05)
    batches = asyncio.run(scenario(one_sender, [_record(i) for i in range(10)]))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert [i for b in batches for i in b] == [f"call-{i}" for i in range(10)]  # in order

    big = [_record(i) for i in range(5)]
    for record in big:
        record.question = "x" * 1000
    by_bytes = OutboxPolicy(senders=1, batch_size=64, batch_bytes=2500)
    assert [len(b) for b in asyncio.run(scenario(by_bytes, big))] == [2, 2, 1]
    # A record larger than batch_bytes still goes, alone.
    huge = [_record(0), _record(1)]
    huge[0].question = "x" * 5000
    assert [len(b) for b in asyncio.run(scenario(by_bytes, huge))] == [1, 1]


def test_lingering_gathers_records_that_arrive_in_quick_succession():
    async def scenario(linger_s: float) -> list[list[str]]:
        learning = Learning()
        outbox = Outbox(learning.send, OutboxPolicy(senders=1, linger_s=linger_s))
        await outbox.start()
        for i in range(6):
            outbox.put(_record(i))
            await asyncio.sleep(0.01)  # answers finishing 10 ms apart
        await _drain(outbox)
        await outbox.close(1.0)
        return learning.batches

    assert len(asyncio.run(scenario(0.0))) == 6
    assert len(asyncio.run(scenario(0.5))) == 1


def test_settled_waits_for_a_record_on_its_way():
    async def scenario():
        learning = Learning()
        learning.gate.clear()
        outbox = Outbox(learning.send, FAST)
        await outbox.start()
        record = _record(1)
        record.message_id = "chat-msg-1"
        outbox.put(record)
        assert not await outbox.settled("call-1", 0.05)
        assert not await outbox.settled("chat-msg-1", 0.05)
        assert await outbox.settled("call-2", 0.0)  # nothing pending for it
        waiting = asyncio.create_task(outbox.settled("chat-msg-1", 5.0))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        learning.gate.set()
        assert await waiting
        assert await outbox.settled("call-1", 0.0)
        await outbox.close(1.0)

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
        rejected = _metric("freescaling_outbox_dropped_total", reason="rejected")
        for i in range(3):
            outbox.put(_record(i))
        await _drain(outbox)
        await outbox.close(1.0)
        assert sorted(learning.delivered) == ["call-0", "call-2"]
        assert learning.sent == {"call-0": 1, "call-1": 1, "call-2": 1}
        assert _metric("freescaling_outbox_dropped_total", reason="rejected") - rejected == 1

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


def _shadow(i: int) -> voting_pb2.ShadowVote:
    return voting_pb2.ShadowVote(
        call_id=f"call-{i}", vote=voting_pb2.Vote(model="late", parsed_answer="NO")
    )


def test_a_late_shadow_leaves_after_its_calls_record():
    async def scenario():
        learning = Learning()
        learning.gate.clear()  # the record is taken, but not answered yet
        outbox = Outbox(learning.send, FAST)
        await outbox.start()
        outbox.put(_record(1))
        await asyncio.sleep(0.05)
        assert outbox.put_shadow(_shadow(1)) and outbox.put_shadow(_shadow(1))  # one copy
        assert outbox.depth == 2
        assert outbox.put_shadow(_shadow(2))  # its call was delivered before: straight on
        learning.gate.set()
        await _drain(outbox)
        await outbox.close(1.0)
        return learning.delivered, learning.batches

    delivered, batches = asyncio.run(scenario())
    assert sorted(delivered) == ["call-1", "shadow:call-1", "shadow:call-2"]
    assert delivered.index("call-1") < delivered.index("shadow:call-1")
    assert ["call-1"] in batches  # the shadow did not travel with (or before) its record


def test_a_late_shadow_is_dropped_with_its_rejected_record(caplog):
    async def scenario():
        learning = Learning(reject={"call-3"})
        learning.gate.clear()
        outbox = Outbox(learning.send, FAST)
        await outbox.start()
        outbox.put(_record(3))
        await asyncio.sleep(0.05)
        outbox.put_shadow(_shadow(3))
        learning.gate.set()
        await _drain(outbox)
        await outbox.close(1.0)
        return learning.sent

    with caplog.at_level(logging.ERROR):
        sent = asyncio.run(scenario())
    assert sent == {"call-3": 1}
    assert "the late shadow vote of call call-3 is dropped with its record" in caplog.text


def test_the_spool_keeps_late_shadows_behind_their_records(tmp_path):
    spool = tmp_path / "spool"

    async def first_process() -> int:
        learning = Learning()
        learning.gate.clear()
        outbox = Outbox(learning.send, FAST, spool)
        await outbox.start()
        outbox.put(_record(5))
        outbox.put_shadow(_shadow(5))
        return await outbox.close(0.2)

    async def second_process() -> list[str]:
        learning = Learning()
        outbox = Outbox(learning.send, FAST, spool)
        await outbox.start()
        await _drain(outbox)
        await outbox.close(1.0)
        return learning.delivered

    assert asyncio.run(first_process()) == 2
    assert {p.suffix for p in spool.iterdir()} == {".record", ".shadow"}
    assert asyncio.run(second_process()) == ["call-5", "shadow:call-5"]
    assert list(spool.iterdir()) == []


class RecordingLearning(learning_pb2_grpc.LearningServicer):
    """RecordCall only, as a learning service older than RecordCalls."""

    def __init__(self) -> None:
        self.requests: list[tuple[learning_pb2.RecordCallRequest, str]] = []

    async def RecordCall(self, request, context):
        rid = dict(context.invocation_metadata()).get("x-request-id", "")
        self.requests.append((request, rid))
        if request.record.call_id == "bad":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "vote for unknown model 'z'")
        return learning_pb2.RecordCallResponse(call_id=request.record.call_id)


class BatchLearning(RecordingLearning):
    """RecordCalls too: refuses "bad" for good, fails "busy" once as a database hiccup."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.busy_once = True

    async def RecordCalls(self, request, context):
        assert request.register_models
        self.batches.append([r.call_id for r in request.records])
        outcomes = []
        for record in request.records:
            if record.call_id == "bad":
                error = voting_pb2.ItemError(code="INVALID_ARGUMENT", message="unknown model 'z'")
                outcomes.append(learning_pb2.RecordCallOutcome(error=error))
            elif record.call_id == "busy" and self.busy_once:
                self.busy_once = False
                error = voting_pb2.ItemError(code="UNAVAILABLE", message="database busy")
                outcomes.append(learning_pb2.RecordCallOutcome(error=error))
            else:
                recorded = learning_pb2.RecordCallResponse(call_id=record.call_id)
                outcomes.append(learning_pb2.RecordCallOutcome(recorded=recorded))
        return learning_pb2.RecordCallsResponse(outcomes=outcomes)


class ShadowLearning(BatchLearning):
    """AttachShadows too: a call it has not recorded is NOT_FOUND."""

    def __init__(self) -> None:
        super().__init__()
        self.shadows: list[str] = []

    async def AttachShadows(self, request, context):
        assert request.register_models
        recorded = {r.record.call_id for r, _ in self.requests} | {
            c for batch in self.batches for c in batch
        }
        outcomes = []
        for shadow in request.shadows:
            if shadow.call_id in recorded:
                self.shadows.append(shadow.call_id)
                attached = learning_pb2.AttachedShadow(call_id=shadow.call_id)
                outcomes.append(learning_pb2.AttachShadowOutcome(attached=attached))
            else:
                error = voting_pb2.ItemError(code="NOT_FOUND", message="no such call")
                outcomes.append(learning_pb2.AttachShadowOutcome(error=error))
        return learning_pb2.AttachShadowsResponse(outcomes=outcomes)


def test_late_shadows_go_to_attachshadows_after_their_records():
    async def scenario():
        port = free_port()
        servicer = ShadowLearning()
        server = await _serve(servicer, port)
        downstreams = _downstreams(port)
        outbox = Outbox(record_sender(downstreams, timeout_s=2.0), FAST)
        await outbox.start()
        try:
            outbox.put(_record(1))
            outbox.put_shadow(_shadow(1))
            outbox.put_shadow(_shadow(8))  # a call learning never had: refused, not retried
            await _drain(outbox, timeout=10)
            await outbox.close(1.0)
        finally:
            await server.stop(None)
            await downstreams.close()
        return servicer.shadows

    assert asyncio.run(scenario()) == ["call-1"]


async def _serve(servicer, port: int) -> grpc.aio.Server:
    server = grpc.aio.server()
    learning_pb2_grpc.add_LearningServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server


def _downstreams(port: int) -> Downstreams:
    settings = load(GatewaySettings, [], {"FREESCALING_LEARNING_ADDR": f"127.0.0.1:{port}"})
    return Downstreams(settings)


def test_delivery_over_grpc_waits_out_a_learning_outage():
    async def scenario():
        port = free_port()
        downstreams = _downstreams(port)
        outbox = Outbox(record_sender(downstreams, timeout_s=2.0), FAST)
        await outbox.start()
        record = _record(7)
        record.request_id = "req-7"
        outbox.put(record)
        await asyncio.sleep(0.3)  # learning is down: attempts fail and are retried
        assert outbox.depth == 1

        servicer = RecordingLearning()
        server = await _serve(servicer, port)
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


def _batch_of(*call_ids: str) -> list[records_pb2.CallRecord]:
    return [records_pb2.CallRecord(call_id=c) for c in call_ids]


def test_batches_go_in_one_recordcalls_with_outcomes_per_record():
    async def scenario():
        port = free_port()
        servicer = BatchLearning()
        server = await _serve(servicer, port)
        downstreams = _downstreams(port)
        outbox = Outbox(
            record_sender(downstreams, timeout_s=2.0),
            OutboxPolicy(senders=1, linger_s=0.05, initial_backoff_s=0.01),
        )
        await outbox.start()
        try:
            for record in _batch_of("a", "bad", "busy", "b"):
                outbox.put(record)
            await _drain(outbox)
            await outbox.close(1.0)
        finally:
            await server.stop(None)
            await downstreams.close()
        # One request for all four; then only the record that failed for a passing reason.
        assert servicer.batches == [["a", "bad", "busy", "b"]]
        assert [r.record.call_id for r, _ in servicer.requests] == ["busy"]

    asyncio.run(scenario())


def test_an_older_learning_without_recordcalls_gets_records_one_by_one():
    async def scenario():
        port = free_port()
        servicer = RecordingLearning()
        server = await _serve(servicer, port)
        downstreams = _downstreams(port)
        send = record_sender(downstreams, timeout_s=2.0, max_bytes=2000)
        try:
            oversized = records_pb2.CallRecord(call_id="huge", question="x" * 3000)
            outcomes = await send([*_batch_of("a", "bad", "b"), oversized])
        finally:
            await server.stop(None)
            await downstreams.close()
        assert outcomes[0] is None and outcomes[2] is None
        assert isinstance(outcomes[1], PermanentError) and "unknown model" in str(outcomes[1])
        assert isinstance(outcomes[3], PermanentError)
        assert "over the 2000-byte message limit" in str(outcomes[3])
        assert [r.record.call_id for r, _ in servicer.requests] == ["a", "bad", "b"]

    asyncio.run(scenario())
