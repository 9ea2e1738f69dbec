"""SIGTERM/SIGINT: health goes NOT_SERVING, in-flight RPCs finish within the grace period, new
ones are refused, and the process exits 0."""

from __future__ import annotations

import signal
import threading

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from freescaling.common.v1 import info_pb2, ratings_pb2
from freescaling.gateway.v1 import gateway_pb2_grpc
from tests.support.held_learning import HeldLearning
from tests.support.processes import ServiceProcess, wait_for


@pytest.mark.parametrize("name", ["gateway", "classifier", "ensemble", "learning"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_idle_service_exits_zero_on_signal(request, tmp_path, name, sig):
    if name == "classifier":
        request.getfixturevalue("classifier_checkpoint")  # what the classifier loads
    service = ServiceProcess(name, tmp_path, env={"FREESCALING_GATEWAY_REQUIRED": ""})
    service.start().wait_serving()
    service.send(sig)
    assert service.wait_exit(timeout=15) == 0
    assert any("stopped" in r["message"] for r in service.log_records())


def _gateway_in_front_of(held: HeldLearning, tmp_path, grace_s: str) -> ServiceProcess:
    gateway = ServiceProcess(
        "gateway",
        tmp_path,
        env={
            "FREESCALING_LEARNING_ADDR": held.address,
            "FREESCALING_GATEWAY_REQUIRED": "",
            "FREESCALING_GRACE_S": grace_s,
        },
    )
    return gateway.start().wait_serving().wait_ready()


def test_sigterm_drains_in_flight_rpcs_and_refuses_new_ones(tmp_path):
    held = HeldLearning().start()
    gateway = _gateway_in_front_of(held, tmp_path, grace_s="20")
    try:
        stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
        watch = health_pb2_grpc.HealthStub(gateway.channel()).Watch(
            health_pb2.HealthCheckRequest(service=gateway.grpc_name), timeout=30
        )
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        outcome: dict[str, object] = {}

        def in_flight() -> None:
            try:
                outcome["reply"] = stub.Rankings(ratings_pb2.RankingsRequest(), timeout=30)
            except grpc.RpcError as exc:
                outcome["error"] = exc

        caller = threading.Thread(target=in_flight)
        caller.start()
        held.wait_arrivals(1)

        gateway.send(signal.SIGTERM)
        # Health turns NOT_SERVING for watchers...
        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING

        # ...new RPCs are refused while the in-flight one is still held downstream...
        def refused() -> bool:
            try:
                stub.GetInfo(info_pb2.GetInfoRequest(), timeout=2)
            except grpc.RpcError as exc:
                return exc.code() == grpc.StatusCode.UNAVAILABLE
            return False

        wait_for(refused, timeout=10, what="new RPCs to be refused")
        assert gateway.process.poll() is None

        # ...and the in-flight RPC completes normally once its downstream answers.
        held.release.set()
        caller.join(15)
        assert "error" not in outcome, outcome.get("error")
        assert outcome["reply"].ratings[0].model == "held"
        assert gateway.wait_exit(timeout=15) == 0
    finally:
        held.stop()
        gateway.stop()


def test_grace_period_bounds_the_drain(tmp_path):
    held = HeldLearning(hold_s=60).start()
    gateway = _gateway_in_front_of(held, tmp_path, grace_s="0.5")
    try:
        stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
        outcome: dict[str, grpc.RpcError] = {}

        def stuck() -> None:
            try:
                stub.Rankings(ratings_pb2.RankingsRequest(), timeout=60)
            except grpc.RpcError as exc:
                outcome["error"] = exc

        caller = threading.Thread(target=stuck)
        caller.start()
        held.wait_arrivals(1)
        gateway.send(signal.SIGTERM)
        # The process does not wait for the stuck call beyond its grace: it exits 0.
        assert gateway.wait_exit(timeout=15) == 0
        caller.join(15)
        assert outcome["error"].code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
    finally:
        held.stop()
