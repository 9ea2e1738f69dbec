"""A local OpenAI-compatible server for tests and benchmarks: real HTTP on loopback, scripted
models, and a record of every request, including which ones the client closed before the answer.

It runs an asyncio server in a background thread. Each model plays a script: a list of `Step`s,
one per request (the last one repeats). A step can answer text (optionally inside a `<think>`
block or with a separate `reasoning_content` field), wait first (`delay_s`), never answer
(`hang`), or fail with a NIM-style error body (404, 410, 429 with Retry-After, 500, 401).
Streaming (`"stream": true`) answers as server-sent events. `Faults` wraps a responder to fail a
share of requests at random (HTTP 500s, hangs), as a soak needs; `ProviderProcess` runs the
server as a process of its own, which can be restarted on the same port.

    fake = FakeOpenAI().start()
    fake.script("m-yes", Step(text="Answer: YES", delay_s=0.3))
    ... point litellm at fake.base_url ...
    fake.requests_for("m-yes")[0].closed_early  # True when the client hung up first
    fake.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

# NIM's error bodies have no "error" key (see CLASSIFIER.md); reproduce them as they are.
NIM_BODIES = {
    401: {"status": 401, "title": "Unauthorized", "detail": "Authentication failed"},
    404: {
        "status": 404,
        "title": "Not Found",
        "detail": "Function 'a1b2c3d4-0000-0000-0000-000000000000': Not found for account 'x'",
    },
    410: {"status": 410, "title": "Gone", "detail": "The model has reached its end of life"},
    429: {"status": 429, "title": "Too Many Requests"},
    500: {"status": 500, "title": "Internal Server Error"},
}
REASONS = {200: "OK", 401: "Unauthorized", 404: "Not Found", 410: "Gone", 429: "Too Many Requests"}


@dataclass
class Step:
    """What a model does for one request."""

    text: str = "OK"
    # Put this before the text inside <think>...</think>.
    think: str = ""
    # Return this as a separate `reasoning_content` field.
    reasoning: str = ""
    delay_s: float = 0.0
    # Never answer (until the client gives up and closes the connection).
    hang: bool = False
    # Non-200 status with NIM's body for it.
    status: int = 200
    retry_after: float | None = None
    prompt_tokens: int = 12
    completion_tokens: int = 3
    # Streaming: seconds between pieces (a client that hangs up meanwhile is recorded).
    chunk_delay_s: float = 0.0
    # Judge: answer "Answer: N" for the numbered output ("### Output N") containing this text.
    pick: str = ""


@dataclass
class Request:
    """One request the server received."""

    model: str
    body: dict
    headers: dict[str, str]
    started: float
    finished: float | None = None
    # True when the client closed the connection before the server had answered.
    closed_early: bool = False
    status: int = 0


@dataclass
class _Model:
    steps: list[Step]
    served: int = 0
    # Computes each request's step from its body instead of playing `steps`.
    responder: Callable[[dict], Step] | None = None

    def next_step(self, body: dict) -> Step:
        self.served += 1
        if self.responder is not None:
            return self.responder(body)
        return self.steps[min(self.served - 1, len(self.steps) - 1)]


@dataclass
class FakeOpenAI:
    """The server. `models` maps a model name (as the client sends it) to its script."""

    host: str = "127.0.0.1"
    port: int = 0
    models: dict[str, _Model] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    # Answer unknown models with this step (None: 404 as NIM does).
    default: Step | None = None
    # Keep every request in `requests` (benchmarks sending thousands turn it off).
    record: bool = True
    # Answers every model not scripted (after `models`, before `default`): respond_all.
    responder: Callable[[dict], Step] | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._open_connections = 0

    # -- control, from any thread -------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def script(self, model: str, *steps: Step) -> None:
        with self._lock:
            self.models[model] = _Model(list(steps) or [Step()])

    def respond(self, model: str, responder: Callable[[dict], Step]) -> None:
        """Answer each request to `model` with `responder(request body)`: answers that depend
        on the question, as a replay of recorded model correctness needs."""
        with self._lock:
            self.models[model] = _Model([Step()], responder=responder)

    def respond_all(self, responder: Callable[[dict], Step]) -> None:
        """Answer every model not scripted otherwise with `responder(request body)`."""
        with self._lock:
            self.responder = responder

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            for model in self.models.values():
                model.served = 0

    def requests_for(self, model: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.model == model]

    @property
    def open_connections(self) -> int:
        return self._open_connections

    def start(self) -> FakeOpenAI:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._serve, self.host, self.port, backlog=1024)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._server.close()
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fake-openai", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the server, on its own loop -----------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open_connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                raw = await reader.readexactly(length) if length else b""
                keep = await self._answer(method, path, headers, raw, reader, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass  # the server is stopping
        finally:
            self._open_connections -= 1
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, method, path, headers, raw, reader, writer) -> bool:
        if method == "GET" and path.rstrip("/").endswith("/models"):
            with self._lock:
                names = list(self.models)
            await self._send_json(
                writer, 200, {"object": "list", "data": [{"id": n} for n in names]}
            )
            return True
        if not path.rstrip("/").endswith("/chat/completions"):
            await self._send_json(writer, 404, NIM_BODIES[404])
            return True
        body = json.loads(raw or b"{}")
        name = body.get("model", "")
        # Keep the key out of the record: tests look for it only where it must not be.
        record = Request(
            model=name,
            body=body,
            headers={k: v for k, v in headers.items() if k != "authorization"},
            started=time.monotonic(),
        )
        record.headers["authorization-present"] = str("authorization" in headers)
        with self._lock:
            if self.record:
                self.requests.append(record)
            model = self.models.get(name)
            if model:
                step = model.next_step(body)
            else:
                step = self.responder(body) if self.responder else self.default
        if step is None:
            step = Step(status=404)
        step = self._directed(step, body)
        waits = []
        if step.hang:
            waits.append(asyncio.get_running_loop().create_future())
        elif step.delay_s:
            waits.append(asyncio.ensure_future(asyncio.sleep(step.delay_s)))
        if waits:
            eof = asyncio.ensure_future(reader.read(1))
            done, _ = await asyncio.wait({eof, *waits}, return_when=asyncio.FIRST_COMPLETED)
            for task in (eof, *waits):
                task.cancel()
            # Let the cancelled read let go of the reader before the next request is read.
            await asyncio.gather(eof, *waits, return_exceptions=True)
            if eof in done:
                record.closed_early = True
                record.finished = time.monotonic()
                return False
        record.status = step.status
        try:
            if step.status != 200:
                extra = {}
                if step.retry_after is not None:
                    extra["Retry-After"] = f"{step.retry_after:g}"
                await self._send_json(writer, step.status, NIM_BODIES.get(step.status, {}), extra)
            elif body.get("stream"):
                if not await self._stream(reader, writer, name, step):
                    record.closed_early = True
                    return False
            else:
                await self._send_json(writer, 200, self._completion(name, step))
        finally:
            record.finished = time.monotonic()
        return True

    @staticmethod
    def _directed(step: Step, body: dict) -> Step:
        """Apply the last user message's directives: `[[delay=S]]`, `[[answer=TEXT]]`,
        `[[chunk_delay=S]]` (seconds between streamed pieces), and a judge step's `pick`."""
        text = last_user_text(body)
        changes: dict = {}
        if m := re.search(r"\[\[delay=([0-9.]+)\]\]", text):
            changes["delay_s"] = step.delay_s + float(m.group(1))
        if m := re.search(r"\[\[answer=([^\]]*)\]\]", text):
            changes["text"] = m.group(1)
        if m := re.search(r"\[\[chunk_delay=([0-9.]+)\]\]", text):
            changes["chunk_delay_s"] = float(m.group(1))
        if step.pick:
            for number, shown in re.findall(
                r"### Output (\d+)\n(.*?)(?=\n\n### Output|\Z)", text, re.S
            ):
                if step.pick in shown:
                    changes["text"] = f"Output {number} is the best.\nAnswer: {number}"
        return replace(step, **changes) if changes else step

    @staticmethod
    def _content(step: Step) -> str:
        return f"<think>{step.think}</think>\n{step.text}" if step.think else step.text

    def _completion(self, name: str, step: Step) -> dict:
        message = {"role": "assistant", "content": self._content(step)}
        if step.reasoning:
            message["reasoning_content"] = step.reasoning
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": name,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": step.prompt_tokens,
                "completion_tokens": step.completion_tokens,
                "total_tokens": step.prompt_tokens + step.completion_tokens,
            },
        }

    async def _stream(self, reader, writer: asyncio.StreamWriter, name: str, step: Step) -> bool:
        """Send the answer as server-sent events; False when the client hung up first."""
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
        )

        def event(payload: dict | str) -> bytes:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            chunk = f"data: {data}\n\n".encode()
            return f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"

        def delta(d: dict, finish: str | None = None, usage: dict | None = None) -> dict:
            out = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": name,
                "choices": [{"index": 0, "delta": d, "finish_reason": finish}],
            }
            if usage:
                out["usage"] = usage
            return out

        writer.write(event(delta({"role": "assistant", "content": ""})))
        if step.reasoning:
            for piece in step.reasoning.split(" "):
                writer.write(event(delta({"reasoning_content": piece + " "})))
        words = self._content(step).split(" ")
        for i, word in enumerate(words):
            if step.chunk_delay_s and i:
                await asyncio.sleep(step.chunk_delay_s)
                if reader.at_eof() or writer.is_closing():
                    return False
            writer.write(event(delta({"content": word + (" " if i < len(words) - 1 else "")})))
            await writer.drain()
        usage = {
            "prompt_tokens": step.prompt_tokens,
            "completion_tokens": step.completion_tokens,
            "total_tokens": step.prompt_tokens + step.completion_tokens,
        }
        writer.write(event(delta({}, "stop", usage)))
        writer.write(event("[DONE]"))
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    @staticmethod
    async def _send_json(writer, status: int, payload: dict, extra: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        head = [
            f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}",
            "Content-Type: application/json",
            f"Content-Length: {len(data)}",
            *(f"{k}: {v}" for k, v in (extra or {}).items()),
        ]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await writer.drain()


def last_user_text(body: dict) -> str:
    """The last user message of a chat completion request ("" when there is none)."""
    user = [m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"]
    return user[-1] if user else ""


@dataclass
class Faults:
    """A responder that fails a share of requests as providers do, drawn at random (seeded so
    that a run can be repeated): `error_rate` of them get HTTP 500, `hang_rate` are never
    answered (until the client gives up), the rest go to `inner`. Each fault is kept in
    `injected` and, with `log`, appended to that file as one JSON line (`fault`: "500" or
    "hang", `model`, `text`: the last user message), so that whoever injects them can tell the
    errors they caused from the system's own, even across a restart of the server."""

    inner: Callable[[dict], Step]
    error_rate: float = 0.0
    hang_rate: float = 0.0
    seed: int = 0
    log: Path | None = None
    injected: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def __call__(self, body: dict) -> Step:
        draw = self._random.random()
        if draw < self.error_rate:
            return self._inject("500", body, Step(status=500))
        if draw < self.error_rate + self.hang_rate:
            return self._inject("hang", body, Step(hang=True))
        return self.inner(body)

    def _inject(self, fault: str, body: dict, step: Step) -> Step:
        entry = {"fault": fault, "model": body.get("model", ""), "text": last_user_text(body)}
        self.injected.append(entry)
        if self.log is not None:
            with self.log.open("a") as log:
                log.write(json.dumps(entry) + "\n")
        return step


class ProviderProcess:
    """`python -m tests.support.fake_openai` as a process of its own, as `make try` runs it,
    that can be stopped and started again on the same port (a provider restarting under load:
    connections reset, then refused, then served again). `args` go to its command line."""

    def __init__(self, workdir: Path, args: list[str] | None = None) -> None:
        self.args = list(args or [])
        self.log_file = workdir / "provider.log"
        self.port_file = workdir / "provider.port"
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 30.0) -> ProviderProcess:
        """Start it (on its previous port after the first start) and wait until it listens."""
        from tests.support.processes import ROOT, wait_for

        self.port_file.unlink(missing_ok=True)
        command = [sys.executable, "-m", "tests.support.fake_openai", "--port", str(self.port)]
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                [*command, "--port-file", str(self.port_file), *self.args],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        def bound() -> int:
            if self.process.poll() is not None:
                raise RuntimeError(f"the scripted provider exited: see {self.log_file}")
            text = self.port_file.read_text() if self.port_file.exists() else ""
            return int(text) if text.strip().isdigit() else 0

        self.port = wait_for(bound, timeout, what="the scripted provider to listen")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self, down_s: float = 0.0) -> ProviderProcess:
        """Stop it, stay down `down_s` seconds, start it again on the same port."""
        self.stop()
        time.sleep(down_s)
        return self.start()


# -- canned answers, and the server on its own (`make try`) -------------------------------
CANNED = "[canned answer from the scripted local provider; no real model was asked]"
# The one model that answers otherwise, so that a vote can be seen to be a vote.
CONTRARIAN = "dracarys"


def _is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, int(n**0.5) + 1))


def canned(body: dict) -> Step:
    """A plausible, labelled answer to any request, as `make try` serves it: a vote is answered
    with one of its allowed answers (right about primes, so that the README's examples read
    true; the CONTRARIAN model picks another), a judge picks the first output, anything else
    gets a short canned text that says it is one."""
    model = body.get("model", "")
    messages = body.get("messages", [])
    system = " ".join(m.get("content", "") for m in messages if m.get("role") == "system")
    question = last_user_text(body)
    if "### Output 1" in question:
        return Step(text=f"{CANNED}\nOutput 1 reads best.\nAnswer: 1")
    allowed = re.search(r"Answer with exactly one of: (.+?)\. End your reply", system)
    if allowed:
        choices = [c.strip() for c in allowed.group(1).split(",")]
        pick = choices[0]
        if number := re.search(r"\b(\d+)\b[^\n]*\bprime\b", question, re.I):
            yes, no = ("YES", "NO") if "YES" in choices and "NO" in choices else choices[:2]
            pick = yes if _is_prime(int(number.group(1))) else no
        if CONTRARIAN in model and len(choices) > 1:
            pick = next(c for c in choices if c != pick)
        return Step(text=f"{CANNED}\nAnswer: {pick}")
    return Step(text=f"{CANNED} {model} would answer: {question.strip()[:120]}")


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.support.fake_openai`: the server on its own, every model answering
    `canned` (a share of requests failed by `Faults` when asked); Ctrl-C or SIGTERM stops it."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tests.support.fake_openai", description=main.__doc__
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--port-file", default="", help="write the bound port here once serving")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share answered HTTP 500")
    parser.add_argument("--hang-rate", type=float, default=0.0, help="share never answered")
    parser.add_argument("--seed", type=int, default=0, help="seed of the faults' draws")
    parser.add_argument("--fault-log", default="", help="append each fault here (JSON lines)")
    args = parser.parse_args(argv)
    server = FakeOpenAI(host=args.host, port=args.port, record=False)
    responder: Callable[[dict], Step] = canned
    if args.error_rate or args.hang_rate:
        log = Path(args.fault_log) if args.fault_log else None
        responder = Faults(canned, args.error_rate, args.hang_rate, args.seed, log)
    server.respond_all(responder)
    server.start()
    if args.port_file:
        Path(args.port_file).write_text(str(server.port))
    print(f"scripted provider (canned answers) at {server.base_url}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    print("scripted provider stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
