"""Optional TLS on a service's port (FREESCALING_TLS_CERT / FREESCALING_TLS_KEY)."""

from __future__ import annotations

import subprocess

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from freescaling.common.v1 import info_pb2
from freescaling.learning.v1 import learning_pb2_grpc
from tests.support.processes import ServiceProcess


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


def test_tls_port_serves_tls_clients_and_refuses_plaintext(tmp_path, certificate):
    cert, key = certificate
    service = ServiceProcess(
        "learning",
        tmp_path,
        env={"FREESCALING_TLS_CERT": str(cert), "FREESCALING_TLS_KEY": str(key)},
    )
    service.start().wait_serving()
    try:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(service.address, credentials) as channel:
            info = learning_pb2_grpc.LearningStub(channel).GetInfo(
                info_pb2.GetInfoRequest(), timeout=5
            )
            assert info.service == "learning"
        with grpc.insecure_channel(service.address) as plain:
            with pytest.raises(grpc.RpcError) as err:
                health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(), timeout=3)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        assert service.stop() == 0


def test_a_certificate_without_its_key_is_a_bad_setting(tmp_path, certificate):
    cert, _ = certificate
    service = ServiceProcess("learning", tmp_path, env={"FREESCALING_TLS_CERT": str(cert)})
    service.start()
    assert service.wait_exit(timeout=30) == 2
    assert "FREESCALING_TLS_CERT and FREESCALING_TLS_KEY go together" in service.log_text()


def test_the_gateways_http_api_serves_https_with_the_same_certificate(tmp_path, certificate):
    import ssl

    import httpx

    cert, key = certificate
    service = ServiceProcess(
        "gateway",
        tmp_path,
        env={
            "FREESCALING_TLS_CERT": str(cert),
            "FREESCALING_TLS_KEY": str(key),
            "FREESCALING_GATEWAY_REQUIRED": "",
        },
    )
    service.start().wait_serving()
    try:
        url = service.http_url().replace("http://", "https://")
        served = next(r for r in service.log_records() if "serving on" in r.get("message", ""))
        assert f"HTTP API: https://127.0.0.1:{served['http_port']}" in served["message"]
        trusted = ssl.create_default_context(cafile=str(cert))
        reply = httpx.get(f"{url}/v1/models/auto", verify=trusted, timeout=10)
        assert reply.status_code == 200 and reply.json()["id"] == "auto"
        with pytest.raises(httpx.HTTPError):
            httpx.get(url.replace("https://", "http://") + "/v1/models/auto", timeout=5)
    finally:
        assert service.stop() == 0
