"""grpc.health.v1 on every service: liveness ("") and readiness (the service's full name)."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVICES = ["gateway", "classifier", "ensemble", "learning"]


def _service(stack, name):
    return stack.gateway if name == "gateway" else getattr(stack, name)


@pytest.mark.parametrize("name", SERVICES)
def test_liveness_and_readiness_are_serving(stack, name):
    service = _service(stack, name)
    assert service.health("") == "SERVING"
    assert service.health(service.grpc_name) == "SERVING"


@pytest.mark.parametrize("name", SERVICES)
def test_unknown_health_name_is_not_found(stack, name):
    assert _service(stack, name).health("no.such.Service") == "NOT_FOUND"


def test_watch_streams_the_current_status(stack):
    stub = health_pb2_grpc.HealthStub(stack.gateway.channel())
    call = stub.Watch(health_pb2.HealthCheckRequest(service=stack.gateway.grpc_name), timeout=5)
    first = next(call)
    call.cancel()
    assert first.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as err:
        next(call)
    assert err.value.code() == grpc.StatusCode.CANCELLED
