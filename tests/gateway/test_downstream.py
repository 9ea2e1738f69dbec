"""The gateway's plumbing toward the internal services: failures name the downstream, deadlines
never exceed the caller's, readiness follows the required downstreams, request ids travel."""

from __future__ import annotations

import threading

import grpc
import pytest

from freescaling.common.v1 import info_pb2, models_pb2, ratings_pb2
from freescaling.gateway.v1 import gateway_pb2_grpc
from tests.support.held_learning import HeldLearning
from tests.support.processes import ServiceProcess, free_port, wait_for

# gRPC sends a deadline as a `grpc-timeout` header, rounded up in its last unit, and the
# receiving side measures it from its own clock: allow that much over the bound.
TIMEOUT_ROUNDING_S = 0.05


def test_downstream_down_is_unavailable_naming_it_and_readiness_follows(tmp_path):
    ensemble_port, learning_port = free_port(), free_port()
    gateway = ServiceProcess(
        "gateway",
        tmp_path,
        env={
            "FREESCALING_ENSEMBLE_ADDR": f"127.0.0.1:{ensemble_port}",
            "FREESCALING_LEARNING_ADDR": f"127.0.0.1:{learning_port}",
            "FREESCALING_GATEWAY_HEALTH_INTERVAL_S": "0.3",
        },
    )
    gateway.start().wait_serving()
    ensemble = ServiceProcess("ensemble", tmp_path, port=ensemble_port)
    try:
        # Alive, but not ready: its required downstream (the ensemble) is unreachable.
        assert gateway.health("") == "SERVING"
        assert gateway.health(gateway.grpc_name) == "NOT_SERVING"
        stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
        # And says why: which required downstream, where, and what its last check said.
        info = stub.GetInfo(info_pb2.GetInfoRequest(), timeout=5)
        assert not info.ready
        assert info.not_ready_reason.startswith(
            f"the required ensemble service (127.0.0.1:{ensemble_port}) is not serving: UNAVAILABLE"
        )

        with pytest.raises(grpc.RpcError) as err:
            stub.ListModels(models_pb2.ListModelsRequest(), timeout=5)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert (
            f"the ensemble service (127.0.0.1:{ensemble_port}) is unavailable"
            in err.value.details()
        )

        with pytest.raises(grpc.RpcError) as err:
            stub.Rankings(ratings_pb2.RankingsRequest(), timeout=5)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert f"the learning service (127.0.0.1:{learning_port})" in err.value.details()

        # The ensemble comes up on its address: the gateway becomes ready and calls go through.
        ensemble.start().wait_serving()
        gateway.wait_ready(timeout=15)
        listed = stub.ListModels(models_pb2.ListModelsRequest(), timeout=5)
        assert "llama-3.3" in {m.alias for m in listed.models}  # the ensemble's own answer

        # It goes away again: readiness drops, calls are UNAVAILABLE, the gateway lives on.
        assert ensemble.stop() == 0
        wait_for(
            lambda: gateway.health(gateway.grpc_name) == "NOT_SERVING",
            timeout=15,
            what="readiness to drop",
        )
        with pytest.raises(grpc.RpcError) as err:
            stub.ListModels(models_pb2.ListModelsRequest(), timeout=5)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "ensemble" in err.value.details()
    finally:
        ensemble.stop()
        assert gateway.stop() == 0


@pytest.fixture
def held_gateway(tmp_path):
    held = HeldLearning().start()
    gateway = ServiceProcess(
        "gateway",
        tmp_path,
        env={
            "FREESCALING_LEARNING_ADDR": held.address,
            "FREESCALING_GATEWAY_REQUIRED": "",
            "FREESCALING_GATEWAY_DOWNSTREAM_TIMEOUT_S": "3",
        },
    )
    gateway.start().wait_serving()
    yield held, gateway
    held.stop()
    assert gateway.stop() == 0


def test_downstream_deadline_is_never_longer_than_the_callers(held_gateway):
    held, gateway = held_gateway
    stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
    with pytest.raises(grpc.RpcError) as err:
        stub.Rankings(ratings_pb2.RankingsRequest(), timeout=1.0)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert held.seen[0].time_remaining is not None
    assert held.seen[0].time_remaining <= 1.0 + TIMEOUT_ROUNDING_S


def test_downstream_timeout_caps_calls_without_a_deadline_and_names_the_service(held_gateway):
    held, gateway = held_gateway
    stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
    with pytest.raises(grpc.RpcError) as err:
        stub.Rankings(ratings_pb2.RankingsRequest())  # no deadline from the caller
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert f"the learning service ({held.address}) did not answer within" in err.value.details()
    assert "gateway's downstream timeout" in err.value.details()
    assert held.seen[0].time_remaining <= 3.0 + TIMEOUT_ROUNDING_S


def test_request_id_travels_downstream_back_to_the_caller_and_into_logs(held_gateway):
    held, gateway = held_gateway
    held.release.set()
    stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
    reply, call = stub.Rankings.with_call(
        ratings_pb2.RankingsRequest(), timeout=5, metadata=(("x-request-id", "req-42"),)
    )
    assert reply.ratings[0].model == "held"
    assert held.seen[0].metadata["x-request-id"] == "req-42"
    assert ("x-request-id", "req-42") in tuple(call.trailing_metadata())

    def logged():
        return [
            r
            for r in gateway.log_records()
            if r.get("request_id") == "req-42" and r.get("rpc", "").endswith("/Rankings")
        ]

    (line,) = wait_for(logged, what="the access log line")
    assert line["code"] == "OK"
    assert line["service"] == "gateway"


def test_a_request_id_is_made_when_the_caller_sends_none(held_gateway):
    held, gateway = held_gateway
    held.release.set()
    stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
    _, call = stub.Rankings.with_call(ratings_pb2.RankingsRequest(), timeout=5)
    (made,) = [v for k, v in call.trailing_metadata() if k == "x-request-id"]
    assert len(made) == 32
    assert held.seen[0].metadata["x-request-id"] == made


def test_concurrent_callers_keep_their_own_request_ids(held_gateway):
    held, gateway = held_gateway
    held.release.set()
    stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
    echoed: dict[str, str] = {}

    def call(rid: str) -> None:
        _, c = stub.Rankings.with_call(
            ratings_pb2.RankingsRequest(), timeout=5, metadata=(("x-request-id", rid),)
        )
        echoed[rid] = dict(c.trailing_metadata())["x-request-id"]

    threads = [threading.Thread(target=call, args=(f"r{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert echoed == {f"r{i}": f"r{i}" for i in range(8)}
    assert sorted(s.metadata["x-request-id"] for s in held.seen) == sorted(echoed)
