"""Access to the gateway: optional API keys (health and reflection stay open), UNAUTHENTICATED
with a clear message otherwise, a per-key concurrency limit, and keys never in the logs."""

from __future__ import annotations

import threading

import grpc
import pytest

from freescaling.common.v1 import info_pb2, ratings_pb2
from freescaling.gateway.v1 import gateway_pb2_grpc
from tests.support.grpcurl import Grpcurl
from tests.support.held_learning import HeldLearning
from tests.support.processes import ServiceProcess

INLINE_KEY = "fs-inline-4242-secret"
FILE_KEY = "fs-file-7777-secret"


@pytest.fixture(scope="module")
def held():
    learning = HeldLearning().start()
    yield learning
    learning.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, held):
    workdir = tmp_path_factory.mktemp("access")
    key_file = workdir / "keys.txt"
    key_file.write_text(f"# team keys\nanalytics:{FILE_KEY}\n\n")
    service = ServiceProcess(
        "gateway",
        workdir,
        env={
            "FREESCALING_GATEWAY_API_KEYS": INLINE_KEY,
            "FREESCALING_GATEWAY_API_KEYS_FILE": str(key_file),
            "FREESCALING_GATEWAY_KEY_CONCURRENCY": "1",
            "FREESCALING_LEARNING_ADDR": held.address,
            "FREESCALING_GATEWAY_REQUIRED": "",
        },
    )
    service.start().wait_serving()
    yield service
    assert service.stop() == 0
    log = service.log_text()
    assert INLINE_KEY not in log and FILE_KEY not in log


def _info(gateway, key: str | None):
    stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
    metadata = (("authorization", f"Bearer {key}"),) if key is not None else ()
    return stub.GetInfo(info_pb2.GetInfoRequest(), timeout=5, metadata=metadata)


def test_without_a_key_the_call_is_unauthenticated_and_says_how(gateway):
    with pytest.raises(grpc.RpcError) as err:
        _info(gateway, None)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "authorization: Bearer <your key>" in err.value.details()


def test_a_wrong_key_is_unauthenticated(gateway):
    with pytest.raises(grpc.RpcError) as err:
        _info(gateway, "not-a-key")
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "not valid" in err.value.details()
    assert "not-a-key" not in err.value.details()


@pytest.mark.parametrize("key", [INLINE_KEY, FILE_KEY])
def test_keys_from_the_environment_and_the_file_are_accepted(gateway, key):
    info = _info(gateway, key)
    assert info.service == "gateway"
    assert info.settings["api_keys"] == "(set)"
    assert INLINE_KEY not in str(info)


def test_health_and_reflection_need_no_key(gateway):
    assert gateway.health("") == "SERVING"
    assert "freescaling.gateway.v1.Gateway" in Grpcurl(gateway.channel()).list()


def test_per_key_concurrency_limit(gateway, held):
    held.release.clear()
    stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
    first: dict[str, object] = {}

    def hold() -> None:
        first["reply"] = stub.Rankings(
            ratings_pb2.RankingsRequest(),
            timeout=20,
            metadata=(("authorization", f"Bearer {INLINE_KEY}"),),
        )

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait_arrivals(1)
    try:
        with pytest.raises(grpc.RpcError) as err:
            _info(gateway, INLINE_KEY)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "too many concurrent calls for this API key (1 at most" in err.value.details()
        assert _info(gateway, FILE_KEY).service == "gateway"  # another key is not affected
    finally:
        held.release.set()
        holder.join(10)
    assert first["reply"].ratings[0].model == "held"
    assert _info(gateway, INLINE_KEY).service == "gateway"  # the slot was given back


def test_an_unreadable_key_file_stops_the_gateway_with_a_clear_message(tmp_path):
    service = ServiceProcess(
        "gateway", tmp_path, env={"FREESCALING_GATEWAY_API_KEYS_FILE": str(tmp_path / "nope")}
    )
    service.start()
    assert service.wait_exit(timeout=30) == 2
    assert "cannot read FREESCALING_GATEWAY_API_KEYS_FILE" in service.log_text()
