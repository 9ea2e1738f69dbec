"""`make run`: all four services as separate processes on this machine, logs prefixed by
service, the gateway's OpenAI-compatible HTTP API's URL printed once all are up, Ctrl-C (or
SIGTERM) stops them cleanly, gateway first. Refuses to start, with a
clear message and exit 1, when a port it needs is taken."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

# Internal services first: the gateway's readiness follows them.
SERVICES = (("learning", 50054), ("ensemble", 50053), ("classifier", 50052), ("gateway", 50051))
DEFAULT_HTTP_PORT = 8080
# The values services.common.settings reads as false.
HTTP_OFF = {"0", "false", "no", "off", ""}
# How long one service may take to answer its health check after starting.
START_TIMEOUT_S = 120.0


@dataclass
class Child:
    name: str
    port: int
    process: subprocess.Popen | None = None


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the services do: connections in TIME_WAIT must not count as a taken port, a
        # listening socket still does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _pump(child: Child, lock: threading.Lock) -> None:
    assert child.process and child.process.stdout
    for raw in child.process.stdout:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        with lock:
            print(f"{child.name:<10} | {line}", flush=True)


def _wait_live(child: Child, host: str, deadline: float) -> bool:
    with grpc.insecure_channel(f"{host}:{child.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if child.process and child.process.poll() is not None:
                return False
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return True
            except grpc.RpcError:
                time.sleep(0.2)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.stack", description=__doc__)
    parser.add_argument("--data-dir", default="data", help="where SQLite and other state live")
    args = parser.parse_args(argv)

    host = os.environ.get("FREESCALING_HOST", "127.0.0.1")
    children = [
        Child(name, int(os.environ.get(f"FREESCALING_{name.upper()}_PORT", default)))
        for name, default in SERVICES
    ]
    wanted = [(c.name, c.port, f"FREESCALING_{c.name.upper()}_PORT") for c in children]
    # The gateway's OpenAI-compatible HTTP API, unless turned off.
    http_port = None
    if os.environ.get("FREESCALING_GATEWAY_HTTP", "true").strip().lower() not in HTTP_OFF:
        http_port = int(os.environ.get("FREESCALING_GATEWAY_HTTP_PORT", DEFAULT_HTTP_PORT))
        wanted.append(("gateway HTTP", http_port, "FREESCALING_GATEWAY_HTTP_PORT"))
    if "FREESCALING_METRICS_PORT" not in os.environ:
        # Each service serves /metrics on its gRPC port + 1000 by default.
        wanted += [(c.name, c.port + 1000, "FREESCALING_METRICS=false") for c in children]
    taken = [(name, port, remedy) for name, port, remedy in wanted if not _port_free(host, port)]
    if taken:
        for name, port, remedy in taken:
            print(
                f"make run: port {port} ({name}) on {host} is already in use; stop what "
                f"holds it (`ss -ltnp 'sport = :{port}'` shows it) or set {remedy}"
                + (" to another port" if remedy.endswith("_PORT") else ""),
                file=sys.stderr,
            )
        return 1

    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, FREESCALING_HOST=host, PYTHONUNBUFFERED="1")
    # People read this console: plain text unless JSON is asked for.
    env.setdefault("FREESCALING_LOG_FORMAT", "text")
    # Learning's SQLite file lives in the data dir, whatever the working directory.
    env.setdefault("FREESCALING_LEARNING_DATABASE_URL", f"sqlite:///{data_dir / 'learning.db'}")
    for c in children:
        env[f"FREESCALING_{c.name.upper()}_PORT"] = str(c.port)
        if c.name != "gateway":
            env.setdefault(f"FREESCALING_{c.name.upper()}_ADDR", f"{host}:{c.port}")
    # The gateway's outbox keeps undelivered call records on disk, so a crash of the gateway
    # (or learning down when it stops) loses none: the next start delivers them.
    env.setdefault("FREESCALING_GATEWAY_OUTBOX_SPOOL_DIR", str(data_dir / "outbox"))
    # The classifier keeps its centroids in learning, and the ensemble the models registered at
    # run time, as every deployment of several replicas must.
    env.setdefault("FREESCALING_CLASSIFIER_LEARNING_ADDR", env["FREESCALING_LEARNING_ADDR"])
    env.setdefault("FREESCALING_ENSEMBLE_LEARNING_ADDR", env["FREESCALING_LEARNING_ADDR"])

    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())

    lock = threading.Lock()
    deadline = time.monotonic() + START_TIMEOUT_S
    failed: Child | None = None
    # The three internal services start together, then the gateway.
    for batch in (children[:-1], children[-1:]):
        for c in batch:
            # Own session: Ctrl-C reaches only this launcher, which stops the services in order.
            c.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{c.name}"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            threading.Thread(target=_pump, args=(c, lock), daemon=True).start()
        failed = next((c for c in batch if not _wait_live(c, host, deadline)), None)
        if failed is not None or stopping.is_set():
            break
    if failed is None and not stopping.is_set():
        with lock:
            print(
                "make run: all four services are up: "
                + ", ".join(f"{c.name} {host}:{c.port}" for c in children)
                + "; Ctrl-C stops them",
                flush=True,
            )
            if http_port is not None:
                scheme = "https" if os.environ.get("FREESCALING_TLS_CERT") else "http"
                print(
                    f"make run: OpenAI-compatible HTTP API at {scheme}://{host}:{http_port}/v1 "
                    "(POST /v1/chat/completions, GET /v1/models, GET /stats)",
                    flush=True,
                )
        while not stopping.is_set():
            exited = [c for c in children if c.process and c.process.poll() is not None]
            if exited:
                failed = exited[0]
                break
            stopping.wait(0.5)

    code = 0
    if failed is not None and not stopping.is_set():
        rc = failed.process.poll() if failed.process else None
        print(
            f"make run: {failed.name} "
            + (f"exited with code {rc}" if rc is not None else "did not become healthy")
            + "; stopping the others",
            file=sys.stderr,
        )
        code = 1
    for c in reversed(children):
        if c.process and c.process.poll() is None:
            c.process.send_signal(signal.SIGTERM)
            try:
                c.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                print(f"make run: {c.name} did not stop within 30 s; killing it", file=sys.stderr)
                c.process.kill()
                c.process.wait()
        if c.process and c.process.returncode not in (0, None) and c is not failed:
            code = 1
    if code == 0:
        print("make run: all services stopped cleanly", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
