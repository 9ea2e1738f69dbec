"""Every benchmark under bench/ runs in its smoke mode (`--smoke`: a few requests on the smallest
setup, its figures printed but not judged) and ends with its JSON line, so a benchmark that no
longer starts fails the suite instead of the next person who runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = sorted(p.name for p in (ROOT / "bench").glob("*.py"))
# bench/routing.py replays a data set kept beside the repository, not in it (see its docstring).
ROUTING_DATA = Path(
    os.environ.get(
        "FREESCALING_ROUTING_DATA", str(ROOT.parent / "shared" / "data" / "routing-dcrouter")
    )
)
# bench/parser_real.py and bench/real_votes.py read real model outputs kept beside the repository
# too.
MMLU_DATA = Path(
    os.environ.get(
        "FREESCALING_MMLU_DATA", str(ROOT.parent / "shared" / "data" / "mmlu-pro-outputs")
    )
)
# Seconds for one smoke run: each takes under 40 s on 2 shared cores; the margin is for a
# machine busy with other work, not for a benchmark that has grown.
SMOKE_TIMEOUT_S = 240


def test_every_benchmark_is_found():
    assert {"classifier.py", "ensemble.py", "gateway.py", "http_api.py"} <= set(BENCHMARKS)


# Two run at once: each is mostly processes starting (imports, one core each), so two share this
# machine's cores where one after the other would leave one idle.
SMOKE_CONCURRENCY = 2


def _missing_data(script: str) -> str:
    if script == "routing.py" and not ROUTING_DATA.is_dir():
        return f"bench/routing.py's data set is not at {ROUTING_DATA}"
    if script in ("parser_real.py", "real_votes.py") and not MMLU_DATA.is_dir():
        return f"bench/{script}'s data set is not at {MMLU_DATA}"
    return ""


def _smoke(script: str, scratch: Path, cache: Path) -> subprocess.CompletedProcess | str:
    """One benchmark's smoke run; a string says it ran over its time."""
    # Scratch files (checkpoints, databases, registries) go under its own folder; the tiny
    # classifier checkpoint is written once for all of them (tests/support/bench_system.py).
    env = {**os.environ, "TMPDIR": str(scratch), "FREESCALING_BENCH_CACHE": str(cache)}
    try:
        return subprocess.run(
            [sys.executable, f"bench/{script}", "--smoke"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=SMOKE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        return f"bench/{script} --smoke ran over {SMOKE_TIMEOUT_S} s: {exc.stdout!r:.2000}"


@pytest.fixture(scope="module")
def smoke_runs(request, tmp_path_factory):
    """The selected benchmarks' smoke runs, started in the tests' order, SMOKE_CONCURRENCY at a
    time."""
    selected = [
        item.callspec.params["script"]
        for item in request.session.items
        if item.originalname == "test_the_benchmark_runs_in_smoke_mode"
    ]
    cache = tmp_path_factory.mktemp("bench-cache")
    pool = ThreadPoolExecutor(max_workers=SMOKE_CONCURRENCY)
    runs = {
        script: pool.submit(_smoke, script, tmp_path_factory.mktemp(script[:-3]), cache)
        for script in selected
        if not _missing_data(script)
    }
    yield runs
    pool.shutdown(cancel_futures=True)


# Each waits at most for its own run: the one before it in its lane has finished by then.
@pytest.mark.timeout(SMOKE_TIMEOUT_S + 30)
@pytest.mark.parametrize("script", BENCHMARKS)
def test_the_benchmark_runs_in_smoke_mode(script, smoke_runs):
    if reason := _missing_data(script):
        pytest.skip(reason)
    run = smoke_runs[script].result()
    if isinstance(run, str):
        pytest.fail(run)
    tail = f"stdout:\n{run.stdout[-3000:]}\nstderr:\n{run.stderr[-3000:]}"
    assert run.returncode == 0, tail
    lines = run.stdout.strip().splitlines()
    assert lines and isinstance(json.loads(lines[-1]), dict), tail
