"""Server reflection is enough to use every service as grpcurl does: list, describe, call."""

from __future__ import annotations

import json

import pytest

from tests.support.grpcurl import Grpcurl

BASE = {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}


@pytest.mark.parametrize("name", ["gateway", "classifier", "ensemble", "learning"])
def test_list_shows_the_service_health_and_reflection(stack, name):
    service = stack.gateway if name == "gateway" else getattr(stack, name)
    assert set(Grpcurl(service.channel()).list()) == BASE | {service.grpc_name}


def test_gateway_getinfo_from_json_through_reflection(stack):
    curl = Grpcurl(stack.gateway.channel())
    method = curl.describe("freescaling.gateway.v1.Gateway/GetInfo")
    assert method.input_type.full_name == "freescaling.common.v1.GetInfoRequest"
    assert method.output_type.full_name == "freescaling.common.v1.ServiceInfo"

    info = json.loads(
        curl.invoke("freescaling.gateway.v1.Gateway/GetInfo", '{"probeDownstreams": true}')
    )

    assert info["service"] == "gateway"
    assert info["grpcService"] == "freescaling.gateway.v1.Gateway"
    assert info["ready"] is True
    by_name = {d["name"]: d for d in info["downstreams"]}
    assert set(by_name) == {"classifier", "ensemble", "learning"}
    assert all(d["serving"] for d in by_name.values())
    assert by_name["ensemble"]["required"] is True
    assert by_name["ensemble"]["target"] == stack.ensemble.address
    capabilities = {c["method"].split("/")[1]: c for c in info["capabilities"]}
    assert capabilities["Rankings"]["built"] is True
    assert all(c.get("built", False) for c in capabilities.values())
    assert info["settings"]["port"] == "0"


def test_describe_resolves_nested_and_imported_types(stack):
    curl = Grpcurl(stack.gateway.channel())
    scale = curl.describe("freescaling.gateway.v1.Gateway.Scale")
    result = scale.output_type.fields_by_name["result"].message_type
    assert result.full_name == "freescaling.common.v1.ScaleResult"
    assert "votes" in result.fields_by_name
    chat = curl.describe("freescaling.gateway.v1.Gateway/Chat")
    assert chat.server_streaming


def test_internal_service_getinfo_and_health_through_reflection(stack):
    curl = Grpcurl(stack.learning.channel())
    info = json.loads(curl.invoke("freescaling.learning.v1.Learning/GetInfo", "{}"))
    assert info["service"] == "learning"
    assert info["ready"] is True
    assert any(c["method"].endswith("/RecordCall") for c in info["capabilities"])
    health = json.loads(curl.invoke("grpc.health.v1.Health/Check", '{"service": ""}'))
    assert health == {"status": "SERVING"}
