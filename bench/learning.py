"""Benchmark of the learning service: RecordCall with 3 votes plus a shadow, 16 concurrent gRPC
clients, on a SQLite file and on PostgreSQL (127.0.0.1:5432), calls per second and latency
percentiles. Baseline, measured in the same run against the same process: GetInfo, an RPC that
touches no database (the gRPC + Python floor).

    python bench/learning.py [--quick | --smoke] [--calls N] [--clients 16] [--postgres-url URL]
        [--databases sqlite,postgres]

--smoke: 40 calls from 4 clients per database, to show the benchmark still runs (its figures
mean nothing).

Ends with one JSON line: sqlite_calls_per_s, postgres_calls_per_s, sqlite_p99_ms,
postgres_p99_ms (null where PostgreSQL is not reachable), and the baselines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402
import psycopg  # noqa: E402

from freescaling.common.v1 import info_pb2, records_pb2, voting_pb2  # noqa: E402
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc  # noqa: E402
from tests.support.processes import ServiceProcess  # noqa: E402

MODELS = [f"bench-{i}" for i in range(8)]
PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "dbname": "test"}


def make_record(rng: random.Random) -> records_pb2.CallRecord:
    panel = rng.sample(MODELS, 4)
    majority, minority = rng.choice([("YES", "NO"), ("NO", "YES")])
    answers = [majority, majority, rng.choice([majority, minority])]
    votes = [
        voting_pb2.Vote(
            model=m,
            raw_output=f"Answer: {a}",
            parsed_answer=a,
            latency_s=rng.uniform(0.2, 2.0),
            usage=voting_pb2.Usage(prompt_tokens=120, completion_tokens=8, total_tokens=128),
        )
        for m, a in zip(panel[:3], answers, strict=True)
    ]
    return records_pb2.CallRecord(
        call_id=str(uuid.uuid4()),
        kind=records_pb2.CALL_KIND_SCALE,
        question="Is this message urgent? Answer YES or NO.",
        answer_patterns=["YES", "NO"],
        answer=majority,
        confidence=answers.count(majority) / 3,
        outcome=voting_pb2.SCALE_OUTCOME_MAJORITY,
        votes=votes,
        shadow=voting_pb2.Vote(model=panel[3], parsed_answer=rng.choice(["YES", "NO"])),
        usage=voting_pb2.Usage(prompt_tokens=480, completion_tokens=32, total_tokens=512),
        latency_s=rng.uniform(0.5, 3.0),
        k=3,
    )


async def drive(address: str, clients: int, total: int, rpc: str) -> tuple[float, list[float]]:
    """`total` RPCs spread over `clients` concurrent clients (one channel each)."""
    rng = random.Random(11)
    records = [make_record(rng) for _ in range(total)] if rpc == "RecordCall" else []
    latencies: list[float] = []
    channels = [grpc.aio.insecure_channel(address) for _ in range(clients)]
    stubs = [learning_pb2_grpc.LearningStub(c) for c in channels]
    counter = iter(range(total))

    async def client(stub) -> None:
        for i in counter:
            start = time.perf_counter()
            if rpc == "RecordCall":
                await stub.RecordCall(learning_pb2.RecordCallRequest(record=records[i]), timeout=30)
            else:
                await stub.GetInfo(info_pb2.GetInfoRequest(), timeout=30)
            latencies.append(time.perf_counter() - start)

    for stub in stubs:  # connect before the clock starts
        await stub.GetInfo(info_pb2.GetInfoRequest(), timeout=30)
    start = time.perf_counter()
    await asyncio.gather(*(client(s) for s in stubs))
    elapsed = time.perf_counter() - start
    for c in channels:
        await c.close()
    return total / elapsed, latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(fraction * len(ordered) + 0.5) - 1))]


def run_backend(url: str, workdir: Path, args) -> dict[str, float]:
    learning = ServiceProcess("learning", workdir, env={"FREESCALING_LEARNING_DATABASE_URL": url})
    learning.start().wait_serving(60).wait_ready()
    try:
        stub = learning_pb2_grpc.LearningStub(learning.channel())
        seed = records_pb2.CallRecord(
            call_id="bench-register",
            kind=records_pb2.CALL_KIND_SCALE,
            votes=[voting_pb2.Vote(model=m) for m in MODELS],
        )
        stub.RecordCall(learning_pb2.RecordCallRequest(record=seed, register_models=True))
        asyncio.run(drive(learning.address, args.clients, min(200, args.calls), "RecordCall"))
        base_rate, base_lat = asyncio.run(
            drive(learning.address, args.clients, args.calls, "GetInfo")
        )
        server_cpu = cpu_seconds(learning.process.pid)
        client_cpu = time.process_time()
        rate, lat = asyncio.run(drive(learning.address, args.clients, args.calls, "RecordCall"))
        client_cpu = time.process_time() - client_cpu
        server_cpu = cpu_seconds(learning.process.pid) - server_cpu
    finally:
        learning.stop()
    return {
        "calls_per_s": rate,
        "p50_ms": percentile(lat, 0.50) * 1000,
        "p99_ms": percentile(lat, 0.99) * 1000,
        "baseline_per_s": base_rate,
        "baseline_p99_ms": percentile(base_lat, 0.99) * 1000,
        "server_cpu_ms": server_cpu / args.calls * 1000,
        "client_cpu_ms": client_cpu / args.calls * 1000,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_database() -> tuple[str | None, str, object]:
    """A fresh database (URL, "", drop function), or (None, why, None)."""
    reason = ""
    for user in ("postgres", None):
        try:
            conn = psycopg.connect(**PG_ADMIN, user=user, autocommit=True, connect_timeout=3)
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0]
            continue
        name = f"fs_bench_{uuid.uuid4().hex[:10]}"
        conn.execute(f'CREATE DATABASE "{name}"')

        def drop(conn=conn, name=name) -> None:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.close()

        return f"postgresql://{conn.info.user}@127.0.0.1:5432/{name}", "", drop
    return None, reason, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (under a minute)")
    parser.add_argument("--smoke", action="store_true", help="a few calls: does it still run?")
    parser.add_argument("--calls", type=int, default=0, help="RecordCalls per database")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--postgres-url", default="", help="use this database instead")
    parser.add_argument(
        "--databases", default="sqlite,postgres", help="which to run, comma-separated"
    )
    args = parser.parse_args()
    if args.smoke:
        args.calls, args.clients = args.calls or 40, 4
    args.calls = args.calls or (2000 if args.quick else 10000)
    results: dict[str, dict[str, float] | None] = {}
    with tempfile.TemporaryDirectory(prefix="bench-learning-") as tmp:
        wanted = set(args.databases.split(","))
        results["sqlite"] = (
            run_backend(f"sqlite:///{Path(tmp) / 'learning.db'}", Path(tmp) / "sqlite", args)
            if "sqlite" in wanted
            else None
        )
        url, reason, drop = (
            (args.postgres_url, "", None) if args.postgres_url else postgres_database()
        )
        if "postgres" not in wanted:
            if drop:
                drop()
            url, reason = None, "not asked for"
        if url:
            try:
                results["postgres"] = run_backend(url, Path(tmp) / "postgres", args)
            finally:
                if drop:
                    drop()
        else:
            print(f"PostgreSQL skipped: {reason}", file=sys.stderr)
            results["postgres"] = None

    print(
        f"\nRecordCall (3 votes + shadow), {args.clients} clients, {args.calls} calls per database"
    )
    print(
        f"{'database':<10} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'srv cpu ms':>10} "
        f"{'cli cpu ms':>10}   {'baseline GetInfo/s':>18} {'p99 ms':>8}"
    )
    for name, r in results.items():
        if r is None:
            print(f"{name:<10} {'skipped':>9}")
            continue
        print(
            f"{name:<10} {r['calls_per_s']:>9.0f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
            f"{r['server_cpu_ms']:>10.2f} {r['client_cpu_ms']:>10.2f}   "
            f"{r['baseline_per_s']:>18.0f} {r['baseline_p99_ms']:>8.1f}"
        )
    print("targets: >= 400 calls/s and p99 < 100 ms on each database")
    print("srv/cli cpu ms: CPU per recorded call of the learning process / of this client")
    figures = {}
    for name in ("sqlite", "postgres"):
        r = results[name]
        figures[f"{name}_calls_per_s"] = round(r["calls_per_s"], 1) if r else None
        figures[f"{name}_p99_ms"] = round(r["p99_ms"], 2) if r else None
        figures[f"{name}_baseline_getinfo_per_s"] = round(r["baseline_per_s"], 1) if r else None
    figures.update(clients=args.clients, calls=args.calls, smoke=args.smoke)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
