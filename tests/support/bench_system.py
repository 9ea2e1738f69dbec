"""What the replay benchmarks (bench/routing.py, bench/decisions.py) share: a test-format
classifier checkpoint whose tokenizer knows the benchmark's text, and the four services started
as processes on loopback (SQLite), with a scripted OpenAI-compatible server behind the
ensemble."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.processes import ROOT, ServiceProcess

KEY = "nvapi-bench-not-a-key"
QUIET = {"FREESCALING_LOG_LEVEL": "WARNING"}


def make_checkpoint(workdir: Path, kind: str, corpus: list[str]) -> Path:
    """`tiny`: the test suite's checkpoint (64 wide, a 400-piece tokenizer). `bench`: random
    weights too, but a tokenizer trained on `corpus` (8000 pieces) and a 256-wide backbone, so
    that its embeddings keep prompts apart about as a bag of subwords would (the real model's
    128k-piece vocabulary covers any text; the tiny one maps most words to characters)."""
    command = ["services.classifier.tiny_checkpoint"]
    made_from = kind
    if kind == "bench":
        text = workdir / "corpus.txt"
        text.write_text("\n".join(" ".join(q[:2000].split()) for q in corpus) + "\n")
        command += ["--corpus", str(text), "--vocab-size", "8000", "--hidden-size", "256"]
        made_from += text.read_text()
    return _written(workdir / f"classifier-{kind}", command, made_from)


def make_embedder(workdir: Path) -> Path:
    """The test suite's embedder (random weights, sentence-transformers format), as `make try`
    uses it."""
    return _written(workdir / "embedder-tiny", ["services.classifier.tiny_embedder"], "")


def _written(directory: Path, command: list[str], made_from: str) -> Path:
    """`python -m <command> <directory>`'s output (each costs seconds: torch's import and a
    save). Where FREESCALING_BENCH_CACHE names a folder, one written before by the same module
    from the same `made_from` (kind and corpus) is reused from there (the test suite's smoke
    runs share one)."""
    cache = os.environ.get("FREESCALING_BENCH_CACHE", "")
    if cache:
        key = hashlib.sha256(f"{command[0]}\n{made_from}".encode())
        kept = Path(cache) / f"{directory.name}-{key.hexdigest()[:16]}"
        if not kept.is_dir():
            partial = Path(tempfile.mkdtemp(prefix=f".{kept.name}-", dir=cache))
            _run(command, partial / "out")
            # Whole or not at all: a concurrent run that got there first wins.
            with contextlib.suppress(OSError):
                (partial / "out").rename(kept)
            shutil.rmtree(partial, ignore_errors=True)
        return kept
    _run(command, directory)
    return directory


def _run(command: list[str], target: Path) -> None:
    module, *options = command
    subprocess.run(
        [sys.executable, "-m", module, str(target), *options],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def start_system(
    workdir: Path,
    checkpoint: Path,
    *,
    classifier_env: dict[str, str] | None = None,
    gateway_env: dict[str, str] | None = None,
) -> dict[str, ServiceProcess]:
    """learning (SQLite in `workdir`), the ensemble on `workdir/registry.yaml`, the classifier
    on `checkpoint`, then the gateway; returned by name, each serving and ready."""
    services = {
        "learning": ServiceProcess(
            "learning",
            workdir,
            env={**QUIET, "FREESCALING_LEARNING_DATABASE_URL": database_url(workdir)},
        ),
        "ensemble": ServiceProcess(
            "ensemble",
            workdir,
            env={
                **QUIET,
                "NVIDIA_API_KEY": KEY,
                "FREESCALING_ENSEMBLE_REGISTRY": str(workdir / "registry.yaml"),
                "FREESCALING_ENSEMBLE_RATE_LIMIT_RPM": "0",
                "FREESCALING_ENSEMBLE_BATCH_CONCURRENCY": "32",
            },
        ),
        "classifier": ServiceProcess(
            "classifier",
            workdir,
            env={
                **QUIET,
                "FREESCALING_CLASSIFIER_MODEL": str(checkpoint),
                "FREESCALING_CLASSIFIER_CENTROIDS": str(workdir / "centroids.safetensors"),
                **(classifier_env or {}),
            },
        ),
    }
    try:
        for s in services.values():
            s.start()
        for s in services.values():
            s.wait_serving(timeout=120).wait_ready(timeout=120)
        services["gateway"] = ServiceProcess(
            "gateway",
            workdir,
            env={
                **QUIET,
                "FREESCALING_CLASSIFIER_ADDR": services["classifier"].address,
                "FREESCALING_ENSEMBLE_ADDR": services["ensemble"].address,
                "FREESCALING_LEARNING_ADDR": services["learning"].address,
                "FREESCALING_GATEWAY_STREAM_TIMEOUT_S": "3600",
                # A whole validation set in one ProfileModels request.
                "FREESCALING_GATEWAY_BATCH_LIMIT": "10000",
                **(gateway_env or {}),
            },
        )
        services["gateway"].start().wait_serving().wait_ready()
    except BaseException:
        # One that failed to start must not leave the others running behind the benchmark.
        for s in services.values():
            s.stop()
        raise
    return services


def database_url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'learning.db'}"


def report(figures: dict) -> None:
    """A benchmark's figures, one per line, then all of them as the last line, in JSON."""
    import json

    for key, value in figures.items():
        print(f"{key:32s} {value}")
    print(json.dumps(figures))
