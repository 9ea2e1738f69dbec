"""`make run`: all four services as separate processes on this machine, logs prefixed by
service, Ctrl-C (or SIGTERM) stops them cleanly, gateway first. Once they are up it says, for
each, whether it is ready, and for one that is not, why (the service's own not_ready_reason)
and what to do; then the gateway's OpenAI-compatible HTTP API's URL. Refuses to start, with a
clear message and exit 1, when a port it needs is taken.

`make try` (`--try`): the same stack with no key and no download, to see it work: every model
is played by the tests' scripted local provider (tests/support/fake_openai.py, canned answers,
labelled as such) and the classifier loads the random-weight test checkpoint and the tiny test
embedder (written under the data directory on first use); its state lives apart, in
DATA_DIR/try."""

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

from freescaling.common.v1 import info_pb2

# Internal services first: the gateway's readiness follows them.
SERVICES = (("learning", 50054), ("ensemble", 50053), ("classifier", 50052), ("gateway", 50051))
DEFAULT_HTTP_PORT = 8080
# The values services.common.settings reads as false.
HTTP_OFF = {"0", "false", "no", "off", ""}
# How long one service may take to answer its health check after starting.
START_TIMEOUT_S = 120.0
# How long the launcher waits for every service to be ready (or to say why not) before it
# reports; a classifier loading its model on a slow machine may take longer, and turns ready
# by itself.
READY_WAIT_S = 60.0
GRPC_NAMES = {
    "gateway": "freescaling.gateway.v1.Gateway",
    "classifier": "freescaling.classifier.v1.Classifier",
    "ensemble": "freescaling.ensemble.v1.Ensemble",
    "learning": "freescaling.learning.v1.Learning",
}


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


def _info(host: str, child: Child) -> info_pb2.ServiceInfo | None:
    """The service's GetInfo (ready, not_ready_reason, settings), None when it cannot say."""
    method = f"/{GRPC_NAMES[child.name]}/GetInfo"
    with grpc.insecure_channel(f"{host}:{child.port}") as channel:
        call = channel.unary_unary(
            method,
            request_serializer=info_pb2.GetInfoRequest.SerializeToString,
            response_deserializer=info_pb2.ServiceInfo.FromString,
        )
        try:
            return call(info_pb2.GetInfoRequest(probe_downstreams=True), timeout=5.0)
        except grpc.RpcError:
            return None


def _settled(info: info_pb2.ServiceInfo | None) -> bool:
    """Ready, or not ready for a reason it states (waiting longer will not change it)."""
    return info is not None and (info.ready or bool(info.not_ready_reason))


def readiness_report(host: str, children: list[Child], infos: dict[str, object]) -> list[str]:
    """What `make run` prints once the services are up: the ready ones, then each one that is
    not, with its own reason and what to do."""
    ready = [c for c in children if infos.get(c.name) is not None and infos[c.name].ready]
    lines = []
    if ready:
        lines.append("up and ready: " + ", ".join(f"{c.name} {host}:{c.port}" for c in ready))
    for c in children:
        info = infos.get(c.name)
        if info is not None and info.ready:
            degraded = info.settings.get("degraded", "")
            if degraded:
                lines.append(f"{c.name} is ready but {degraded}")
            continue
        if c.name == "gateway":
            waiting = [
                d.name for d in (info.downstreams if info else []) if d.required and not d.serving
            ]
            lines.append(
                "gateway not ready"
                + (f" until the {', '.join(waiting)} is" if waiting else "")
                + ": read-only calls (freescaling models, panels, elo, stats; GET /v1/models) "
                "answer meanwhile; calls that need a model wait for it"
            )
        elif info is None:
            lines.append(f"{c.name} not ready: it does not answer GetInfo yet")
        elif info.not_ready_reason:
            lines.append(f"{c.name} not ready: {info.not_ready_reason}")
        else:
            lines.append(
                f"{c.name} not ready yet (still starting: loading its model); it turns ready "
                "by itself, its log says when"
            )
    if any(infos.get(c.name) is None or not infos[c.name].ready for c in children):
        lines.append(
            "no provider key? `make try` runs the whole stack against a local scripted "
            "provider (canned answers), no key needed"
        )
    return lines


TRY_BANNER = (
    "CANNED ANSWERS: every model is played by a scripted local provider at {url} "
    "(tests/support/fake_openai.py), and the classifier is a random-weight test checkpoint: "
    "nothing here is a real model's answer. It shows voting, routing, feedback and stats "
    "working; `make run` with NVIDIA_API_KEY set is the real thing"
)


def _prepare_try(data_dir: Path, env: dict[str, str], lock: threading.Lock) -> Child:
    """`make try`: the test checkpoint and embedder (made once), the scripted provider as a
    child process, and the settings that point the stack at them."""
    for module, folder, setting in (
        ("tiny_checkpoint", "tiny-classifier", "FREESCALING_CLASSIFIER_MODEL"),
        ("tiny_embedder", "tiny-embedder", "FREESCALING_CLASSIFIER_EMBEDDER"),
    ):
        target = data_dir / folder
        if not (target / "config.json").is_file():
            subprocess.run(
                [sys.executable, "-m", f"services.classifier.{module}", str(target)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        env[setting] = str(target)
    port_file = data_dir / "provider.port"
    port_file.unlink(missing_ok=True)
    provider = Child("provider", 0)
    provider.process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_openai", "--port-file", str(port_file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    threading.Thread(target=_pump, args=(provider, lock), daemon=True).start()
    deadline = time.monotonic() + 30
    while not port_file.is_file() or not port_file.read_text().strip():
        if provider.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the scripted provider did not start; its log is above")
        time.sleep(0.05)
    provider.port = int(port_file.read_text())
    # Keyless: no key of the user's goes to the scripted provider, and none is needed.
    for name in ("NVIDIA_API_KEY", "NVIDIA_NIM_API_KEY", "DASHSCOPE_API_KEY"):
        env.pop(name, None)
    env["FREESCALING_ENSEMBLE_API_BASE"] = f"http://127.0.0.1:{provider.port}/v1"
    env["FREESCALING_ENSEMBLE_REQUIRE_KEYS"] = "false"
    return provider


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.stack", description=__doc__)
    parser.add_argument("--data-dir", default="data", help="where SQLite and other state live")
    parser.add_argument(
        "--try",
        dest="trial",
        action="store_true",
        help="no key needed: a scripted local provider (canned answers) and the test checkpoint",
    )
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

    data_dir = Path(args.data_dir).resolve() / ("try" if args.trial else "")
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
    provider: Child | None = None
    banner = ""
    if args.trial:
        provider = _prepare_try(data_dir, env, lock)
        banner = TRY_BANNER.format(url=env["FREESCALING_ENSEMBLE_API_BASE"])
        print(f"make try: {banner}", flush=True)
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
        infos: dict[str, object] = {}
        wait_until = time.monotonic() + READY_WAIT_S
        while not stopping.is_set():
            infos = {c.name: _info(host, c) for c in children}
            if all(_settled(i) for i in infos.values()) or time.monotonic() > wait_until:
                break
            stopping.wait(0.5)
        with lock:
            for line in readiness_report(host, children, infos):
                print(f"make run: {line}", flush=True)
            if banner:
                print(f"make try: {banner}", flush=True)
            all_ready = all(i is not None and i.ready for i in infos.values())
            print(
                "make run: "
                + ("all four services are up and ready" if all_ready else "services started")
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
    if provider is not None and provider.process and provider.process.poll() is None:
        provider.process.send_signal(signal.SIGTERM)
        provider.process.wait(timeout=30)
    if code == 0:
        print("make run: all services stopped cleanly", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
