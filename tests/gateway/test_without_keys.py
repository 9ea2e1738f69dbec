"""The first hour without a provider key: the ensemble is alive but not ready, and the gateway
says why in its own words and the ensemble's (not "backend unhealthy"), while every read-only
call (models, panels, rankings, stats, /v1/models) answers, the keyless models listed as
unavailable with what to set; a call that needs a provider is refused naming the variable."""

from __future__ import annotations

import json
import urllib.request

import grpc
import pytest

from freescaling.common.v1 import info_pb2, models_pb2, ratings_pb2, records_pb2
from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from tests.support.processes import ServiceProcess

NO_KEY = {
    "NVIDIA_API_KEY": "",
    "NVIDIA_NIM_API_KEY": "",
    "FREESCALING_ENSEMBLE_REQUIRE_KEYS": "true",
}


@pytest.fixture(scope="module")
def keyless(tmp_path_factory):
    root = tmp_path_factory.mktemp("keyless")
    learning = ServiceProcess("learning", root).start()
    ensemble = ServiceProcess("ensemble", root, env=NO_KEY).start()
    for service in (learning, ensemble):
        service.wait_serving(timeout=60)
    gateway = ServiceProcess(
        "gateway",
        root,
        env={
            "FREESCALING_ENSEMBLE_ADDR": ensemble.address,
            "FREESCALING_LEARNING_ADDR": learning.address,
            # No classifier here: reads never need it.
            "FREESCALING_GATEWAY_HEALTH_INTERVAL_S": "0.3",
        },
    )
    gateway.start().wait_serving()
    yield gateway, ensemble
    for service in (gateway, ensemble, learning):
        assert service.stop() == 0


def test_the_gateway_is_not_ready_and_carries_the_ensembles_own_reason(keyless):
    gateway, ensemble = keyless
    assert ensemble.health(ensemble.grpc_name) == "NOT_SERVING"
    stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
    info = stub.GetInfo(info_pb2.GetInfoRequest(probe_downstreams=True), timeout=10)
    assert not info.ready
    assert info.not_ready_reason.startswith(
        f"the required ensemble service ({ensemble.address}) is not serving: no NVIDIA_API_KEY: "
        "export it (a free key at build.nvidia.com), or point FREESCALING_ENSEMBLE_API_BASE at "
        "an OpenAI-compatible server"
    )
    assert "backend unhealthy" not in info.not_ready_reason
    (down,) = [d for d in info.downstreams if d.name == "ensemble"]
    assert not down.serving and down.detail.startswith("no NVIDIA_API_KEY")


def test_read_only_calls_answer_without_a_key(keyless):
    gateway, _ = keyless
    stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
    models = {
        m.alias: m for m in stub.ListModels(models_pb2.ListModelsRequest(), timeout=10).models
    }
    assert models["llama-3.3"].unavailable
    assert "set NVIDIA_API_KEY" in models["llama-3.3"].unavailable_reason
    panels = stub.ListPanels(models_pb2.ListPanelsRequest(), timeout=10).panels
    assert panels[0].name == "default-k1" and "too few models can be called" in panels[0].reason
    stub.Rankings(ratings_pb2.RankingsRequest(), timeout=10)
    stub.Stats(records_pb2.StatsRequest(), timeout=10)
    with urllib.request.urlopen(f"{gateway.http_url()}/v1/models", timeout=10) as reply:
        listed = {m["id"]: m for m in json.loads(reply.read())["data"]}
    llama = listed["llama-3.3"]["freescaling"]
    assert llama["available"] is False and "NVIDIA_API_KEY" in llama["unavailable_reason"]


def test_a_call_that_needs_a_provider_is_refused_naming_the_variable(keyless):
    gateway, ensemble = keyless
    stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
    with pytest.raises(grpc.RpcError) as err:
        stub.Scale(
            gateway_pb2.ScaleRequest(question="Is 7 prime?", k=3, answer_patterns=["YES", "NO"]),
            timeout=10,
        )
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert err.value.details().startswith(
        f"the ensemble service ({ensemble.address}) is not ready: no NVIDIA_API_KEY: export it"
    )
