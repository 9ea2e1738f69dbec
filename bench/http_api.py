"""Benchmark of the gateway's OpenAI-compatible HTTP API: the latency it adds over the same call
made through gRPC `Chat`, side by side in one run against one gateway.

- non-streamed: POST /v1/chat/completions (the whole answer) against gRPC Chat read to its end;
- time to first token: the same request with "stream": true, until the first content delta
  arrives, against gRPC Chat until its first delta chunk.
Both name the model (no classification), so both sides make exactly the same downstream calls
and record the same way; the difference is the HTTP surface (parsing, translation, JSON, SSE)
against the gRPC one. At concurrency 1 the two sides alternate call by call in ABBA order and the
overhead is the median of the paired differences, so machine noise hits both alike; at
concurrency 64, rounds of each alternate and the overhead is the median of the rounds' p50
differences. The HTTP side is measured with a minimal keep-alive HTTP/1.1 client, as lean as
gRPC's C client, so that the figure is the server's; a row with the official OpenAI SDK (httpx)
shows what a typical Python client adds on top. The system runs as four processes with the
test-format classifier checkpoint and a local OpenAI-compatible server playing instant models.

    python bench/http_api.py [--quick | --smoke]

--smoke: a few calls of each kind, to show the benchmark still runs (seconds; its figures mean
nothing).

Targets (issue 13): http_overhead_p50_ms at most 1.0 at concurrency 1; errors 0 at 64. Ends
with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402
import openai  # noqa: E402

from bench.gateway import start_system  # noqa: E402
from freescaling.common.v1 import calls_pb2  # noqa: E402
from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402
from tests.support.fake_openai import FakeOpenAI, Step  # noqa: E402
from tests.support.processes import free_port  # noqa: E402

MODEL = "a"
PROMPT = "Is 17 a prime number? Answer YES or NO."
BODY = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]}).encode()
STREAM_BODY = json.dumps(
    {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": PROMPT}]}
).encode()


class CallFailed(Exception):
    pass


class RawHttp:
    """Keep-alive HTTP/1.1 connections, one request at a time each: the request written in one
    piece, the response read by Content-Length or chunk by chunk."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, path: str, body: bytes) -> float | None:
        """Send; return seconds to the first body bytes of a chunked (streamed) answer, None
        for a whole one; raise CallFailed on anything but 200."""
        started = time.perf_counter()
        request = (
            b"POST %s HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (path.encode(), self.host.encode(), len(body), body)
        )
        while True:
            reused = bool(self.idle)
            if reused:
                reader, writer = self.idle.pop()
            else:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            writer.write(request)
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                break
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
                # The server closed an idle keep-alive connection: as any client, take another.
                if not reused:
                    raise
        status = int(head[9:12])
        lowered = head.lower()
        first = None
        if b"transfer-encoding: chunked" in lowered:
            data = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                if size == 0:
                    await reader.readexactly(2)
                    break
                piece = await reader.readexactly(size + 2)
                if first is None and b'"content":"' in piece.replace(b'"content":""', b""):
                    first = time.perf_counter() - started
                data.append(piece)
            text = b"".join(data)
        else:
            length = int(lowered.split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
            text = await reader.readexactly(length)
        self.idle.append((reader, writer))
        if status != 200:
            raise CallFailed(f"HTTP {status}: {text[:200]!r}")
        return first

    async def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


class Sides:
    """One call of each kind, as coroutines returning the latency that counts (seconds)."""

    def __init__(self, grpc_address: str, http_base: str) -> None:
        self.channel = grpc.aio.insecure_channel(grpc_address)
        self.gateway = gateway_pb2_grpc.GatewayStub(self.channel)
        self.http = RawHttp(http_base)
        self.sdk = openai.AsyncOpenAI(base_url=f"{http_base}/v1", api_key="x", max_retries=0)
        self.request = gateway_pb2.ChatRequest(
            model=MODEL, messages=[calls_pb2.ChatMessage(role="user", content=PROMPT)]
        )

    async def grpc_whole(self) -> float:
        started = time.perf_counter()
        kinds = [c.WhichOneof("chunk") async for c in self.gateway.Chat(self.request, timeout=30)]
        if kinds[-1] != "done":
            raise CallFailed(f"gRPC Chat ended without done: {kinds}")
        return time.perf_counter() - started

    async def grpc_first_token(self) -> float:
        started = time.perf_counter()
        first = None
        async for chunk in self.gateway.Chat(self.request, timeout=30):
            if first is None and chunk.WhichOneof("chunk") == "delta":
                first = time.perf_counter() - started
        if first is None:
            raise CallFailed("gRPC Chat sent no delta")
        return first

    async def http_whole(self) -> float:
        started = time.perf_counter()
        await self.http.post("/v1/chat/completions", BODY)
        return time.perf_counter() - started

    async def http_first_token(self) -> float:
        first = await self.http.post("/v1/chat/completions", STREAM_BODY)
        if first is None:
            raise CallFailed("the HTTP stream had no content delta")
        return first

    async def sdk_whole(self) -> float:
        started = time.perf_counter()
        await self.sdk.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": PROMPT}]
        )
        return time.perf_counter() - started

    async def close(self) -> None:
        await self.http.close()
        await self.sdk.close()
        await self.channel.close()


async def timed(call, errors: list[str]) -> float | None:
    try:
        return await call()
    except (CallFailed, grpc.aio.AioRpcError, openai.APIError, OSError, EOFError) as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
        return None


def p50_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000 if values else float("nan")


async def paired(name: str, http_call, grpc_call, pairs: int, errors: list[str]) -> dict:
    """Concurrency 1: the sides alternate one by one in ABBA order; the overhead is the median
    of the differences within each pair."""
    via_http, via_grpc, differences = [], [], []
    for i in range(pairs):
        order = (http_call, grpc_call) if i % 2 == 0 else (grpc_call, http_call)
        first, second = [await timed(call, errors) for call in order]
        if first is None or second is None:
            continue
        h, g = (first, second) if i % 2 == 0 else (second, first)
        via_http.append(h)
        via_grpc.append(g)
        differences.append(h - g)
    return {
        "call": name,
        "concurrency": 1,
        "http_p50_ms": round(p50_ms(via_http), 3),
        "grpc_p50_ms": round(p50_ms(via_grpc), 3),
        "overhead_p50_ms": round(p50_ms(differences), 3),
    }


async def burst(call, n: int, concurrency: int, errors: list[str]) -> list[float]:
    bound = asyncio.Semaphore(concurrency)

    async def one() -> float | None:
        async with bound:
            return await timed(call, errors)

    return [t for t in await asyncio.gather(*(one() for _ in range(n))) if t is not None]


async def rounds(name, http_call, grpc_call, n: int, count: int, errors: list[str]) -> dict:
    """Concurrency 64: rounds of n HTTP calls then n gRPC calls (alternating which goes first);
    the overhead is the median over rounds of the two sides' p50 difference."""
    via_http, via_grpc, differences = [], [], []
    before = len(errors)
    for i in range(count):
        if i % 2 == 0:
            h = await burst(http_call, n, 64, errors)
            g = await burst(grpc_call, n, 64, errors)
        else:
            g = await burst(grpc_call, n, 64, errors)
            h = await burst(http_call, n, 64, errors)
        via_http += h
        via_grpc += g
        differences.append(p50_ms(h) - p50_ms(g))
    return {
        "call": name,
        "concurrency": 64,
        "http_p50_ms": round(p50_ms(via_http), 3),
        "grpc_p50_ms": round(p50_ms(via_grpc), 3),
        "overhead_p50_ms": round(statistics.median(differences), 3),
        "errors": len(errors) - before,
    }


async def run(grpc_address: str, http_base: str, quick: bool, smoke: bool = False) -> dict:
    sides = Sides(grpc_address, http_base)
    errors: list[str] = []
    # Pairs at concurrency 1; calls per round and rounds at 64: quick stays under a minute here.
    pairs, sdk_pairs, n64, count = (
        (4, 2, 8, 1) if smoke else (150, 60, 128, 2) if quick else (600, 200, 512, 4)
    )
    for call in (sides.grpc_whole, sides.http_whole, sides.grpc_first_token,
                 sides.http_first_token, sides.sdk_whole):  # fmt: skip
        await burst(call, 16, 4, errors)  # warm up: connections, caches, lazy imports
    errors.clear()
    rows = [
        await paired("whole", sides.http_whole, sides.grpc_whole, pairs, errors),
        await paired("first_token", sides.http_first_token, sides.grpc_first_token, pairs, errors),
        await paired("whole_sdk", sides.sdk_whole, sides.grpc_whole, sdk_pairs, errors),
    ]
    c1_errors = len(errors)
    rows.append(await rounds("whole", sides.http_whole, sides.grpc_whole, n64, count, errors))
    rows.append(
        await rounds(
            "first_token", sides.http_first_token, sides.grpc_first_token, n64, count, errors
        )
    )
    await sides.close()
    return {"rows": rows, "errors": errors, "c1_errors": c1_errors}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer calls: under a minute")
    parser.add_argument("--smoke", action="store_true", help="a few calls: does it still run?")
    args = parser.parse_args()
    began = time.perf_counter()
    fake = FakeOpenAI(default=Step(text="Answer: YES")).start()
    # The services log warnings only, so the gateway's HTTP port is chosen here, not read from
    # its log.
    http_port = free_port()
    os.environ["FREESCALING_GATEWAY_HTTP_PORT"] = str(http_port)
    with tempfile.TemporaryDirectory() as scratch:
        services = start_system(Path(scratch), fake)
        try:
            gateway = services["gateway"]
            base = f"http://127.0.0.1:{http_port}"
            outcome = asyncio.run(run(gateway.address, base, args.quick, args.smoke))
        finally:
            for s in reversed(list(services.values())):
                s.stop()
            fake.stop()
    rows = outcome["rows"]
    print(f"{'call':<12} {'conc':>4} {'HTTP p50':>10} {'gRPC p50':>10} {'overhead':>9}")
    for r in rows:
        print(
            f"{r['call']:<12} {r['concurrency']:>4} {r['http_p50_ms']:>8.2f}ms "
            f"{r['grpc_p50_ms']:>8.2f}ms {r['overhead_p50_ms']:>7.2f}ms"
        )
    print("(whole_sdk: the HTTP side through the official OpenAI SDK, httpx, instead)")
    if outcome["errors"]:
        print(f"errors: {len(outcome['errors'])}, first: {outcome['errors'][0]}")
    by = {(r["call"], r["concurrency"]): r for r in rows}
    figures = {
        "http_overhead_p50_ms": by[("whole", 1)]["overhead_p50_ms"],
        "http_overhead_p50_ms_first_token": by[("first_token", 1)]["overhead_p50_ms"],
        "http_overhead_p50_ms_sdk": by[("whole_sdk", 1)]["overhead_p50_ms"],
        "http_overhead_p50_ms_c64": by[("whole", 64)]["overhead_p50_ms"],
        "http_overhead_p50_ms_first_token_c64": by[("first_token", 64)]["overhead_p50_ms"],
        "http_p50_ms": by[("whole", 1)]["http_p50_ms"],
        "grpc_p50_ms": by[("whole", 1)]["grpc_p50_ms"],
        "errors": len(outcome["errors"]),
        "errors_c64": by[("whole", 64)]["errors"] + by[("first_token", 64)]["errors"],
        "seconds": round(time.perf_counter() - began, 1),
        "quick": args.quick,
        "smoke": args.smoke,
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
