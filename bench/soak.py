"""Soak: the four services as `make run` starts them, under steady mixed load for minutes with
provider faults injected, to show that nothing grows, leaks or gets lost.

The system is make run's own launcher (`python -m services.stack`: four processes, learning on
SQLite and the outbox spooled under a scratch data directory) with make try's test classifier
checkpoint and embedder; every model is played by the scripted local provider
(`python -m tests.support.fake_openai`, its own process), which answers 5% of its requests
with HTTP 500, leaves 1% unanswered past every deadline, and is restarted once halfway. The
load comes at a steady rate: Scale with k=3 and k=auto, Chat streamed and not, HTTP chat
completions, feedback on answered calls, clients that hang up mid-stream (gRPC and HTTP), and
every so often the onboarding of a small model on a few labelled items.

Figures (the last line holds them all, in JSON):
- rss_growth_max: the largest per-service RSS growth from the end of warm-up to the end, as a
  fraction (target <= 0.10); fd_growth_max and thread_growth_max likewise, as counts (target:
  no growth). Read from /proc/PID/status and /proc/PID/fd (Linux).
- calls_answered, records_for_answered, lost_records: each answered call's id is looked up in
  learning's records (ListCalls) once the load has stopped; lost_records must be 0. Calls that
  failed or were hung up on may have records too (records_beyond_answered).
- unexpected_errors: failures no injected fault explains (must be 0). Every question carries a
  tag and the provider logs each fault with the question it hit, so each call knows its faults.
  An answered vote may hold failed votes only of models a fault hit; DEADLINE_EXCEEDED (HTTP
  504, an HTTP client's timeout) needs a hang; any other error needs a fault of either kind; a
  call that overlapped the provider's restart may fail; a client that hangs up on purpose is
  no error.
- p50/p99 latency of the calls no fault touched, per window (a minute; 10 s in --quick) after
  warm-up; p99_ratio is the last window's p99 over the first's (target <= 1.5).
- log_errors: ERROR lines in the services' logs (printed, not judged).

    python bench/soak.py [--quick | --smoke] [--rate CALLS_PER_S]

Full: 10 minutes of load; --quick: 1 minute; --smoke: seconds and a few calls, to show it still
runs (figures not judged). Exits 1, except in --smoke, when a record was lost or an error is
unexpected.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402
import httpx  # noqa: E402
import numpy as np  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

from freescaling.common.v1 import (  # noqa: E402
    calls_pb2,
    models_pb2,
    ratings_pb2,
    records_pb2,
)
from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402
from freescaling.learning.v1 import learning_pb2_grpc  # noqa: E402
from services.stack import GRPC_NAMES, SERVICES  # noqa: E402
from tests.support.bench_system import make_checkpoint, make_embedder, report  # noqa: E402
from tests.support.fake_openai import ProviderProcess  # noqa: E402
from tests.support.processes import free_port, free_service_port, wait_for  # noqa: E402


@dataclass(frozen=True)
class Plan:
    duration_s: float
    warmup_s: float
    # Latency windows compared (first after warm-up against the last).
    window_s: float
    # How often each service's RSS, fds and threads are read.
    sample_s: float
    # Seconds between onboardings (the first comes half this after the start).
    onboard_every_s: float
    # Labelled items per onboarding.
    onboard_items: int
    # Calls started per second.
    rate: float


PLANS = {
    "smoke": Plan(5, 1, 2, 1, 3, 4, 2.0),
    "quick": Plan(60, 15, 10, 2, 20, 8, 4.0),
    "full": Plan(600, 60, 60, 5, 60, 12, 4.0),
}
# The provider's faults: HTTP 500s, and requests never answered (past every deadline).
ERROR_RATE, HANG_RATE = 0.05, 0.01
# Seconds the provider stays down when it restarts, and after it is back during which a call
# may still meet a connection the restart broke.
RESTART_DOWN_S, RESTART_GRACE_S = 2.0, 2.0
# The load's mix: relative weights of the calls started.
MIX = {
    "scale_k3": 4,
    "scale_auto": 3,
    "chat": 2,
    "chat_stream": 2,
    "http_chat": 2,
    "feedback": 2,
    "chat_hangup": 1,
    "http_hangup": 1,
}
# Calls whose latency is tracked over time (answered, untouched by faults).
TIMED = {"scale_k3", "scale_auto", "chat", "chat_stream", "http_chat"}
# A gRPC call's deadline: a hung provider request ends in DEADLINE_EXCEEDED after it.
DEADLINE_S = 10.0
# HTTP callers send no deadline (the gateway's own timeouts bound a call): a client gives up.
HTTP_TIMEOUT_S = 15.0
ONBOARD_DEADLINE_S = 120.0
# A hanging-up client's answer streams slowly (the scripted provider's [[chunk_delay]]), so
# that it hangs up mid-stream.
SLOW_STREAM = "[[chunk_delay=0.2]]"
TAG = re.compile(r"\[soak (\d+)\]")
ONBOARD_ALIAS = "soak-small"
# How long learning may take to hold every answered call's record once the load has stopped.
RECORDS_WAIT_S = 30.0


@dataclass
class Call:
    """One call the load made, and how it ended."""

    kind: str
    tag: int
    started: float
    ended: float = 0.0
    call_id: str = ""
    # Empty when answered; else the status code's name (or "HTTP 503"), and its message.
    code: str = ""
    error: str = ""
    # The client hung up on purpose, mid-stream.
    hung_up: bool = False
    # An answered vote's failed votes: (alias, error).
    vote_errors: list[tuple[str, str]] = field(default_factory=list)
    # An onboarding's items that failed.
    item_errors: int = 0
    # There is a right answer to give feedback on (a vote's winner, a chat's text).
    has_answer: bool = False


# -- make run's processes ------------------------------------------------------------------


def free_ports() -> dict[str, int]:
    """A free port per service and for the HTTP API, each service's port + 1000 (its metrics,
    as make run serves them) free too."""
    ports: dict[str, int] = {}
    for name, _ in SERVICES:
        ports[name] = free_service_port()
    ports["http"] = free_port()
    return ports


class MakeRun:
    """make run's launcher (`python -m services.stack`) on free ports, its output in a file,
    every model played by `provider_url`; `pids` maps each service to its process."""

    def __init__(self, workdir: Path, provider_url: str) -> None:
        self.workdir = workdir
        self.ports = free_ports()
        self.log_file = workdir / "make-run.log"
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        for name, _ in SERVICES:
            env[f"FREESCALING_{name.upper()}_PORT"] = str(self.ports[name])
        env.update(
            FREESCALING_GATEWAY_HTTP_PORT=str(self.ports["http"]),
            # make try's settings: the test checkpoint and embedder, a keyless local provider.
            FREESCALING_CLASSIFIER_MODEL=str(make_checkpoint(workdir, "tiny", [])),
            FREESCALING_CLASSIFIER_EMBEDDER=str(make_embedder(workdir)),
            FREESCALING_CLASSIFIER_CENTROIDS=str(workdir / "centroids.safetensors"),
            FREESCALING_ENSEMBLE_API_BASE=provider_url,
            FREESCALING_ENSEMBLE_REQUIRE_KEYS="false",
            # One JSON object per log line, so that errors can be counted.
            FREESCALING_LOG_FORMAT="json",
        )
        self.env = env
        self.process: subprocess.Popen | None = None
        self.pids: dict[str, int] = {}

    def address(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['http']}"

    def start(self, timeout: float = 240.0) -> MakeRun:
        command = [sys.executable, "-m", "services.stack", "--data-dir", str(self.workdir / "data")]
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for(self._up, timeout, interval=0.5, what="make run's services to be ready")
        self.pids = wait_for(self._children, 10, what="make run's four processes")
        return self

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"make run exited with {self.process.returncode}:\n{self.log()}")
        return "make run: " in self.log() and all(self._ready(n) for n, _ in SERVICES)

    def _ready(self, name: str) -> bool:
        with grpc.insecure_channel(self.address(name)) as channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=GRPC_NAMES[name]), timeout=2
                )
            except grpc.RpcError:
                return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def _children(self) -> dict[str, int]:
        """The launcher's children, by the service each runs (`-m services.NAME`)."""
        found = {}
        for entry in Path("/proc").iterdir():
            try:
                stat = (entry / "stat").read_text()
                argv = (entry / "cmdline").read_bytes().decode().split("\0")
            except (OSError, ValueError):
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.process.pid and "-m" in argv:
                found[argv[argv.index("-m") + 1].removeprefix("services.")] = int(entry.name)
        return found if len(found) == len(SERVICES) else {}

    def stop(self, timeout: float = 60.0) -> int:
        """Ctrl-C's signal, as make run gets it; its exit code (0: every service stopped
        cleanly)."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return -9

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def log_errors(self) -> list[str]:
        """The services' log lines at ERROR or above, as `service: message`."""
        errors = []
        for line in self.log().splitlines():
            name, _, text = line.partition(" | ")
            try:
                entry = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and entry.get("level") in ("ERROR", "CRITICAL"):
                errors.append(f"{name.strip()}: {entry.get('message', '')}"[:300])
        return errors


def read_proc(pid: int) -> tuple[int, int, int]:
    """(RSS in kB, threads, open file descriptors) of a process."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return int(fields["VmRSS"][0]), int(fields["Threads"][0]), len(os.listdir(f"/proc/{pid}/fd"))


# -- the load ------------------------------------------------------------------------------


def _is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, int(n**0.5) + 1))


def _content(line: str) -> str:
    """The text a server-sent chat.completion.chunk event carries ("" for any other line)."""
    if not line.startswith("data: {"):
        return ""
    choices = json.loads(line.removeprefix("data: ")).get("choices") or [{}]
    return choices[0].get("delta", {}).get("content") or ""


class Load:
    """The calls, at a steady rate, with the sampler, the onboardings and the provider's
    restart beside them."""

    def __init__(self, system: MakeRun, provider: ProviderProcess, plan: Plan) -> None:
        self.system, self.provider, self.plan = system, provider, plan
        self.channel = grpc.aio.insecure_channel(system.address("gateway"))
        self.gateway = gateway_pb2_grpc.GatewayStub(self.channel)
        self.web = httpx.AsyncClient(base_url=system.http_url, timeout=HTTP_TIMEOUT_S)
        self.random = random.Random(0)
        self.tags = itertools.count()
        self.calls: list[Call] = []
        self.samples: list[tuple[float, dict[str, tuple[int, int, int]]]] = []
        self.restart: tuple[float, float] | None = None
        self.t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.t0

    async def run(self) -> None:
        self.t0 = time.monotonic()
        sampler = asyncio.create_task(self._sample())
        onboarding = asyncio.create_task(self._onboardings())
        restart = asyncio.create_task(self._restart(self.plan.duration_s / 2))
        started = []
        for n in itertools.count():
            if self.now() >= self.plan.duration_s:
                break
            started.append(asyncio.create_task(self._call(self._pick())))
            await asyncio.sleep(max(0.0, (n + 1) / self.plan.rate - self.now()))
        onboarding.cancel()
        await asyncio.gather(restart, *started, return_exceptions=True)
        await asyncio.gather(onboarding, return_exceptions=True)
        sampler.cancel()
        await self.web.aclose()
        await self.channel.close()

    def _pick(self) -> str:
        kinds = [k for k in MIX if k != "feedback" or self._targets()]
        return self.random.choices(kinds, weights=[MIX[k] for k in kinds])[0]

    def _targets(self) -> list[Call]:
        """Answered calls there is something to give feedback on."""
        return [c for c in self.calls if c.has_answer]

    async def _call(self, kind: str) -> Call:
        call = Call(kind, next(self.tags), self.now())
        self.calls.append(call)
        try:
            await getattr(self, kind)(call)
        except grpc.aio.AioRpcError as exc:
            call.code, call.error = exc.code().name, exc.details() or ""
        except httpx.TimeoutException:
            call.code, call.error = "DEADLINE_EXCEEDED", "the HTTP client's timeout"
        except httpx.HTTPError as exc:
            call.code, call.error = "HTTP", f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # an answer this client cannot read counts against the system
            call.code, call.error = "CLIENT", repr(exc)
        call.ended = self.now()
        return call

    # Each call kind, filling in its Call.
    async def scale_k3(self, call: Call) -> None:
        await self._scale(call, 3)

    async def scale_auto(self, call: Call) -> None:
        await self._scale(call, 0)

    async def _scale(self, call: Call, k: int) -> None:
        n = self.random.randint(2, 500)
        reply = await self.gateway.Scale(
            gateway_pb2.ScaleRequest(
                question=f"Is {n} a prime number? [soak {call.tag}]",
                k=k,
                answer_patterns=["YES", "NO"],
            ),
            timeout=DEADLINE_S,
        )
        call.call_id, call.has_answer = reply.result.call_id, bool(reply.result.answer)
        call.vote_errors = [(v.model, v.error) for v in reply.result.votes if v.error]

    def _chat_request(self, call: Call, stream: bool, slow: bool = False):
        topic = self.random.choice(["GPUs", "rivers", "prime numbers", "compilers", "tea"])
        text = f"Write one line about {topic}. [soak {call.tag}]" + (SLOW_STREAM if slow else "")
        return gateway_pb2.ChatRequest(
            messages=[calls_pb2.ChatMessage(role="user", content=text)], stream=stream
        )

    async def chat(self, call: Call) -> None:
        async for chunk in self.gateway.Chat(self._chat_request(call, False), timeout=DEADLINE_S):
            if chunk.HasField("response"):
                call.call_id, call.has_answer = chunk.response.done.call_id, True

    async def chat_stream(self, call: Call) -> None:
        async for chunk in self.gateway.Chat(self._chat_request(call, True), timeout=DEADLINE_S):
            if chunk.HasField("done"):
                call.call_id, call.has_answer = chunk.done.call_id, True

    async def chat_hangup(self, call: Call) -> None:
        stream = self.gateway.Chat(self._chat_request(call, True, slow=True), timeout=DEADLINE_S)
        async for chunk in stream:
            if chunk.HasField("delta"):
                call.hung_up = True
                stream.cancel()
                return

    def _http_body(self, call: Call, stream: bool) -> dict:
        request = self._chat_request(call, stream, slow=stream)
        message = {"role": "user", "content": request.messages[0].content}
        return {"model": "auto", "messages": [message], "stream": stream}

    async def http_chat(self, call: Call) -> None:
        reply = await self.web.post("/v1/chat/completions", json=self._http_body(call, False))
        if reply.status_code != 200:
            call.code, call.error = f"HTTP {reply.status_code}", reply.text[:300]
            return
        call.call_id, call.has_answer = reply.json()["freescaling"]["call_id"], True

    async def http_hangup(self, call: Call) -> None:
        body = self._http_body(call, True)
        async with self.web.stream("POST", "/v1/chat/completions", json=body) as reply:
            if reply.status_code != 200:
                call.code = f"HTTP {reply.status_code}"
                call.error = (await reply.aread()).decode(errors="replace")[:300]
                return
            call.call_id = reply.headers.get("x-freescaling-call-id", "")
            async for line in reply.aiter_lines():
                if _content(line):
                    call.hung_up = True
                    return  # leaving the block closes the connection mid-stream

    async def feedback(self, call: Call) -> None:
        target = self.random.choice(self._targets())
        # A vote's answer confirmed, or overridden to YES or NO; a chat's answer confirmed.
        reaction = self.random.choice("👍🔴🟡") if target.kind.startswith("scale") else "👍"
        await self.gateway.Feedback(
            ratings_pb2.FeedbackRequest(call_id=target.call_id, reaction=reaction),
            timeout=DEADLINE_S,
        )

    async def onboard(self, call: Call) -> None:
        numbers = self.random.sample(range(2, 500), self.plan.onboard_items)
        items = [
            gateway_pb2.LabelledItem(
                item_id=f"q{i}",
                question=f"Is {n} a prime number? [soak {call.tag}]",
                label="YES" if _is_prime(n) else "NO",
            )
            for i, n in enumerate(numbers)
        ]
        request = gateway_pb2.OnboardModelRequest(
            alias=ONBOARD_ALIAS,
            # The same entry each time (a no-op once registered); keyless, as the provider is.
            model=models_pb2.ModelInfo(
                litellm_model="nvidia_nim/soak/small-model",
                tier=models_pb2.MODEL_TIER_FAST,
                api_base=self.provider.base_url,
            ),
            items=items,
            answer_patterns=["YES", "NO"],
            replace=True,
        )
        last = None
        async for step in self.gateway.OnboardModel(request, timeout=ONBOARD_DEADLINE_S):
            last = step
        call.item_errors = last.errors if last is not None else 0

    # Beside the calls.
    async def _onboardings(self) -> None:
        await asyncio.sleep(self.plan.onboard_every_s / 2)
        while True:
            await asyncio.gather(self._call("onboard"), asyncio.sleep(self.plan.onboard_every_s))

    async def _restart(self, at_s: float) -> None:
        await asyncio.sleep(at_s)
        down = self.now()
        await asyncio.to_thread(self.provider.restart, RESTART_DOWN_S)
        self.restart = (down, self.now())

    async def _sample(self) -> None:
        while True:
            now = self.now()
            self.samples.append((now, {n: read_proc(p) for n, p in self.system.pids.items()}))
            await asyncio.sleep(self.plan.sample_s)


# -- judging -------------------------------------------------------------------------------


def read_faults(path: Path) -> dict[int, list[dict]]:
    """The provider's faults by the tag of the question they hit."""
    faults: dict[int, list[dict]] = collections.defaultdict(list)
    if path.exists():
        for line in path.read_text().splitlines():
            fault = json.loads(line)
            if tag := TAG.search(fault["text"]):
                faults[int(tag.group(1))].append(fault)
    return faults


class Judge:
    """Tells the calls the injected faults explain from the others."""

    def __init__(self, faults, restart, provider_names: dict[str, str]) -> None:
        self.faults, self.restart, self.provider_names = faults, restart, provider_names

    def restarted(self, call: Call) -> bool:
        """The call overlapped the provider's restart (connections reset, then refused)."""
        if self.restart is None:
            return False
        down, up = self.restart
        return call.started <= up + RESTART_GRACE_S and call.ended >= down

    def touched(self, call: Call) -> bool:
        return bool(self.faults.get(call.tag)) or self.restarted(call)

    def verdict(self, call: Call) -> tuple[str, str]:
        """("answered" | "hung_up" | "expected" | "unexpected", why)."""
        hit = self.faults.get(call.tag, [])
        if call.code:
            if self.restarted(call):
                return "expected", "the provider restarted"
            late = call.code in ("DEADLINE_EXCEEDED", "HTTP 504")
            needed = [f for f in hit if not late or f["fault"] == "hang"]
            if needed:
                return "expected", f"{needed[0]['fault']} on {needed[0]['model']}"
            return "unexpected", f"{call.code}: {call.error}"
        if call.hung_up:
            return "hung_up", ""
        if call.item_errors > len(hit) and not self.restarted(call):
            return "unexpected", f"{call.item_errors} items failed, {len(hit)} faults injected"
        hit_models = {f["model"] for f in hit}
        for alias, error in call.vote_errors:
            if not self.restarted(call) and self.provider_names.get(alias) not in hit_models:
                return "unexpected", f"vote of {alias} failed: {error}"
        return "answered", ""


async def provider_names(system: MakeRun) -> dict[str, str]:
    """Each alias's model name as the provider sees it (litellm's provider prefix dropped)."""
    async with grpc.aio.insecure_channel(system.address("gateway")) as channel:
        models = await gateway_pb2_grpc.GatewayStub(channel).ListModels(
            models_pb2.ListModelsRequest(), timeout=10
        )
    return {m.alias: m.litellm_model.split("/", 1)[-1] for m in models.models}


async def recorded(system: MakeRun, wanted: set[str]) -> set[str]:
    """The call ids learning holds records of, once it holds all of `wanted` (or after
    RECORDS_WAIT_S: the gateway's outbox sends records in the background)."""
    async with grpc.aio.insecure_channel(system.address("learning")) as channel:
        learning = learning_pb2_grpc.LearningStub(channel)
        deadline = time.monotonic() + RECORDS_WAIT_S
        while True:
            ids, token = set(), ""
            while True:
                page = await learning.ListCalls(
                    records_pb2.ListCallsRequest(page_size=500, page_token=token), timeout=30
                )
                ids.update(c.call_id for c in page.calls)
                token = page.next_page_token
                if not token:
                    break
            if wanted <= ids or time.monotonic() > deadline:
                return ids
            await asyncio.sleep(1.0)


# -- figures -------------------------------------------------------------------------------


def resources(samples, plan: Plan) -> dict[str, dict]:
    """Per service: RSS (MB), threads and fds right after warm-up and at the end of the load
    (medians of three samples, so that one sample's noise does not decide), and RSS growth."""
    loaded = [s for t, s in samples if plan.warmup_s <= t <= plan.duration_s]
    after = loaded or [s for _, s in samples]
    head, tail = after[:3], after[-3:]
    figures = {}
    for name in after[0]:
        start = [float(np.median([s[name][i] for s in head])) for i in range(3)]
        end = [float(np.median([s[name][i] for s in tail])) for i in range(3)]
        figures[name] = {
            "rss_mb": [round(start[0] / 1024, 1), round(end[0] / 1024, 1)],
            "rss_growth": round(end[0] / start[0] - 1, 4),
            "threads": [start[1], end[1]],
            "fds": [start[2], end[2]],
        }
    return figures


def latency_windows(calls: list[Call], judge: Judge, plan: Plan) -> list[dict]:
    """p50 and p99 (ms) per window after warm-up of the answered calls no fault touched."""
    windows = []
    start = plan.warmup_s
    while start < plan.duration_s:
        latencies = [
            (c.ended - c.started) * 1000
            for c in calls
            if c.kind in TIMED
            and start <= c.started < start + plan.window_s
            and not c.code
            and not judge.touched(c)
        ]
        if latencies:
            windows.append(
                {
                    "from_s": round(start),
                    "calls": len(latencies),
                    "p50_ms": round(float(np.percentile(latencies, 50)), 1),
                    "p99_ms": round(float(np.percentile(latencies, 99)), 1),
                }
            )
        start += plan.window_s
    return windows


def figures(load: Load, judge: Judge, ids: set[str], mode: str, plan: Plan) -> dict:
    verdicts = [(c, *judge.verdict(c)) for c in load.calls]
    outcomes = collections.Counter(f"{c.kind} {v}" for c, v, _ in verdicts)
    unexpected = [f"{c.kind} #{c.tag}: {why}" for c, v, why in verdicts if v == "unexpected"]
    causes = collections.Counter(why.split(" on ")[0] for _, v, why in verdicts if v == "expected")
    answered = {c.call_id for c, v, _ in verdicts if v == "answered" and c.call_id}
    per_service = resources(load.samples, plan)
    windows = latency_windows(load.calls, judge, plan)
    faults = collections.Counter(f["fault"] for hit in judge.faults.values() for f in hit)
    p99_ratio = windows[-1]["p99_ms"] / windows[0]["p99_ms"] if len(windows) > 1 else None
    return {
        "benchmark": "soak",
        "mode": mode,
        "seconds": plan.duration_s,
        "rate": plan.rate,
        "calls": len(load.calls),
        "rss_growth_max": max(s["rss_growth"] for s in per_service.values()),
        "fd_growth_max": max(s["fds"][1] - s["fds"][0] for s in per_service.values()),
        "thread_growth_max": max(s["threads"][1] - s["threads"][0] for s in per_service.values()),
        "calls_answered": len(answered),
        "records_for_answered": len(answered & ids),
        "lost_records": len(answered - ids),
        "records_beyond_answered": len(ids - answered),
        "unexpected_errors": len(unexpected),
        "unexpected_error_rate": round(len(unexpected) / max(1, len(load.calls)), 5),
        "expected_errors": sum(causes.values()),
        "expected_errors_by_cause": dict(causes),
        "hung_up": sum(1 for _, v, _ in verdicts if v == "hung_up"),
        "faults_injected": dict(faults),
        "calls_touched_by_faults": sum(1 for c in load.calls if judge.touched(c)),
        "provider_restart_s": [round(t, 1) for t in load.restart] if load.restart else None,
        "p50_first_ms": windows[0]["p50_ms"] if windows else None,
        "p99_first_ms": windows[0]["p99_ms"] if windows else None,
        "p50_last_ms": windows[-1]["p50_ms"] if windows else None,
        "p99_last_ms": windows[-1]["p99_ms"] if windows else None,
        "p99_ratio": round(p99_ratio, 3) if p99_ratio else None,
        "latency_windows": windows,
        "services": per_service,
        "outcomes": dict(sorted(outcomes.items())),
        "unexpected_examples": unexpected[:10],
    }


async def soak(system: MakeRun, provider: ProviderProcess, plan: Plan, fault_log: Path):
    load = Load(system, provider, plan)
    await load.run()
    judge = Judge(read_faults(fault_log), load.restart, await provider_names(system))
    wanted = {c.call_id for c in load.calls if c.call_id and not c.code and not c.hung_up}
    return load, judge, await recorded(system, wanted)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 minute of load")
    parser.add_argument("--smoke", action="store_true", help="a few calls: does it still run?")
    parser.add_argument("--rate", type=float, default=0.0, help="calls started per second")
    args = parser.parse_args()
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    plan = PLANS[mode]
    if args.rate:
        plan = Plan(**{**plan.__dict__, "rate": args.rate})
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        fault_log = workdir / "faults.jsonl"
        faults = ["--error-rate", str(ERROR_RATE), "--hang-rate", str(HANG_RATE)]
        provider = ProviderProcess(workdir, [*faults, "--fault-log", str(fault_log)]).start()
        system = MakeRun(workdir, provider.base_url)
        try:
            system.start()
            load, judge, ids = asyncio.run(soak(system, provider, plan, fault_log))
        finally:
            stopped = system.stop()
            provider.stop()
        log_errors = system.log_errors()
    result = figures(load, judge, ids, mode, plan)
    result["clean_stop"] = stopped == 0
    result["log_errors"] = len(log_errors)
    for line in result["unexpected_examples"] + [f"log: {e}" for e in log_errors[:10]]:
        print(f"  {line}")
    report(result)
    failed = result["lost_records"] or result["unexpected_errors"] or not result["clean_stop"]
    return 1 if failed and mode != "smoke" else 0


if __name__ == "__main__":
    sys.exit(main())
