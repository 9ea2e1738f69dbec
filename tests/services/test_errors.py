"""Bad input at the serving layer: unknown methods are UNIMPLEMENTED, oversized messages and too
many concurrent RPCs are RESOURCE_EXHAUSTED, and nothing dies. (What is not built says so:
tests/common/test_capabilities.py.)"""

from __future__ import annotations

import threading

import grpc
import pytest

from freescaling.common.v1 import ratings_pb2, records_pb2, voting_pb2
from freescaling.gateway.v1 import gateway_pb2_grpc
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc
from tests.support.held_learning import HeldLearning
from tests.support.processes import ServiceProcess


def test_gateway_passes_the_downstream_verdict_through(stack):
    stub = gateway_pb2_grpc.GatewayStub(stack.gateway.channel())
    with pytest.raises(grpc.RpcError) as err:
        stub.Feedback(ratings_pb2.FeedbackRequest(call_id="no-such-call", reaction="👍"), timeout=5)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no call with call_id 'no-such-call' is recorded" in err.value.details()


@pytest.mark.parametrize("path", ["/freescaling.gateway.v1.Gateway/NoSuchMethod", "/no.Such/Thing"])
def test_unknown_method_is_unimplemented(stack, path):
    call = stack.gateway.channel().unary_unary(path)
    with pytest.raises(grpc.RpcError) as err:
        call(b"", timeout=5)
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert stack.gateway.health("") == "SERVING"


def test_oversized_message_is_resource_exhausted_and_the_service_lives(tmp_path):
    learning = ServiceProcess("learning", tmp_path, env={"FREESCALING_MAX_MESSAGE_MB": "1"})
    learning.start().wait_serving()
    try:
        stub = learning_pb2_grpc.LearningStub(learning.channel())
        big = records_pb2.CallRecord(call_id="big", question="x" * (2 * 1024 * 1024))
        with pytest.raises(grpc.RpcError) as err:
            stub.RecordCall(learning_pb2.RecordCallRequest(record=big), timeout=5)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert learning.health("") == "SERVING"
        small = records_pb2.CallRecord(
            call_id="small",
            kind=records_pb2.CALL_KIND_SCALE,
            outcome=voting_pb2.SCALE_OUTCOME_MAJORITY,
        )
        reply = stub.RecordCall(learning_pb2.RecordCallRequest(record=small), timeout=5)
        assert (reply.call_id, reply.duplicate) == ("small", False)
    finally:
        assert learning.stop() == 0


def test_concurrency_cap_is_resource_exhausted(tmp_path):
    held = HeldLearning().start()
    gateway = ServiceProcess(
        "gateway",
        tmp_path,
        env={
            "FREESCALING_LEARNING_ADDR": held.address,
            "FREESCALING_GATEWAY_REQUIRED": "",
            "FREESCALING_MAX_CONCURRENT_RPCS": "2",
        },
    )
    gateway.start().wait_serving()
    results: list[object] = []
    try:
        stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
        calls = [
            threading.Thread(
                target=lambda: results.append(
                    stub.Rankings(ratings_pb2.RankingsRequest(), timeout=20)
                )
            )
            for _ in range(2)
        ]
        for call in calls:
            call.start()
        held.wait_arrivals(2)
        with pytest.raises(grpc.RpcError) as err:
            stub.Rankings(ratings_pb2.RankingsRequest(), timeout=5)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        held.release.set()
        for call in calls:
            call.join(10)
        assert [r.ratings[0].model for r in results] == ["held", "held"]
    finally:
        held.stop()
        assert gateway.stop() == 0
