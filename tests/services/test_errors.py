"""Bad input at the serving layer: what is not built says so, unknown methods are UNIMPLEMENTED,
oversized messages and too many concurrent RPCs are RESOURCE_EXHAUSTED, and nothing dies."""

from __future__ import annotations

import threading

import grpc
import pytest

from freescaling.classifier.v1 import classifier_pb2
from freescaling.common.v1 import ratings_pb2, records_pb2, voting_pb2
from freescaling.ensemble.v1 import ensemble_pb2
from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc
from services.classifier.servicer import NOT_BUILT as CLASSIFIER_NOT_BUILT
from services.ensemble.servicer import NOT_BUILT as ENSEMBLE_NOT_BUILT
from services.gateway.servicer import NOT_BUILT as GATEWAY_NOT_BUILT
from services.learning.servicer import NOT_BUILT as LEARNING_NOT_BUILT
from tests.support.held_learning import HeldLearning
from tests.support.processes import ServiceProcess

UNBUILT = [
    ("gateway", gateway_pb2, "Gateway", GATEWAY_NOT_BUILT),
    ("classifier", classifier_pb2, "Classifier", CLASSIFIER_NOT_BUILT),
    ("ensemble", ensemble_pb2, "Ensemble", ENSEMBLE_NOT_BUILT),
    ("learning", learning_pb2, "Learning", LEARNING_NOT_BUILT),
]
CASES = [
    pytest.param(name, module, service, method, id=f"{name}-{method}")
    for name, module, service, not_built in UNBUILT
    for method in sorted(not_built)
]


def _invoke(channel, method_desc, request, timeout=5):
    path = f"/{method_desc.containing_service.full_name}/{method_desc.name}"
    # Raw bytes both ways: the empty request is the all-defaults message of any type.
    kwargs = {}
    if method_desc.server_streaming:
        return list(channel.unary_stream(path, **kwargs)(request, timeout=timeout))
    return channel.unary_unary(path, **kwargs)(request, timeout=timeout)


@pytest.mark.parametrize(("name", "module", "service", "method"), CASES)
def test_unbuilt_rpcs_answer_unimplemented_and_say_so(stack, name, module, service, method):
    process = stack.gateway if name == "gateway" else getattr(stack, name)
    desc = module.DESCRIPTOR.services_by_name[service].methods_by_name[method]
    with pytest.raises(grpc.RpcError) as err:
        _invoke(process.channel(), desc, b"")
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert f"{desc.containing_service.full_name}/{method} is not built yet" in err.value.details()


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
