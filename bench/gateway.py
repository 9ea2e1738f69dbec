"""Benchmark of the gateway's own cost: the latency it adds to a public call beyond the
downstream calls it makes, measured side by side with those downstream calls made directly.

- Route: gateway.Route against the same work done directly (classifier.Classify, then
  learning.Route).
- scale(k=3): gateway.Scale on an explicit panel of three instant scripted models against
  ensemble.ScaleStream on the same panel whose result is then classified and recorded in
  learning the way the gateway does it: through an outbox of the same class and settings, off
  the latency path (so both sides load the machine alike, at the same moments).
At concurrency 1, gateway and direct calls alternate one by one and the overhead is the median
of the paired differences, so machine noise hits both alike; at concurrency 64, rounds of each
alternate and the overhead is the median of the rounds' p50 differences. The system runs as
four processes with the test-format classifier checkpoint and a local OpenAI-compatible server.

    python bench/gateway.py [--quick | --smoke]

--smoke: a few calls of each kind, to show the benchmark still runs (seconds; its figures mean
nothing).

Ends with one JSON line: overhead_p50_ms_route, overhead_p50_ms_scale, errors, and the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

from freescaling.classifier.v1 import classifier_pb2, classifier_pb2_grpc  # noqa: E402
from freescaling.common.v1 import records_pb2  # noqa: E402
from freescaling.ensemble.v1 import ensemble_pb2, ensemble_pb2_grpc  # noqa: E402
from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc  # noqa: E402
from services.common.settings import load  # noqa: E402
from services.gateway.config import GatewaySettings  # noqa: E402
from services.gateway.downstream import Downstreams  # noqa: E402
from services.gateway.outbox import Outbox, OutboxPolicy  # noqa: E402
from services.gateway.server import record_sender  # noqa: E402
from tests.support.bench_system import make_checkpoint  # noqa: E402
from tests.support.fake_openai import FakeOpenAI, Step  # noqa: E402
from tests.support.processes import ServiceProcess  # noqa: E402

KEY = "nvapi-bench-not-a-key"
PANEL = ["a", "b", "c"]
REGISTRY = """
defaults: {api_key_env: NVIDIA_API_KEY}
models:
  - {alias: a, model: nvidia_nim/bench/a, tier: fast}
  - {alias: b, model: nvidia_nim/bench/b, tier: fast}
  - {alias: c, model: nvidia_nim/bench/c, tier: fast}
  - {alias: d, model: nvidia_nim/bench/d, tier: fast}
panels:
  default-k3: [a, b, c]
"""
PROMPT = "Is 17 a prime number? Answer YES or NO."


def start_system(workdir: Path, fake: FakeOpenAI) -> dict[str, ServiceProcess]:
    checkpoint = make_checkpoint(workdir, "tiny", [])
    (workdir / "registry.yaml").write_text(REGISTRY)
    quiet = {"FREESCALING_LOG_LEVEL": "WARNING"}
    services = {
        "learning": ServiceProcess(
            "learning",
            workdir,
            env={**quiet, "FREESCALING_LEARNING_DATABASE_URL": f"sqlite:///{workdir / 'l.db'}"},
        ),
        "ensemble": ServiceProcess(
            "ensemble",
            workdir,
            env={
                **quiet,
                "NVIDIA_API_KEY": KEY,
                "FREESCALING_ENSEMBLE_REGISTRY": str(workdir / "registry.yaml"),
                "FREESCALING_ENSEMBLE_API_BASE": fake.base_url,
                "FREESCALING_ENSEMBLE_RATE_LIMIT_RPM": "0",
            },
        ),
        "classifier": ServiceProcess(
            "classifier",
            workdir,
            env={
                **quiet,
                "FREESCALING_CLASSIFIER_MODEL": str(checkpoint),
                "FREESCALING_CLASSIFIER_CENTROIDS": str(workdir / "centroids.safetensors"),
            },
        ),
    }
    for s in services.values():
        s.start()
    for s in services.values():
        s.wait_serving(timeout=120).wait_ready(timeout=120)
    gateway = ServiceProcess(
        "gateway",
        workdir,
        env={
            **quiet,
            "FREESCALING_CLASSIFIER_ADDR": services["classifier"].address,
            "FREESCALING_ENSEMBLE_ADDR": services["ensemble"].address,
            "FREESCALING_LEARNING_ADDR": services["learning"].address,
        },
    )
    services["gateway"] = gateway.start().wait_serving().wait_ready()
    return services


class Calls:
    """The two sides of each comparison, as coroutines making one call."""

    def __init__(self, services: dict[str, ServiceProcess]) -> None:
        self.channels = {n: grpc.aio.insecure_channel(s.address) for n, s in services.items()}
        self.gateway = gateway_pb2_grpc.GatewayStub(self.channels["gateway"])
        self.classifier = classifier_pb2_grpc.ClassifierStub(self.channels["classifier"])
        self.learning = learning_pb2_grpc.LearningStub(self.channels["learning"])
        self.ensemble = ensemble_pb2_grpc.EnsembleStub(self.channels["ensemble"])
        self.health = health_pb2_grpc.HealthStub(self.channels["gateway"])
        # The gateway's own outbox and sender, with its default settings, in this process.
        settings = load(
            GatewaySettings, [], {"FREESCALING_LEARNING_ADDR": services["learning"].address}
        )
        self.downstreams = Downstreams(settings)
        self.outbox = Outbox(
            record_sender(self.downstreams, timeout_s=30),
            OutboxPolicy(
                batch_size=settings.outbox_batch_size, linger_s=settings.outbox_linger_ms / 1000
            ),
        )

    async def hop(self) -> None:
        """A no-op RPC to the gateway (health Check): what any extra gRPC hop costs here."""
        await self.health.Check(health_pb2.HealthCheckRequest(), timeout=30)

    async def gateway_route(self) -> None:
        await self.gateway.Route(gateway_pb2.RouteRequest(text=PROMPT), timeout=30)

    async def direct_route(self) -> None:
        reply = await self.classifier.Classify(
            classifier_pb2.ClassifyRequest(text=PROMPT), timeout=30
        )
        if reply.classification.HasField("cluster_id"):
            await self.learning.Route(
                learning_pb2.RouteRequest(cluster_id=reply.classification.cluster_id), timeout=30
            )

    async def gateway_scale(self) -> None:
        await self.gateway.Scale(
            gateway_pb2.ScaleRequest(
                question=PROMPT, k=3, answer_patterns=["YES", "NO"], models=PANEL, no_shadow=True
            ),
            timeout=30,
        )

    async def direct_scale(self) -> None:
        # The gateway votes through ScaleStream (a late shadow's vote would follow the result).
        stream = self.ensemble.ScaleStream(
            ensemble_pb2.ScaleRequest(
                question=PROMPT,
                k=3,
                answer_patterns=["YES", "NO"],
                models=PANEL,
                no_shadow=True,
                answer_within_s=30,
            ),
            timeout=30,
        )
        result = (await stream.read()).result
        stream.cancel()
        record = records_pb2.CallRecord(
            call_id=result.call_id,
            kind=records_pb2.CALL_KIND_SCALE,
            question=PROMPT,
            answer_patterns=list(result.answer_patterns),
            answer=result.answer,
            confidence=result.confidence,
            outcome=result.outcome,
            votes=list(result.votes),
            latency_s=result.elapsed_s,
            k=3,
        )
        # Classified after the answer, as the gateway does for a fixed k.
        self.outbox.put_later(record, self._classify(record))

    async def _classify(self, record: records_pb2.CallRecord) -> None:
        reply = await self.classifier.Classify(
            classifier_pb2.ClassifyRequest(text=PROMPT), timeout=2.0
        )
        record.routing.classification.CopyFrom(reply.classification)

    async def settle(self) -> None:
        """Wait for the direct side's background records, as the gateway's outbox drains."""
        while self.outbox.depth:
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        await self.outbox.close(10.0)
        await self.downstreams.close()
        for channel in self.channels.values():
            await channel.close()


async def measure(call, n: int, concurrency: int, errors: list[str]) -> list[float]:
    latencies: list[float] = []
    bound = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with bound:
            started = time.perf_counter()
            try:
                await call()
            except grpc.aio.AioRpcError as exc:
                errors.append(f"{exc.code().name}: {exc.details()}")
                return
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(one() for _ in range(n)))
    return latencies


def p50_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000 if values else float("nan")


async def timed(call, errors: list[str]) -> float | None:
    started = time.perf_counter()
    try:
        await call()
    except grpc.aio.AioRpcError as exc:
        errors.append(f"{exc.code().name}: {exc.details()}")
        return None
    return time.perf_counter() - started


async def compare_paired(name, gateway_call, direct_call, pairs, errors) -> dict:
    """Concurrency 1: gateway and direct calls alternate one by one (in ABBA order, so neither
    side always goes first); the overhead is the median of the differences within each pair.
    Adjacent calls see the same machine, so its drift and noise cancel out."""
    via, direct, differences = [], [], []
    for i in range(pairs):
        order = (gateway_call, direct_call) if i % 2 == 0 else (direct_call, gateway_call)
        first, second = [await timed(call, errors) for call in order]
        if first is None or second is None:
            continue
        v, d = (first, second) if i % 2 == 0 else (second, first)
        via.append(v)
        direct.append(d)
        differences.append(v - d)
    return {
        "call": name,
        "concurrency": 1,
        "gateway_p50_ms": round(p50_ms(via), 3),
        "direct_p50_ms": round(p50_ms(direct), 3),
        "overhead_p50_ms": round(p50_ms(differences), 3),
    }


async def compare_rounds(calls, name, gateway_call, direct_call, n, rounds, errors) -> dict:
    """Concurrency 64: rounds of n gateway calls then n direct calls, 64 in flight; the
    overhead is the median over rounds of the two sides' p50 difference."""
    via, direct, differences = [], [], []
    for _ in range(rounds):
        round_via = await measure(gateway_call, n, 64, errors)
        round_direct = await measure(direct_call, n, 64, errors)
        await calls.settle()
        via += round_via
        direct += round_direct
        differences.append(p50_ms(round_via) - p50_ms(round_direct))
    return {
        "call": name,
        "concurrency": 64,
        "gateway_p50_ms": round(p50_ms(via), 3),
        "direct_p50_ms": round(p50_ms(direct), 3),
        "overhead_p50_ms": round(statistics.median(differences), 3),
    }


async def run(services: dict[str, ServiceProcess], quick: bool, smoke: bool = False) -> dict:
    calls = Calls(services)
    await calls.outbox.start()
    errors: list[str] = []
    # Pairs at concurrency 1; calls per round and rounds at 64: quick stays under a minute here.
    pairs, n64, rounds = (4, 8, 1) if smoke else (120, 64, 2) if quick else (600, 256, 4)
    # Warm up every path (connections, lazy imports, caches).
    await measure(calls.gateway_route, 8, 4, errors)
    await measure(calls.gateway_scale, 8, 4, errors)
    await measure(calls.direct_route, 8, 4, errors)
    await measure(calls.direct_scale, 8, 4, errors)
    await calls.settle()
    errors.clear()
    sides = (
        ("route", calls.gateway_route, calls.direct_route),
        ("scale", calls.gateway_scale, calls.direct_scale),
    )
    hops = [t for _ in range(pairs) if (t := await timed(calls.hop, errors)) is not None]
    rows = [await compare_paired(name, via, direct, pairs, errors) for name, via, direct in sides]
    await calls.settle()
    for name, via, direct in sides:
        rows.append(await compare_rounds(calls, name, via, direct, n64, rounds, errors))
    await calls.close()
    return {"rows": rows, "errors": errors, "hop_p50_ms": round(p50_ms(hops), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer calls: under a minute")
    parser.add_argument("--smoke", action="store_true", help="a few calls: does it still run?")
    args = parser.parse_args()
    fake = FakeOpenAI(default=Step(text="Answer: YES")).start()
    with tempfile.TemporaryDirectory() as scratch:
        services = start_system(Path(scratch), fake)
        try:
            outcome = asyncio.run(run(services, args.quick, args.smoke))
        finally:
            for s in reversed(list(services.values())):
                s.stop()
            fake.stop()
    rows = outcome["rows"]
    print(f"{'call':<6} {'conc':>4} {'gateway p50':>12} {'direct p50':>11} {'overhead':>9}")
    for r in rows:
        print(
            f"{r['call']:<6} {r['concurrency']:>4} {r['gateway_p50_ms']:>10.2f}ms "
            f"{r['direct_p50_ms']:>9.2f}ms {r['overhead_p50_ms']:>7.2f}ms"
        )
    print(f"a no-op RPC to the gateway (the floor of any extra hop): {outcome['hop_p50_ms']:.2f}ms")
    if outcome["errors"]:
        print(f"errors: {len(outcome['errors'])}, first: {outcome['errors'][0]}")
    by = {(r["call"], r["concurrency"]): r for r in rows}
    figures = {
        "overhead_p50_ms_route": by[("route", 1)]["overhead_p50_ms"],
        "overhead_p50_ms_scale": by[("scale", 1)]["overhead_p50_ms"],
        "overhead_p50_ms_route_c64": by[("route", 64)]["overhead_p50_ms"],
        "overhead_p50_ms_scale_c64": by[("scale", 64)]["overhead_p50_ms"],
        "hop_p50_ms": outcome["hop_p50_ms"],
        "errors": len(outcome["errors"]),
        "quick": args.quick,
        "smoke": args.smoke,
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
