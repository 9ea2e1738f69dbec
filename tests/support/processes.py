"""Real service processes for tests: `python -m services.<name>` on an ephemeral loopback port,
its log captured to a file, stopped by the signals Kubernetes and people use."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
GRPC_NAMES = {
    "gateway": "freescaling.gateway.v1.Gateway",
    "classifier": "freescaling.classifier.v1.Classifier",
    "ensemble": "freescaling.ensemble.v1.Ensemble",
    "learning": "freescaling.learning.v1.Learning",
}


def free_port() -> int:
    """A port nothing listens on right now (for a service that must be down, or start later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_service_port() -> int:
    """A free port for a service that `make run` starts on it: its metrics go on port + 1000
    (services/common/server.py), so that one must be free too."""

    def bindable(port: int) -> bool:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
        return True

    return wait_for(
        lambda: (p := free_port()) < 64000 and bindable(p + 1000) and p, what="a free port pair"
    )


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05, what: str = "condition"):
    """Poll `predicate` until it returns a truthy value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class ServiceProcess:
    """One service process. `start()` returns at once; `wait_serving()` blocks until it listens."""

    def __init__(
        self,
        name: str,
        workdir: Path,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        port: int = 0,
    ) -> None:
        self.name = name
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port_file = workdir / f"{name}.port"
        self.log_file = workdir / f"{name}.log"
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "FREESCALING_LOG_FORMAT": "json",
            **(env or {}),
        }
        if port:
            # A fixed gRPC port (a restart on the port it had) would put metrics on port + 1000,
            # which anything on this machine may hold by then: an ephemeral one instead.
            self.env.setdefault("FREESCALING_METRICS_PORT", "0")
        if name == "gateway":
            # Its HTTP API on a free port too (found in its log: http_url()).
            self.env.setdefault("FREESCALING_GATEWAY_HTTP_PORT", "0")
        if name == "learning":
            # Its database goes in the test's folder, never the repository's ./data.
            self.env.setdefault(
                "FREESCALING_LEARNING_DATABASE_URL", f"sqlite:///{workdir / 'learning.db'}"
            )
        if name == "ensemble":
            # Tests run ensembles against keyless fakes and registries; the tests of readiness
            # without a provider key set this to true.
            self.env.setdefault("FREESCALING_ENSEMBLE_REQUIRE_KEYS", "false")
        if name == "classifier" and "FREESCALING_CLASSIFIER_MODEL" not in self.env:
            # Else it would try the hub, which these machines cannot reach, and never be ready.
            raise AssertionError(
                "a classifier process needs a checkpoint: request the classifier_checkpoint "
                "fixture (tests/conftest.py) or pass FREESCALING_CLASSIFIER_MODEL"
            )
        self.args = ["--host", "127.0.0.1", "--port", str(port), "--port-file", str(self.port_file)]
        self.args += args or []
        self.process: subprocess.Popen | None = None
        self._terminated = False
        self.port = 0
        self._log_start = 0
        self._channel: grpc.Channel | None = None

    @property
    def grpc_name(self) -> str:
        return GRPC_NAMES[self.name]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        self.port_file.unlink(missing_ok=True)
        self._terminated = False
        # Processes started in one workdir share its log: this one's lines begin here.
        self._log_start = self.log_file.stat().st_size if self.log_file.exists() else 0
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.name}", *self.args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_serving(self, timeout: float = 30.0) -> ServiceProcess:
        def bound() -> int:
            if self.process and self.process.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.log_text()}"
                )
            text = self.port_file.read_text() if self.port_file.exists() else ""
            return int(text) if text.strip().isdigit() else 0

        self.port = wait_for(bound, timeout, what=f"{self.name} to listen")
        return self

    def http_url(self, timeout: float = 15.0) -> str:
        """The gateway's HTTP API base (http://127.0.0.1:PORT), from the port it logged."""

        def logged() -> int:
            with open(self.log_file, "rb") as log:
                log.seek(self._log_start)
                lines = log.read().decode(errors="replace").splitlines()
            for line in lines:
                if '"http_port"' in line:
                    return json.loads(line).get("http_port") or 0
            return 0

        port = wait_for(logged, timeout, what=f"{self.name}'s HTTP port in its log")
        return f"http://127.0.0.1:{port}"

    def channel(self) -> grpc.Channel:
        if self._channel is None:
            self._channel = grpc.insecure_channel(self.address)
        return self._channel

    def health(self, service: str = "") -> str:
        """The health status name for `service` ("" is liveness), or the error code's name."""
        stub = health_pb2_grpc.HealthStub(self.channel())
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        except grpc.RpcError as exc:
            return exc.code().name
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    def wait_ready(self, timeout: float = 15.0) -> ServiceProcess:
        wait_for(
            lambda: self.health(self.grpc_name) == "SERVING",
            timeout,
            what=f"{self.name} readiness",
        )
        return self

    def send(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait_exit(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait; a process that will not stop is killed and the test fails."""
        self.terminate()
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"{self.name} ignored SIGTERM for {timeout} s") from None

    def terminate(self) -> None:
        """SIGTERM, once, without waiting (stop() waits)."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self.process is not None and self.process.poll() is None and not self._terminated:
            self.process.send_signal(signal.SIGTERM)
            self._terminated = True

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def log_records(self) -> list[dict]:
        records = []
        for line in self.log_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records


class Stack:
    """The four services wired together, as `make run` wires them."""

    def __init__(self, workdir: Path, gateway_env: dict[str, str] | None = None) -> None:
        self.learning = ServiceProcess("learning", workdir)
        self.ensemble = ServiceProcess("ensemble", workdir)
        self.classifier = ServiceProcess("classifier", workdir)
        self.internal = [self.learning, self.ensemble, self.classifier]
        self.workdir = workdir
        self.gateway_env = gateway_env or {}
        self.gateway: ServiceProcess | None = None

    def start(self) -> Stack:
        for service in self.internal:
            service.start()
        for service in self.internal:
            service.wait_serving()
        self.gateway = ServiceProcess(
            "gateway",
            self.workdir,
            env={
                "FREESCALING_CLASSIFIER_ADDR": self.classifier.address,
                "FREESCALING_ENSEMBLE_ADDR": self.ensemble.address,
                "FREESCALING_LEARNING_ADDR": self.learning.address,
                "FREESCALING_GATEWAY_HEALTH_INTERVAL_S": "0.5",
                **self.gateway_env,
            },
        )
        self.gateway.start().wait_serving().wait_ready()
        # The classifier turns ready once its model has loaded and warmed up.
        self.classifier.wait_ready(timeout=90)
        return self

    @property
    def all(self) -> list[ServiceProcess]:
        return [*self.internal, *([self.gateway] if self.gateway else [])]

    def stop(self) -> dict[str, int]:
        # The gateway first, its records handed to a learning still up; then the rest at once.
        codes = {self.gateway.name: self.gateway.stop()} if self.gateway else {}
        return codes | stop_all(self.internal)


def stop_all(services) -> dict[str, int]:
    """Stop `services` together (each drains at once, not after the one before), returning
    each one's exit code by name."""
    services = [s for s in services if s is not None]
    for service in services:
        service.terminate()
    return {s.name: s.stop() for s in services}
