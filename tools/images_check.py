"""CI's images stage: build the four images with Podman and run the stack from them as
Kubernetes runs it, then check that it answers. `python tools/images_check.py` from the
repository root, alone or from .ci/run after the tests.

Steps:
1. Podman, with runc as its runtime (crun fails on hybrid cgroups such as these machines'), and
   debootstrap, from Debian's packages. Where they cannot be installed (not Debian, not root)
   it says so in one line and skips (exit 0).
2. A Debian bookworm base image (python3 3.11 with venv, `python` on the PATH) made with
   debootstrap, since Docker Hub's official Python image cannot be reached from every builder;
   reused while its tag exists (--rebuild-base makes it again).
3. `make images` with Podman, that base, the torch wheel pip finds locally (the classifier
   image then installs torch from it, hash checked) and this machine's CA bundle as the pip_ca
   build secret.
4. The stack from those images, as the manifests run it: uid 10001, read-only root filesystem,
   an emptyDir-like tmpfs on /tmp, every capability dropped, no privilege escalation; host
   network on loopback instead of Services; learning migrated by its init command, its SQLite
   on a volume; the registry mounted read-only as the ConfigMap is; the classifier loading the
   test checkpoint from a read-only volume (the air-gapped setup of docs/deploy.md: a snapshot on
   a volume, FREESCALING_CLASSIFIER_MODEL pointing at it, so the image's torch and transformers
   really load a model); every model played by the scripted provider
   (tests/support/fake_openai.py) on the host, as an external OpenAI-compatible API.
5. Checks: each service's liveness and readiness health names SERVING, a Scale with k=3 through
   the gateway, and an HTTP chat through its OpenAI-compatible door.
It prints the build time, each image's size and the first chat's time, removes every container
and volume it made, and ends, on failure, with one line saying what failed."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASE_TAG = "localhost/freescaling/base-bookworm:3.11"
IMAGE_PREFIX = "localhost/freescaling-check/"
IMAGE_TAG = "check"
SERVICES = ("learning", "ensemble", "classifier", "gateway")
GRPC_NAMES = {
    "gateway": "freescaling.gateway.v1.Gateway",
    "classifier": "freescaling.classifier.v1.Classifier",
    "ensemble": "freescaling.ensemble.v1.Ensemble",
    "learning": "freescaling.learning.v1.Learning",
}
# debootstrap's package set for the base: Debian's python3 (3.11 on bookworm), venv for the
# Dockerfile's `python -m venv`, `python` as a command name, and the CA store for TLS.
BASE_PACKAGES = "python3,python3-venv,python-is-python3,ca-certificates"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# How long a service may take to report SERVING (the classifier imports torch and loads its
# checkpoint on a busy 2-core machine).
READY_TIMEOUT_S = 180.0
# Descriptors per container: the machine's hard limit caps it (podman's default, 1048576,
# exceeds it here and runc refuses to start the container).
NOFILE = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 65536)
# Processes per container (podman's default would be the host's, shared by uid 10001).
NPROC = 4096


class Failed(Exception):
    """A step that failed; its message is the one line CI prints."""


def log(message: str) -> None:
    print(f"images check: {message}", flush=True)


def run(
    command: list[str], *, timeout: float = 1800, quiet: bool = False
) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=quiet, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        detail = (done.stderr or "").strip().splitlines()[-1:] if quiet else []
        raise Failed(f"`{' '.join(command[:4])} ...` exited {done.returncode} {' '.join(detail)}")
    return done


def ensure_tools() -> str | None:
    """Podman, runc and debootstrap installed; None when they are, else why they cannot be."""
    needed = [tool for tool in ("podman", "runc", "debootstrap") if not shutil.which(tool)]
    if not needed:
        return None
    if not shutil.which("apt-get") or os.geteuid() != 0:
        return f"{', '.join(needed)} missing, and installing needs Debian's apt-get as root"
    log(f"installing {' '.join(needed)} from Debian's packages")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *needed]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return f"could not install {' '.join(needed)}: {done.stderr.strip()[-200:]}"
    return None


def podman(*args: str) -> list[str]:
    return ["podman", "--runtime", "runc", *args]


def build_base(rebuild: bool) -> float:
    """The bookworm base image from debootstrap; the seconds it took (0 when reused)."""
    exists = subprocess.run(podman("image", "exists", BASE_TAG), check=False).returncode == 0
    if exists and not rebuild:
        log(f"base {BASE_TAG}: reused (--rebuild-base makes it again)")
        return 0.0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fs-base-", dir="/var/tmp") as work:
        rootfs = Path(work) / "rootfs"
        log(f"base: debootstrap bookworm ({BASE_PACKAGES}) from {DEBIAN_MIRROR}")
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={BASE_PACKAGES}",
                "bookworm",
                str(rootfs),
                DEBIAN_MIRROR,
            ],
            quiet=True,
        )
        # What an image never needs: package caches and lists, documentation, manuals.
        for sub in (
            "var/cache/apt/archives",
            "var/lib/apt/lists",
            "usr/share/doc",
            "usr/share/man",
        ):
            shutil.rmtree(rootfs / sub, ignore_errors=True)
            (rootfs / sub).mkdir(parents=True, exist_ok=True)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            podman(
                "import",
                "--change",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--change",
                'CMD ["python3"]',
                "-",
                BASE_TAG,
            ),
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise Failed(f"podman import of the base failed: {imported.stderr.strip()[-200:]}")
    took = time.monotonic() - started
    log(f"base {BASE_TAG}: built in {took:.0f} s")
    return took


def local_torch_wheel(work: Path) -> Path | None:
    """A folder holding the torch wheel the Dockerfile's TORCH_SPEC names, where pip finds it
    without an index (its find-links, its cache); None where it does not."""
    folder = work / "torch-wheels"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-index",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--dest",
            str(folder),
            "torch==2.13.0",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return folder if done.returncode == 0 and any(folder.glob("torch-*.whl")) else None


def build_images(work: Path) -> float:
    wheels = local_torch_wheel(work)
    log(
        "torch for the classifier image: "
        + (f"the local wheel {next(wheels.glob('torch-*.whl')).name}" if wheels else "its index")
    )
    command = [
        "make",
        "--no-print-directory",
        "images",
        "CONTAINER_ENGINE=podman --runtime runc",
        f"BASE_IMAGE={BASE_TAG}",
        f"IMAGE_PREFIX={IMAGE_PREFIX}",
        f"IMAGE_TAG={IMAGE_TAG}",
        # PyTorch's CUDA index is out of reach here, and the CPU image is what runs below.
        "CUDA_VARIANT=",
    ]
    if wheels:
        command.append(f"TORCH_WHEELS={wheels}")
    ca = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE")
    if ca and Path(ca).is_file():
        # This machine's CA bundle (its TLS to PyPI may pass through a proxy of its own).
        command.append(f"IMAGE_PIP_CA_FILE={ca}")
    started = time.monotonic()
    log("building: " + " ".join(command[2:]))
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    took = time.monotonic() - started
    (work / "build.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        print(done.stdout[-3000:] + done.stderr[-3000:], flush=True)
        raise Failed(f"make images failed (exit {done.returncode}); its output's end is above")
    return took


def image_size_mb(service: str) -> float:
    done = run(
        podman("image", "inspect", "--format", "{{.Size}}", f"{IMAGE_PREFIX}{service}:{IMAGE_TAG}"),
        quiet=True,
    )
    return int(done.stdout.strip()) / 1e6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """The four containers, the learning volume and the scripted provider; stop() removes all."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.tag = f"fs-images-check-{os.getpid()}"
        self.volume = f"{self.tag}-data"
        self.containers: list[str] = []
        self.provider: subprocess.Popen | None = None
        self.provider_port = 0
        self.ports = {name: free_port() for name in (*SERVICES, "http")}

    def common(self, name: str) -> list[str]:
        """What every container of the manifests has: its pod's securityContext and volumes."""
        return [
            "--name",
            name,
            "--label",
            f"freescaling.images-check={self.tag}",
            "--network",
            "host",
            "--user",
            "10001:10001",
            "--read-only",
            # Only /tmp is writable, as in the manifests (podman would also add /run, /var/tmp).
            "--read-only-tmpfs=false",
            "--tmpfs",
            "/tmp:rw,mode=1777,size=1g",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--ulimit",
            f"nofile={NOFILE}:{NOFILE}",
            "--ulimit",
            f"nproc={NPROC}:{NPROC}",
            "--env",
            "FREESCALING_HOST=127.0.0.1",
            "--env",
            "FREESCALING_LOG_FORMAT=json",
            "--env",
            "FREESCALING_GRACE_S=20",
        ]

    def env(self, service: str) -> list[str]:
        p = self.ports
        learning = f"127.0.0.1:{p['learning']}"
        values = {f"FREESCALING_{service.upper()}_PORT": str(p[service])}
        # Each service's metrics next to its port, as the manifests' gRPC port + 1000 would
        # collide with whatever else this machine runs.
        values["FREESCALING_METRICS_PORT"] = str(free_port())
        if service == "learning":
            values["FREESCALING_LEARNING_DATABASE_URL"] = "sqlite:////data/learning.db"
        elif service == "ensemble":
            values |= {
                "FREESCALING_ENSEMBLE_REGISTRY": "/etc/freescaling/registry/registry.yaml",
                "FREESCALING_ENSEMBLE_LEARNING_ADDR": learning,
                "FREESCALING_ENSEMBLE_RATE_LIMIT_REPLICAS": "1",
                "FREESCALING_ENSEMBLE_API_BASE": f"http://127.0.0.1:{self.provider_port}/v1",
                "FREESCALING_ENSEMBLE_REQUIRE_KEYS": "false",
            }
        elif service == "classifier":
            values |= {
                "FREESCALING_CLASSIFIER_DEVICE": "cpu",
                "FREESCALING_CLASSIFIER_LEARNING_ADDR": learning,
                "FREESCALING_CLASSIFIER_MODEL": "/models/tiny-classifier",
                "FREESCALING_CLASSIFIER_EMBEDDER": "/models/tiny-embedder",
                "HF_HOME": "/cache/huggingface",
            }
        else:
            values |= {
                "FREESCALING_GATEWAY_OUTBOX_FLUSH_S": "5",
                "FREESCALING_GATEWAY_HTTP_PORT": str(p["http"]),
                "FREESCALING_CLASSIFIER_ADDR": f"127.0.0.1:{p['classifier']}",
                "FREESCALING_ENSEMBLE_ADDR": f"127.0.0.1:{p['ensemble']}",
                "FREESCALING_LEARNING_ADDR": learning,
            }
        return [arg for name, value in values.items() for arg in ("--env", f"{name}={value}")]

    def mounts(self, service: str) -> list[str]:
        if service == "learning":
            # A named volume, owned by the container's user (:U), as fsGroup makes a claim.
            return ["--volume", f"{self.volume}:/data:U"]
        if service == "ensemble":
            registry = ROOT / "deploy" / "base" / "registry.yaml"
            return ["--volume", f"{registry}:/etc/freescaling/registry/registry.yaml:ro"]
        if service == "classifier":
            return [
                "--volume",
                f"{self.work / 'models'}:/models:ro",
                "--tmpfs",
                "/cache:rw,mode=1777,size=1g",
            ]
        return []

    def prepare(self) -> None:
        models = self.work / "models"
        for module, folder in (
            ("tiny_checkpoint", "tiny-classifier"),
            ("tiny_embedder", "tiny-embedder"),
        ):
            target = str(models / folder)
            run([sys.executable, "-m", f"services.classifier.{module}", target], quiet=True)
        # Readable by uid 10001 through the read-only mount.
        for path in [self.work, *self.work.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        port_file = self.work / "provider.port"
        self.provider = subprocess.Popen(
            [sys.executable, "-m", "tests.support.fake_openai", "--port-file", str(port_file)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self.provider.poll() is not None or time.monotonic() > deadline:
                raise Failed("the scripted provider (tests/support/fake_openai.py) did not start")
            time.sleep(0.1)
        self.provider_port = int(port_file.read_text())
        run(podman("volume", "create", self.volume), quiet=True)

    def start(self, service: str) -> None:
        image = f"{IMAGE_PREFIX}{service}:{IMAGE_TAG}"
        name = f"{self.tag}-{service}"
        if service == "learning":
            # The init container: migrations first, with the same settings and volume.
            run(
                podman(
                    "run", "--rm", *self.common(f"{name}-migrate"), *self.env(service),
                    *self.mounts(service), "--entrypoint", "python", image,
                    "-m", "services.learning.migrate",
                ),
                timeout=120,
                quiet=True,
            )  # fmt: skip
        self.containers.append(name)
        run(
            podman(
                "run", "--detach", "--stop-timeout", "25", *self.common(name),
                *self.env(service), *self.mounts(service), image,
            ),
            quiet=True,
        )  # fmt: skip

    def wait_serving(self, service: str) -> float:
        """Seconds until its liveness ("") and readiness names both say SERVING."""
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        started = time.monotonic()
        names = ("", GRPC_NAMES[service])
        with grpc.insecure_channel(f"127.0.0.1:{self.ports[service]}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                try:
                    if all(
                        stub.Check(health_pb2.HealthCheckRequest(service=n), timeout=2).status
                        == health_pb2.HealthCheckResponse.SERVING
                        for n in names
                    ):
                        return time.monotonic() - started
                except grpc.RpcError:
                    pass
                state = subprocess.run(
                    podman("inspect", "--format", "{{.State.Status}}", f"{self.tag}-{service}"),
                    capture_output=True,
                    text=True,
                    check=False,
                ).stdout.strip()
                if state != "running":
                    raise Failed(f"the {service} container is {state or 'gone'}; its log is above")
                if time.monotonic() - started > READY_TIMEOUT_S:
                    raise Failed(f"{service} not SERVING after {READY_TIMEOUT_S:.0f} s")
                time.sleep(0.5)

    def logs(self) -> None:
        for name in self.containers:
            done = subprocess.run(
                podman("logs", "--tail", "15", name), capture_output=True, text=True, check=False
            )
            for line in (done.stdout + done.stderr).splitlines():
                print(f"{name.removeprefix(self.tag + '-'):<10} | {line}", flush=True)

    def stop(self) -> None:
        for name in reversed(self.containers):
            subprocess.run(
                podman("rm", "--force", "--time", "25", name), capture_output=True, check=False
            )
        subprocess.run(
            podman("volume", "rm", "--force", self.volume), capture_output=True, check=False
        )
        if self.provider and self.provider.poll() is None:
            self.provider.terminate()
            self.provider.wait(timeout=30)


def check_calls(stack: Stack) -> tuple[float, float]:
    """A Scale with k=3 and an HTTP chat through the gateway; the chat's and Scale's seconds."""
    from freescaling.client import Client

    started = time.monotonic()
    body = json.dumps(
        {"model": "auto", "messages": [{"role": "user", "content": "Is 17 a prime number?"}]}
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.ports['http']}/v1/chat/completions",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            reply = json.loads(response.read())
    except OSError as error:
        raise Failed(f"HTTP chat through the gateway failed: {error}") from error
    chat_s = time.monotonic() - started
    content = reply["choices"][0]["message"]["content"]
    if not content:
        raise Failed(f"HTTP chat answered no content: {reply}")
    log(
        f"HTTP chat (the first) answered in {chat_s:.2f} s by {reply.get('model')}: "
        f"{content[:50]!r}"
    )
    started = time.monotonic()
    with Client(f"127.0.0.1:{stack.ports['gateway']}") as fs:
        result = fs.scale("Is 17 prime?", k=3, answers=["YES", "NO"], timeout_s=60)
    scale_s = time.monotonic() - started
    voters = {vote.model for vote in result.votes}
    if result.answer != "YES" or len(voters) != 3:
        raise Failed(f"Scale k=3 answered {result.answer!r} from {sorted(voters)}")
    log(f"Scale k=3 answered {result.answer} from {len(voters)} models in {scale_s:.2f} s")
    return chat_s, scale_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/images_check.py", description=__doc__)
    parser.add_argument("--rebuild-base", action="store_true", help="debootstrap the base again")
    args = parser.parse_args(argv)
    why_not = ensure_tools()
    if why_not:
        log(f"skipped: {why_not}")
        return 0
    work = Path(tempfile.mkdtemp(prefix="fs-images-check-"))
    stack = Stack(work)
    try:
        base_s = build_base(args.rebuild_base)
        build_s = build_images(work)
        sizes = {s: image_size_mb(s) for s in SERVICES}
        stack.prepare()
        started = time.monotonic()
        for service in SERVICES[:-1]:
            stack.start(service)
        for service in SERVICES[:-1]:
            stack.wait_serving(service)
        stack.start("gateway")
        stack.wait_serving("gateway")
        up_s = time.monotonic() - started
        log(f"all four containers SERVING (liveness and readiness) {up_s:.1f} s after start")
        chat_s, _ = check_calls(stack)
        log(
            f"build {build_s:.0f} s (base {'reused' if not base_s else f'{base_s:.0f} s'}); "
            + "image sizes: "
            + ", ".join(f"{s} {mb:.0f} MB" for s, mb in sizes.items())
            + f"; first chat {chat_s:.2f} s, {up_s + chat_s:.1f} s after the containers started"
        )
    except (Failed, subprocess.TimeoutExpired) as error:
        stack.logs()
        stack.stop()
        log(f"FAILED: {error}")
        return 1
    stack.stop()
    shutil.rmtree(work, ignore_errors=True)
    log("passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
