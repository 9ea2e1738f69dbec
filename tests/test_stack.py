"""`make run`'s launcher: four processes up and SERVING, logs prefixed by service, Ctrl-C stops
them all cleanly, a taken port is a clear message and a non-zero exit, and without a provider
key it says what is not ready, why and what to do, never that all is up."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.processes import GRPC_NAMES, ROOT, free_port, free_service_port, wait_for

NAMES = ("gateway", "classifier", "ensemble", "learning")


def _ports() -> dict[str, int]:
    """Free ports for the four services (their metrics' ports + 1000 too) and the gateway's HTTP
    API (gateway_http)."""
    return {**{n: free_service_port() for n in NAMES}, "gateway_http": free_port()}


def _launch(
    tmp_path, ports: dict[str, int], **extra: str
) -> tuple[subprocess.Popen, list[str], threading.Thread]:
    env = {**os.environ, "FREESCALING_HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1"}
    # No provider key here: the ensemble would (rightly) not be ready without this opt-out.
    env["FREESCALING_ENSEMBLE_REQUIRE_KEYS"] = "false"
    env.update({f"FREESCALING_{n.upper()}_PORT": str(p) for n, p in ports.items()})
    env.update(extra)
    process = subprocess.Popen(
        [sys.executable, "-m", "services.stack", "--data-dir", str(tmp_path / "data")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        lines.extend(process.stdout)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return process, lines, reader


def _status(port: int, service: str) -> str:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=2
            )
        except grpc.RpcError as exc:
            return exc.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def test_run_brings_all_four_up_and_ctrl_c_stops_them_cleanly(tmp_path, classifier_checkpoint):
    ports = _ports()
    process, lines, reader = _launch(tmp_path, ports)
    try:
        wait_for(
            lambda: any("all four services are up and ready" in line for line in lines),
            timeout=90,
            what="the launcher to report the services up",
        )
        for name in NAMES:
            assert _status(ports[name], "") == "SERVING"
            # The classifier is live at once and ready once its model has loaded.
            wait_for(
                lambda name=name: _status(ports[name], GRPC_NAMES[name]) == "SERVING",
                timeout=90,
                what=f"{name} readiness",
            )
        assert (tmp_path / "data").is_dir()
        # The gateway's outbox spools there by default (a crash loses no pending record:
        # tests/e2e/test_resilience.py kills a gateway with records pending).
        assert (tmp_path / "data" / "outbox").is_dir()
        url = f"http://127.0.0.1:{ports['gateway_http']}/v1"
        assert any(f"OpenAI-compatible HTTP API at {url}" in line for line in lines)
        with urllib.request.urlopen(f"{url}/models/auto", timeout=10) as reply:
            assert json.loads(reply.read())["id"] == "auto"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(10)
    output = "".join(lines)
    assert "all services stopped cleanly" in output
    for name in NAMES:
        assert any(line.startswith(f"{name:<10} | ") for line in lines), name
        assert f"{name} stopped" in output
        assert _status(ports[name], "") == "UNAVAILABLE"


def test_run_refuses_a_taken_port_with_a_clear_message(tmp_path):
    ports = _ports()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports["classifier"]))
        holder.listen()
        process, lines, reader = _launch(tmp_path, ports)
        assert process.wait(timeout=30) == 1
    reader.join(10)
    output = "".join(lines)
    assert f"port {ports['classifier']} (classifier) on 127.0.0.1 is already in use" in output
    assert "FREESCALING_CLASSIFIER_PORT" in output
    # Nothing was started.
    assert _status(ports["gateway"], "") == "UNAVAILABLE"


def test_run_without_a_key_says_what_is_not_ready_why_and_what_to_do(
    tmp_path, classifier_checkpoint
):
    """A fresh clone's first `make run`, with no provider key: it never says everything is up;
    it names the ensemble's reason and fix in one line, says the gateway waits for it, and the
    read-only calls answer meanwhile."""
    ports = _ports()
    process, lines, reader = _launch(
        tmp_path,
        ports,
        NVIDIA_API_KEY="",
        NVIDIA_NIM_API_KEY="",
        FREESCALING_ENSEMBLE_REQUIRE_KEYS="true",
    )
    try:
        wait_for(
            lambda: any("make run: services started" in line for line in lines),
            timeout=110,
            what="the launcher's readiness report",
        )
        output = "".join(lines)
        assert "all four services are up" not in output
        (ensemble,) = [line for line in lines if line.startswith("make run: ensemble not ready")]
        assert ensemble.startswith(
            "make run: ensemble not ready: no NVIDIA_API_KEY: export it (a free key at "
            "build.nvidia.com), or point FREESCALING_ENSEMBLE_API_BASE at an OpenAI-compatible "
            "server"
        )
        assert "make run: gateway not ready until the ensemble is: read-only calls" in output
        assert "`make try`" in output
        (ready,) = [line for line in lines if line.startswith("make run: up and ready:")]
        assert f"learning 127.0.0.1:{ports['learning']}" in ready and "ensemble" not in ready
        url = f"http://127.0.0.1:{ports['gateway_http']}/v1/models"
        with urllib.request.urlopen(url, timeout=10) as reply:
            listed = {m["id"]: m for m in json.loads(reply.read())["data"]}
        assert listed["llama-3.3"]["freescaling"]["available"] is False
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(10)
