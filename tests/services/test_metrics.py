"""Prometheus metrics on every service: RPC counts by method and code, errors, latency."""

from __future__ import annotations

import grpc
import pytest

from freescaling.common.v1 import info_pb2
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc
from tests.support.metrics import scrape
from tests.support.processes import ServiceProcess


@pytest.fixture(scope="module")
def learning(tmp_path_factory):
    service = ServiceProcess("learning", tmp_path_factory.mktemp("metrics"))
    service.start().wait_serving()
    yield service
    assert service.stop() == 0


def test_rpcs_are_counted_by_method_and_code(learning):
    stub = learning_pb2_grpc.LearningStub(learning.channel())
    for _ in range(2):
        stub.GetInfo(info_pb2.GetInfoRequest(), timeout=5)
    with pytest.raises(grpc.RpcError):
        stub.GetCall(learning_pb2.GetCallRequest(call_id="x"), timeout=5)

    samples = scrape(learning)
    info = 'method="/freescaling.learning.v1.Learning/GetInfo"'
    get_call = 'method="/freescaling.learning.v1.Learning/GetCall"'
    assert samples[f'freescaling_rpc_requests_total{{code="OK",{info}}}'] == 2
    assert samples[f"freescaling_rpc_duration_seconds_count{{{info}}}"] == 2
    assert not any(k.startswith("freescaling_rpc_errors_total") and info in k for k in samples)
    (code,) = [k for k in samples if k.startswith("freescaling_rpc_errors_total") and get_call in k]
    assert samples[code] == 1
    assert samples["freescaling_rpcs_in_flight"] == 0


def test_every_service_of_the_stack_serves_metrics(stack):
    for service in stack.all:
        samples = scrape(service)
        assert any(k.startswith("freescaling_rpc_requests_total") for k in samples), service.name


def test_a_taken_metrics_port_stops_the_process_with_a_clear_message(tmp_path):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        service = ServiceProcess("ensemble", tmp_path, env={"FREESCALING_METRICS_PORT": str(taken)})
        service.start()
        assert service.wait_exit(timeout=30) == 2
    assert f"ensemble cannot serve metrics on 127.0.0.1:{taken}" in service.log_text()
    assert "FREESCALING_METRICS_PORT" in service.log_text()
