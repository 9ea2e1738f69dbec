"""The Dockerfile's images, checked without a container engine (these machines have none).

The gateway, ensemble and learning targets are built the way a builder would build them, minus
the isolation: every RUN line of the target's stages, in order, with its ARG and ENV values,
runs in a fresh folder standing for the image's root (/opt/venv and /src re-rooted there, the
COPY sources copied as .dockerignore lets them through), then the runtime image's ENTRYPOINT
starts the service from /tmp, outside the checkout, with the image's ENV: it must import the
installed package, listen and answer health checks. The classifier target cannot run here
(PyTorch's own index is not reachable); its lines are checked as text. Slow (pip installs), so
marked `slow`, but run by default: `-m "not slow"` leaves it out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support import dockerfile
from tests.support.processes import ROOT, wait_for

DOCKERFILE = ROOT / "Dockerfile"
PARSED = dockerfile.parse(DOCKERFILE)
IGNORE = dockerfile.dockerignore(ROOT / ".dockerignore")
SERVICES = ("gateway", "ensemble", "learning", "classifier")
# The classifier's alone (litellm pulls tokenizers, which is small: not in this list).
HEAVY = {"torch", "transformers", "sentencepiece"}
# The image paths the build writes to; the test puts them under its own root.
_IMAGE_PATH = re.compile(r"(?<![\w.])/(opt|src|tmp|cache|wheels)(?=[/\s\"'\[]|$)")


def _reroot(text: str, root: Path) -> str:
    return _IMAGE_PATH.sub(lambda m: f"{root}/{m.group(1)}", text)


def _copy(args: str, root: Path, stage_dir: Path) -> None:
    *sources, dest = args.split()
    target = Path(_reroot(dest, root)) if dest.startswith("/") else stage_dir / dest
    for source in sources:
        origin = ROOT / source
        assert origin.exists(), f"COPY {source}: not in the repository"
        assert not dockerfile.ignored(source, IGNORE), f"COPY {source}: .dockerignore drops it"
        if origin.is_dir():
            shutil.copytree(
                origin,
                target / origin.name if dest.endswith("/") else target,
                ignore=lambda d, names: [
                    n
                    for n in names
                    if dockerfile.ignored(str((Path(d) / n).relative_to(ROOT)), IGNORE)
                ],
            )
        else:
            (target if dest.endswith("/") else target.parent).mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target / origin.name if dest.endswith("/") else target)


class Built:
    """One target built under `root`: its runtime ENV, working directory and entry point."""

    def __init__(self, target: str, root: Path, execute: bool = True) -> None:
        self.target, self.root, self.execute = target, root, execute
        shim = root / "host-bin"
        if execute:
            shim.mkdir(parents=True)
            # The base image's `python`: this interpreter's base, the image's minor version.
            (shim / "python").symlink_to(getattr(sys, "_base_executable", sys.executable))
        # What the image's environment starts from; pip's own settings pass through (where
        # this machine finds packages), nothing else of the host's.
        self.initial_env = {"PATH": f"{shim}:{os.environ['PATH']}", "HOME": str(root / "tmp")}
        self.initial_env |= {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
        self.env = dict(self.initial_env)
        self.workdir = root
        self.entrypoint: list[str] = []
        self.runs: list[str] = []
        self.mounts: list[list[dict[str, str]]] = []

    def apply(self, stage: dockerfile.Stage, args: dict[str, str]) -> None:
        execute = self.execute
        for step in stage.steps:
            values = {**args, **self.env}
            if step.instruction == "ENV":
                for name, value in dockerfile.env_pairs(step.args):
                    self.env[name] = _reroot(dockerfile.substitute(value, values), self.root)
                    values[name] = self.env[name]
            elif step.instruction == "WORKDIR":
                self.workdir = Path(_reroot(step.args, self.root))
                if execute:
                    self.workdir.mkdir(parents=True, exist_ok=True)
            elif step.instruction == "COPY":
                if step.args.startswith("--from=") or not execute:
                    # --from: the build stage's venv is already where the runtime image has it.
                    continue
                _copy(step.args, self.root, self.workdir)
            elif step.instruction == "RUN":
                mounts, command = dockerfile.run_mounts(step.args)
                command = _reroot(dockerfile.substitute(command, values, shell=True), self.root)
                self.runs.append(command)
                self.mounts.append(mounts)
                # Secret mounts need nothing here: no secret is given, as in a plain build.
                # A bind mount from another stage (the classifier's torch wheels) cannot be
                # stood for: that target's lines are checked as text.
                binds = [m for m in mounts if m.get("type") == "bind"]
                assert not (execute and binds), f"RUN {step.args}: a bind mount, not run here"
                if execute:
                    done = subprocess.run(
                        ["bash", "-euo", "pipefail", "-c", command],
                        cwd=self.workdir,
                        env=self.env,
                        capture_output=True,
                        text=True,
                        timeout=600,
                        check=False,
                    )
                    assert done.returncode == 0, f"RUN {step.args}\n{done.stdout}\n{done.stderr}"
            elif step.instruction == "ENTRYPOINT":
                self.entrypoint = dockerfile.exec_form(step.args)
            elif step.instruction == "USER":
                assert step.args.split(":")[0] not in ("0", "root"), "the image runs as root"

    @classmethod
    def build(cls, target: str, root: Path, execute: bool = True) -> Built:
        built = cls(target, root, execute)
        # The runtime target's chain, with its COPY --from stage built first.
        chain = PARSED.chain(target)
        copy_from = [
            s.args.split()[0].removeprefix("--from=")
            for stage in chain
            for s in stage.steps
            if s.instruction == "COPY" and s.args.startswith("--from=")
        ]
        for source in copy_from:
            for stage in PARSED.chain(source):
                built.apply(stage, PARSED.build_args(source))
        # The runtime image starts from the base again: none of the build stages' settings.
        built.env, built.workdir = dict(built.initial_env), root
        for stage in chain:
            built.apply(stage, PARSED.build_args(target))
        return built

    def packages(self) -> set[str]:
        done = subprocess.run(
            ["python", "-m", "pip", "list", "--format=freeze"],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            check=True,
        )
        return {line.split("==")[0].lower().replace("_", "-") for line in done.stdout.split()}


def test_every_service_has_a_non_root_target_with_an_entrypoint():
    for name in SERVICES:
        assert name in PARSED.stages, f"no `{name}` target in the Dockerfile"
        built = Built.build(name, Path("/nonexistent"), execute=False)
        assert built.entrypoint == ["python", "-m", f"services.{name}"]
        users = [s.args for st in PARSED.chain(name) for s in st.steps if s.instruction == "USER"]
        assert users and users[-1] == "10001:10001", f"{name} runs as {users}"


def test_torch_and_transformers_only_in_the_classifier_image():
    for name in SERVICES:
        runs = " ".join(Built.build(name, Path("/nonexistent"), execute=False).runs)
        if name == "classifier":
            assert "torch==" in runs and "lock.py select classifier" in runs
        else:
            assert "torch" not in runs and "select classifier" not in runs and "[all]" not in runs


def test_every_image_installs_from_the_lock_with_hashes():
    """Each pip install of a package from an index checks the lock's hashes, with --no-deps
    (nothing unlocked comes in); the one unchecked path is torch with TORCH_HASH set empty."""
    for name in SERVICES:
        for run in Built.build(name, Path("/nonexistent"), execute=False).runs:
            for install in re.split(r"&&|;|\bthen\b|\belse\b", run):
                if " pip install " not in install:
                    continue
                if "--no-build-isolation" in install:
                    assert "--no-deps" in install and install.rstrip().endswith("/src"), install
                elif "torch==" in install and " -r " not in install:
                    assert name == "classifier", install
                else:
                    assert "--require-hashes" in install and "--no-deps" in install, install
                    assert " -r " in install, install


def test_the_classifier_image_has_a_cuda_variant_by_build_arg():
    runs = Built.build("classifier", Path("/nonexistent"), execute=False).runs
    assert any("https://download.pytorch.org/whl/cpu" in r for r in runs)
    cuda = Built("classifier", Path("/nonexistent"), execute=False)
    args = PARSED.build_args("build-classifier", {"TORCH_VARIANT": "cu128"})
    for stage in PARSED.chain("build-classifier"):
        cuda.apply(stage, args)
    assert any("https://download.pytorch.org/whl/cu128" in r for r in cuda.runs)


def test_the_base_image_and_the_torch_index_are_build_args_with_official_defaults():
    base = PARSED.base_image("base")
    assert dockerfile.substitute(base, PARSED.build_args("base")) == "python:3.11-slim-bookworm"
    mine = PARSED.build_args("base", {"BASE_IMAGE": "localhost/freescaling/base-bookworm"})
    assert dockerfile.substitute(base, mine) == "localhost/freescaling/base-bookworm"
    mirror = Built("classifier", Path("/nonexistent"), execute=False)
    args = PARSED.build_args("build-classifier", {"TORCH_INDEX": "https://mirror.example/whl"})
    for stage in PARSED.chain("build-classifier"):
        mirror.apply(stage, args)
    assert any("--index-url https://mirror.example/whl/cpu" in r for r in mirror.runs)
    assert not any("download.pytorch.org" in r for r in mirror.runs)


def test_pip_takes_a_private_index_and_its_ca_as_build_secrets_never_in_a_layer():
    """Every pip step mounts the two secrets and sources the script that reads them; no ARG or
    ENV carries an index or a certificate (those would stay in the image's history)."""
    for name in SERVICES:
        built = Built.build(name, Path("/nonexistent"), execute=False)
        for run, mounts in zip(built.runs, built.mounts, strict=True):
            if " pip install " not in run:
                continue
            secrets = {m["id"] for m in mounts if m.get("type") == "secret"}
            assert secrets == {"pip_index_url", "pip_ca"}, run
            assert re.match(r"\. \S*/src/tools/pip_secrets\.sh && ", run), run
    for stage in PARSED.stages.values():
        for step in stage.steps:
            if step.instruction in ("ARG", "ENV"):
                assert not re.search(r"PIP_INDEX|PIP_CERT|INDEX_URL|_CA\b", step.args), step.args


@pytest.mark.parametrize("wheel", [True, False], ids=["local-wheel", "index"])
def test_the_classifier_installs_torch_from_a_local_wheel_where_one_is_given(wheel, tmp_path):
    """The torch step, run with a stand-in for the venv's python that prints what pip would be
    asked: with a torch wheel in the torch-wheels context, no index at all and the hash
    checked; without one, PyTorch's index."""
    assert PARSED.stages["torch-wheels"].parent == "scratch"
    assert not PARSED.stages["torch-wheels"].steps
    built = Built("classifier", tmp_path, execute=False)
    for stage in PARSED.chain("build-classifier"):
        built.apply(stage, PARSED.build_args("build-classifier"))
    ((run, mounts),) = [
        (r, m) for r, m in zip(built.runs, built.mounts, strict=True) if "torch" in r
    ]
    assert {"type": "bind", "from": "torch-wheels", "target": "/wheels"} in mounts
    pip = tmp_path / "opt" / "venv" / "bin" / "python"
    pip.parent.mkdir(parents=True)
    pip.write_text('#!/bin/sh\necho "pip $*"\n')
    pip.chmod(0o755)
    (tmp_path / "src" / "tools").mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "pip_secrets.sh", tmp_path / "src" / "tools")
    (tmp_path / "wheels").mkdir()
    if wheel:
        (tmp_path / "wheels" / "torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl").touch()
    done = subprocess.run(
        ["sh", "-euc", run], env={"PATH": os.environ["PATH"]}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    asked = done.stdout.strip()
    if wheel:
        assert f"--no-index --find-links {tmp_path}/wheels" in asked, asked
    else:
        assert "--index-url https://download.pytorch.org/whl/cpu" in asked, asked
    assert "--require-hashes --no-deps" in asked
    requirement = (tmp_path / "src" / "torch-requirement.txt").read_text()
    assert requirement.startswith("torch==2.13.0 --hash=sha256:6746dbcb")


def test_the_build_context_leaves_out_local_state():
    for path in (".venv/bin/python", "data/learning.db", "tests/conftest.py", ".git/HEAD"):
        assert dockerfile.ignored(path, IGNORE), path
    assert dockerfile.ignored("tools/gen_protos.py", IGNORE)
    for path in (
        "services/gateway/server.py",
        "pyproject.toml",
        "freescaling/__init__.py",
        "requirements.lock",
        "tools/lock.py",
        "tools/pip_secrets.sh",
    ):
        assert not dockerfile.ignored(path, IGNORE), path
    assert dockerfile.ignored("services/gateway/__pycache__/server.cpython-311.pyc", IGNORE)


RUNNABLE = ("gateway", "ensemble", "learning")


@pytest.fixture(scope="module")
def builds(request, tmp_path_factory):
    """The selected runnable targets, built at once (mostly pip downloading and unpacking: one
    after the other would leave this machine waiting)."""
    selected = [
        item.callspec.params["name"]
        for item in request.session.items
        if item.originalname == "test_the_image_installs_and_its_entrypoint_serves"
    ]
    with ThreadPoolExecutor(max_workers=len(RUNNABLE)) as pool:
        yield {
            name: pool.submit(Built.build, name, tmp_path_factory.mktemp(f"image-{name}"))
            for name in selected
        }


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", RUNNABLE)
def test_the_image_installs_and_its_entrypoint_serves(name, tmp_path, builds):
    built = builds[name].result()
    installed = built.packages()
    assert not installed & HEAVY, f"{name}'s image holds {sorted(installed & HEAVY)}"
    assert not [p for p in installed if p.startswith("nvidia-")], f"{name} holds CUDA libraries"
    assert ("litellm" in installed) == (name == "ensemble")
    assert ("sqlalchemy" in installed) == (name == "learning")
    # The entry point imports the installed package, not this checkout.
    where = subprocess.run(
        ["python", "-c", f"import services.{name} as m; print(m.__file__)"],
        env=built.env,
        cwd=built.workdir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(built.root / "opt" / "venv")), where
    data = tmp_path / "data"
    env = {**built.env, "FREESCALING_LOG_FORMAT": "json"}
    if name == "learning":
        # An absolute path, as on the mounted volume; the init container's command first.
        env["FREESCALING_LEARNING_DATABASE_URL"] = f"sqlite:///{data}/learning.db"
        migrated = subprocess.run(
            ["python", "-m", "services.learning.migrate"],
            env=env,
            cwd=built.workdir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert migrated.returncode == 0, migrated.stderr
        assert "schema at revision" in migrated.stdout
    port_file = tmp_path / "port"
    log = (tmp_path / "log").open("wb")
    process = subprocess.Popen(
        [*built.entrypoint, "--host", "127.0.0.1", "--port", "0", "--port-file", str(port_file)],
        cwd=built.workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: port_file.exists() and port_file.read_text().strip(), timeout=60)
        with grpc.insecure_channel(f"127.0.0.1:{int(port_file.read_text())}") as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=10
            )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
        log.close()
