"""The gateway balances over every ready replica behind one target: two ensemble processes
behind one name both get calls, a replica that is alive but not ready gets none, and a replica
that goes away leaves the calls to the others.

In Kubernetes the name is a headless Service (`dns:///ensemble:50053`) that resolves to
every ready pod's address; here it is gRPC's static `ipv4:` list of loopback addresses, which
hands the same list of addresses to the same `round_robin` policy (a DNS name with several
loopback addresses would need an edited /etc/hosts)."""

from __future__ import annotations

import time

import pytest

from freescaling.common.v1 import models_pb2
from freescaling.gateway.v1 import gateway_pb2_grpc
from tests.support.metrics import scrape, total
from tests.support.processes import ServiceProcess

LIST_MODELS = "/freescaling.ensemble.v1.Ensemble/ListModels"
CALLS = 30


def _ensemble(workdir, **env: str) -> ServiceProcess:
    return ServiceProcess("ensemble", workdir, env=env).start().wait_serving(timeout=60)


def _served(replica: ServiceProcess) -> float:
    return total(scrape(replica), "freescaling_rpc_requests_total", method=LIST_MODELS)


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    root = tmp_path_factory.mktemp("balancing")
    ready = [_ensemble(root / f"ready{i}").wait_ready() for i in range(2)]
    # Alive and listening, but NOT_SERVING: no provider key, and keys are required.
    keyless = _ensemble(
        root / "keyless",
        NVIDIA_API_KEY="",
        NVIDIA_NIM_API_KEY="",
        FREESCALING_ENSEMBLE_REQUIRE_KEYS="true",
    )
    assert keyless.health(keyless.grpc_name) == "NOT_SERVING"
    members = [*ready, keyless]
    gateway = ServiceProcess(
        "gateway",
        root,
        env={
            "FREESCALING_ENSEMBLE_ADDR": "ipv4:" + ",".join(m.address for m in members),
            "FREESCALING_GATEWAY_REQUIRED": "ensemble",
            "FREESCALING_GATEWAY_HEALTH_INTERVAL_S": "0.3",
        },
    )
    gateway.start().wait_serving().wait_ready()
    yield gateway, ready, keyless
    for service in (gateway, *members):
        service.stop()


def test_every_ready_replica_gets_calls_and_a_not_ready_one_none(replicas):
    gateway, ready, keyless = replicas
    before = [_served(r) for r in (*ready, keyless)]
    stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
    for _ in range(CALLS):
        assert stub.ListModels(models_pb2.ListModelsRequest(), timeout=5).models
    served = [_served(r) - b for r, b in zip((*ready, keyless), before, strict=True)]
    assert sum(served) == CALLS
    # round_robin alternates between the two ready subchannels: an even split, give or take
    # the call that was in flight while a subchannel became ready.
    assert served[0] >= CALLS // 2 - 2 and served[1] >= CALLS // 2 - 2, served
    assert served[2] == 0, "the replica that is not ready got calls"


def test_calls_go_on_when_a_replica_goes_away(replicas):
    gateway, ready, _ = replicas
    assert ready[1].stop() == 0
    before = _served(ready[0])
    stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
    for _ in range(10):
        assert stub.ListModels(models_pb2.ListModelsRequest(), timeout=5).models
    assert _served(ready[0]) - before == 10
    assert gateway.health(gateway.grpc_name) == "SERVING"


def test_readiness_holds_while_one_replica_is_ready_and_another_is_not(replicas):
    # The gateway checks readiness over the ready channel: a replica that is alive but not
    # ready (keyless) must not answer for the pool and flap the gateway's readiness.
    gateway, _, _ = replicas
    seen = []
    for _ in range(12):  # four health intervals of 0.3 s
        seen.append(gateway.health(gateway.grpc_name))
        time.sleep(0.1)
    assert set(seen) == {"SERVING"}, seen
