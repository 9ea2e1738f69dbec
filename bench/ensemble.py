"""Benchmark of the ensemble service against a local OpenAI-compatible server whose models have
known latencies.

1. scale(k=3) latency with short-circuit, against the ideal: the latency of the second agreeing
   answer (panel models of 300, 400 and 600 ms that all agree: ideal 400 ms; a shadow model of
   500 ms runs too, as in production).
2. Service CPU per model call (utime + stime of the service process over the concurrent rounds,
   divided by the provider calls it started), side by side with a baseline: direct calls with
   the same client library (litellm `acompletion`, the same SDK client) from a plain process, as
   many at once as the service's rounds start.
3. 200 concurrent scale(k=3) calls (one round quick, three in full): errors, and the service's
   threads and open file descriptors before and after each round. The provider client keeps up
   to 100 idle keep-alive connections (the OpenAI SDK's default pool), so descriptors are
   compared with the connections the fake server still has open: a leak is growth in the rest.

    python bench/ensemble.py [--quick | --smoke]

--smoke: a few calls of each kind, to show the benchmark still runs (seconds; its figures mean
nothing and only errors fail it).

Ends with one JSON line: latency_ratio_vs_ideal, overhead_ms_per_call, errors, and the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from freescaling.ensemble.v1 import ensemble_pb2, ensemble_pb2_grpc  # noqa: E402
from tests.support.fake_openai import FakeOpenAI, Step  # noqa: E402
from tests.support.processes import ServiceProcess  # noqa: E402

KEY = "nvapi-bench-not-a-key"
LATENCIES = {"a": 0.3, "b": 0.4, "c": 0.6, "shadow": 0.5}
IDEAL_S = 0.4  # the second agreeing answer
PATTERNS = ["YES", "NO"]

REGISTRY = """
defaults: {api_key_env: NVIDIA_API_KEY}
models:
  - {alias: a, model: nvidia_nim/bench/a, tier: fast}
  - {alias: b, model: nvidia_nim/bench/b, tier: fast}
  - {alias: c, model: nvidia_nim/bench/c, tier: fast}
  - {alias: shadow, model: nvidia_nim/bench/shadow, tier: fast}
panels:
  default-k3: [a, b, c]
"""

BASELINE = r"""
import asyncio, os, sys, time
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, sys.argv[3])
from services.ensemble.provider import _NoRetryClient  # the same client the service uses
import litellm
litellm.suppress_debug_info = True
base, n, burst = sys.argv[1], int(sys.argv[2]), int(sys.argv[4])
client = _NoRetryClient(base_url=base, api_key="k")
messages = [{"role": "system", "content": "Answer YES or NO."}, {"role": "user", "content": "q"}]

async def one():
    await litellm.acompletion(model="nvidia_nim/bench/fast", messages=messages, client=client,
                              api_key="k", max_retries=0, timeout=30, max_tokens=1024)

async def main():
    await one()  # warm up, as the service is warmed up
    begin = time.process_time()
    sem = asyncio.Semaphore(burst)
    async def bounded():
        async with sem:
            await one()
    await asyncio.gather(*(bounded() for _ in range(n)))
    print((time.process_time() - begin) / n)

asyncio.run(main())
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def threads_and_fds(pid: int) -> tuple[int, int]:
    return len(os.listdir(f"/proc/{pid}/task")), len(os.listdir(f"/proc/{pid}/fd"))


def scale(stub, i: int) -> ensemble_pb2.ScaleRequest:
    return stub.Scale(
        ensemble_pb2.ScaleRequest(question=f"Is {i} even?", k=3, answer_patterns=PATTERNS),
        timeout=60,
    )


def concurrent_round(stub, n: int) -> tuple[list, int, float]:
    results, errors = [], 0
    lock = threading.Lock()

    def call(i: int) -> None:
        nonlocal errors
        try:
            result = scale(stub, i)
            ok = result.answer == "YES"
        except grpc.RpcError:
            result, ok = None, False
        with lock:
            if ok:
                results.append(result)
            else:
                errors += 1

    begin = time.perf_counter()
    with ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(call, range(n)))
    return results, errors, time.perf_counter() - begin


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (under a minute)")
    parser.add_argument("--smoke", action="store_true", help="a few calls: does it still run?")
    args = parser.parse_args()
    sequential = 2 if args.smoke else 10 if args.quick else 60
    rounds = 1 if args.quick or args.smoke else 3
    concurrent = 8 if args.smoke else 200
    # Direct calls in bursts shaped like the service's load: 200 scale calls start 800 model
    # calls at once (panel and shadow), so the baseline opens as many connections at once.
    # (quick: half as many, 400 at once, to stay under a minute).
    baseline_calls = 2 * concurrent if args.quick or args.smoke else 8 * concurrent

    fake = FakeOpenAI(default=Step(text="Answer: YES")).start()
    for name, delay in LATENCIES.items():
        fake.script(f"bench/{name}", Step(text="Answer: YES", delay_s=delay))
    fake.script("bench/fast", Step(text="Answer: YES"))
    work = Path(tempfile.mkdtemp(prefix="bench-ensemble-"))
    (work / "registry.yaml").write_text(REGISTRY)
    service = ServiceProcess(
        "ensemble",
        work,
        env={
            "NVIDIA_API_KEY": KEY,
            "FREESCALING_ENSEMBLE_REGISTRY": str(work / "registry.yaml"),
            "FREESCALING_ENSEMBLE_API_BASE": fake.base_url,
            "FREESCALING_ENSEMBLE_RATE_LIMIT_RPM": "0",
            "FREESCALING_LOG_LEVEL": "WARNING",
        },
    )
    service.start().wait_serving(timeout=120).wait_ready()
    pid = service.process.pid
    stub = ensemble_pb2_grpc.EnsembleStub(service.channel())
    errors = 0
    try:
        for i in range(3):  # warm-up: first calls build clients and connections
            scale(stub, i)

        # 1. latency against the ideal
        latencies, short = [], 0
        for i in range(sequential):
            begin = time.perf_counter()
            result = scale(stub, i)
            latencies.append(time.perf_counter() - begin)
            short += result.short_circuited
            errors += result.answer != "YES"
        median = statistics.median(latencies)

        # 2 and 3. rounds of 200 concurrent calls; CPU over all of them
        marks = [(*threads_and_fds(pid), fake.open_connections)]
        cpu_begin = cpu_seconds(pid)
        cpu_used, all_results, walls = 0.0, [], []
        for _ in range(rounds):
            results, round_errors, wall = concurrent_round(stub, concurrent)
            cpu_used = cpu_seconds(pid) - cpu_begin
            all_results += results
            walls.append((wall, round_errors))
            errors += round_errors
            time.sleep(1.0)
            marks.append((*threads_and_fds(pid), fake.open_connections))
        # Panel and shadow calls: both cost the service CPU.
        calls = sum(r.calls_made + r.shadow_calls_made for r in all_results)
        service_ms = cpu_used / max(calls, 1) * 1000
    finally:
        code = service.stop()
        errors += code != 0

    baseline = subprocess.run(
        [
            sys.executable,
            "-c",
            BASELINE,
            fake.base_url,
            str(baseline_calls),
            str(ROOT),
            str(min(baseline_calls, 4 * concurrent)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    fake.stop()
    baseline_ms = float(baseline.stdout.strip().splitlines()[-1]) * 1000
    overhead = service_ms - baseline_ms
    thread_growth = marks[-1][0] - marks[0][0]
    fd_growth = marks[-1][1] - marks[0][1]
    # Descriptors that are not kept-alive connections to the provider: a leak grows these.
    other_fds = [fds - conns for _, fds, conns in marks]
    other_fd_growth = other_fds[-1] - other_fds[0]
    leak = thread_growth > 2 or other_fd_growth > 5

    rows = [
        ("scale(k=3) median latency", f"{median * 1000:.0f} ms", f"ideal {IDEAL_S * 1000:.0f} ms"),
        ("  ratio to ideal (target <= 1.1)", f"{median / IDEAL_S:.3f}", ""),
        ("  p90 latency", f"{sorted(latencies)[int(0.9 * len(latencies))] * 1000:.0f} ms", ""),
        ("  short-circuited", f"{short}/{sequential}", ""),
        ("CPU per model call, service", f"{service_ms:.2f} ms", f"{calls} calls started"),
        (
            "  CPU per scale(k=3) RPC, service",
            f"{cpu_used / max(len(all_results), 1) * 1000:.2f} ms",
            "panel + shadow, some cancelled",
        ),
        ("CPU per model call, direct litellm", f"{baseline_ms:.2f} ms", f"{baseline_calls} calls"),
        ("  overhead (target <= 3 ms)", f"{overhead:.2f} ms", ""),
        *(
            (f"{concurrent} concurrent scale(k=3), round {n}", f"{w:.2f} s", f"{e} errors")
            for n, (w, e) in enumerate(walls, start=1)
        ),
        ("service threads, before and after each round", "/".join(str(m[0]) for m in marks), ""),
        ("service open fds, before and after each round", "/".join(str(m[1]) for m in marks), ""),
        ("  of which pooled provider connections", "/".join(str(m[2]) for m in marks), ""),
        ("  leak (threads +3, or other fds +6)", "yes" if leak else "no", ""),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")
    print(
        json.dumps(
            {
                "latency_ratio_vs_ideal": round(median / IDEAL_S, 4),
                "median_latency_ms": round(median * 1000, 1),
                "ideal_latency_ms": IDEAL_S * 1000,
                "service_cpu_ms_per_call": round(service_ms, 3),
                "baseline_cpu_ms_per_call": round(baseline_ms, 3),
                "overhead_ms_per_call": round(overhead, 3),
                "concurrent_calls": rounds * concurrent,
                "errors": errors,
                "thread_growth": thread_growth,
                "fd_growth": fd_growth,
                "non_connection_fd_growth": other_fd_growth,
                "leak": leak,
                "quick": args.quick,
                "smoke": args.smoke,
            }
        )
    )
    # A smoke run's thread and descriptor counts are too few calls to tell a leak.
    return 0 if errors == 0 and (args.smoke or not leak) else 1


if __name__ == "__main__":
    sys.exit(main())
