"""Classifier benchmark: the service (dynamic batching, fast tokenizer) against a baseline that
does what the seeds did (one request at a time, batch of one, slow sentencepiece tokenizer,
fp32, no batching), both through gRPC, on a full-size DeBERTa-v3-base with random weights and
realistic prompts (5 to 300 words), at concurrency 1, 8 and 64; plus the service with int8
dynamic quantization and its agreement with fp32 on tiers and task types. These servers embed
with the checkpoint's own pooled state (FREESCALING_CLASSIFIER_EMBEDDER=checkpoint), so that
both sides do the same work; a fourth server runs the default configuration, whose routing
embedder (all-MiniLM-L6-v2) is measured alone through Embed at each concurrency, and whose
Classify (both models, as a deployment runs it) at 64.

    python bench/classifier.py [--quick | --smoke] [--device auto|cpu|cuda]

--quick: 6 prompts at concurrency 1, 8 at 8 and 64 at 64, the baseline (which serves one
request at a time at any concurrency) timed on a length-stratified quarter of those above 1.
--smoke: the test suite's tiny checkpoint and a few prompts per level, to show the benchmark
still runs (its figures mean nothing).
Ends with one JSON line of figures. Random weights: speed figures are real, answers are not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

from freescaling.classifier.v1 import classifier_pb2, classifier_pb2_grpc  # noqa: E402
from freescaling.common.v1 import info_pb2  # noqa: E402

SERVICE_NAME = "freescaling.classifier.v1.Classifier"
WORDS = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "for",
    "that",
    "with",
    "on",
    "as",
    "it",
    "be",
    "by",
    "this",
    "are",
    "from",
    "or",
    "at",
    "an",
    "which",
    "have",
    "not",
    "write",
    "explain",
    "summarize",
    "translate",
    "classify",
    "extract",
    "list",
    "describe",
    "compare",
    "generate",
    "code",
    "python",
    "function",
    "data",
    "model",
    "system",
    "user",
    "question",
    "answer",
    "example",
    "following",
    "text",
    "article",
    "story",
    "poem",
    "email",
    "report",
    "table",
    "query",
    "database",
    "network",
    "server",
    "client",
    "request",
    "response",
    "error",
    "value",
    "number",
    "time",
    "year",
    "people",
    "company",
    "market",
    "customer",
    "product",
    "price",
    "order",
    "service",
    "learning",
    "training",
    "science",
    "history",
    "government",
    "policy",
    "health",
    "patient",
    "doctor",
    "energy",
    "water",
    "climate",
    "city",
    "country",
    "language",
    "research",
    "study",
    "analysis",
    "result",
    "method",
    "problem",
    "solution",
    "reason",
    "step",
    "first",
    "second",
    "because",
    "however",
    "therefore",
    "important",
    "different",
    "simple",
    "complex",
    "short",
    "long",
    "three",
    "ten",
    "every",
    "each",
    "please",
    "using",
    "about",
    "between",
    "into",
    "over",
    "after",
    "before",
]


def make_prompts(n: int, seed: int) -> list[str]:
    """Mixed lengths, 5 to 300 words, most of them short (median about 25, mean about 65)."""
    import random

    rng = random.Random(seed)
    prompts = []
    for _ in range(n):
        words = 5 + int(295 * rng.random() ** 4)
        body = " ".join(rng.choice(WORDS) for _ in range(words))
        prompts.append(body[0].upper() + body[1:] + "?")
    return prompts


def prepare_checkpoint(directory: Path, full_size: bool = True) -> Path:
    """Full-size (else tiny) random weights in the published format, with a sentencepiece model
    trained on prompts like the benchmark's; written once and reused."""
    if (directory / "config.json").exists() and (directory / "model.safetensors").exists():
        return directory
    from services.classifier.tiny_checkpoint import write_checkpoint

    corpus = make_prompts(400, seed=99)
    write_checkpoint(directory, full_size=full_size, tokenizer_json=True, corpus=corpus,
                     vocab_size=2000, head_std=0.05)  # fmt: skip
    return directory


# ---------------------------------------------------------------- the baseline server


def serve_baseline(checkpoint_dir: Path, port_file: Path) -> None:
    """What the seeds did: the whole request handled inline, one at a time, batch of one,
    tokenized by sentencepiece in Python, fp32, no batching."""
    import sentencepiece
    import torch

    from freescaling.common.v1 import classification_pb2
    from services.classifier import checkpoint
    from services.classifier.postprocess import postprocess

    model, heads = checkpoint.load_model(checkpoint_dir)
    sp = sentencepiece.SentencePieceProcessor(model_file=str(checkpoint_dir / "spm.model"))
    cls_id, sep_id = sp.piece_to_id("[CLS]"), sp.piece_to_id("[SEP]")

    def forward(ids: list[int]):
        with torch.no_grad():
            tensor = torch.tensor([ids])
            return model(tensor, torch.ones_like(tensor))[1]

    class Baseline(classifier_pb2_grpc.ClassifierServicer):
        def __init__(self) -> None:
            self.lock = asyncio.Lock()

        async def Classify(self, request, context):
            async with self.lock:
                ids = [cls_id, *sp.encode("Prompt: " + request.text)[:510], sep_id]
                # On a thread so that the server can keep reading requests; still one at a time.
                logits = await asyncio.to_thread(forward, ids)
                (s,) = postprocess([x.numpy() for x in logits], heads)
            return classifier_pb2.ClassifyResponse(
                classification=classification_pb2.Classification(
                    task_type_1=s.task_type_1,
                    prompt_complexity_score=s.prompt_complexity_score,
                    token_count=len(ids),
                )
            )

    async def main() -> None:
        server = grpc.aio.server()
        classifier_pb2_grpc.add_ClassifierServicer_to_server(Baseline(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        port_file.write_text(str(port))
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await server.stop(1)

    asyncio.run(main())


# ---------------------------------------------------------------- processes and load


class Server:
    def __init__(self, name: str, command: list[str], env: dict[str, str], workdir: Path):
        self.name = name
        self.port_file = workdir / f"{name}.port"
        self.port_file.unlink(missing_ok=True)
        self.log = open(workdir / f"{name}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.address = ""

    def wait_ready(self, timeout: float, readiness: str | None) -> None:
        deadline = time.monotonic() + timeout
        while not self.port_file.exists() or not self.port_file.read_text().strip():
            self._check(deadline)
            time.sleep(0.1)
        self.address = f"127.0.0.1:{self.port_file.read_text().strip()}"
        if readiness is None:
            return
        with grpc.insecure_channel(self.address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=readiness), timeout=5)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                self._check(deadline)
                time.sleep(0.2)

    def _check(self, deadline: float) -> None:
        if self.process.poll() is not None:
            raise SystemExit(f"{self.name} exited with {self.process.returncode}; see its log")
        if time.monotonic() > deadline:
            raise SystemExit(f"{self.name} did not become ready in time")

    def rss_mib(self) -> tuple[float, float]:
        """(current, peak) resident memory."""
        status = Path(f"/proc/{self.process.pid}/status").read_text().splitlines()
        values = {line.split(":")[0]: line.split()[1] for line in status if line[:2] == "Vm"}
        return int(values["VmRSS"]) / 1024, int(values["VmHWM"]) / 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


async def load(address: str, prompts: list[str], concurrency: int, embed: bool = False):
    """Send every prompt with `concurrency` in flight (Classify, or Embed one text at a time);
    (prompts/s, latencies ms, replies)."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = classifier_pb2_grpc.ClassifierStub(channel)
        latencies, replies = [0.0] * len(prompts), [None] * len(prompts)
        next_index = 0

        async def worker() -> None:
            nonlocal next_index
            while next_index < len(prompts):
                i = next_index
                next_index += 1
                start = time.perf_counter()
                if embed:
                    reply = await stub.Embed(
                        classifier_pb2.EmbedRequest(texts=[prompts[i]]), timeout=600
                    )
                    replies[i] = reply.embeddings[0]
                else:
                    reply = await stub.Classify(
                        classifier_pb2.ClassifyRequest(text=prompts[i]), timeout=600
                    )
                    replies[i] = reply.classification
                latencies[i] = (time.perf_counter() - start) * 1000

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return len(prompts) / wall, latencies, replies


async def paired_c1(baseline: str, service: str, prompts: list[str]):
    """Concurrency 1, the two servers alternating prompt by prompt (each prompt to both, in
    ABBA order so neither always goes first): the machine's drift hits both alike."""
    async with grpc.aio.insecure_channel(baseline) as a, grpc.aio.insecure_channel(service) as b:
        stubs = {"baseline": classifier_pb2_grpc.ClassifierStub(a),
                 "service": classifier_pb2_grpc.ClassifierStub(b)}  # fmt: skip
        latencies: dict[str, list[float]] = {"baseline": [], "service": []}
        replies: dict[str, list] = {"baseline": [], "service": []}
        for i, prompt in enumerate(prompts):
            order = ("baseline", "service") if i % 2 == 0 else ("service", "baseline")
            for name in order:
                start = time.perf_counter()
                reply = await stubs[name].Classify(
                    classifier_pb2.ClassifyRequest(text=prompt), timeout=600
                )
                latencies[name].append((time.perf_counter() - start) * 1000)
                replies[name].append(reply.classification)
    return {
        name: (len(prompts) / (sum(latencies[name]) / 1000), latencies[name], replies[name])
        for name in latencies
    }


def stratified(prompts: list[str], fraction: int) -> list[str]:
    """Every `fraction`-th prompt by length: the same spread of lengths, fewer prompts."""
    return sorted(prompts, key=len)[fraction // 2 :: fraction]


async def measure(servers, counts, figures, replies, rows, baseline_share: int) -> None:
    """A short warm-up of each server; concurrency 1 paired (baseline and service alternating);
    then each server in turn (never two at once: they would share the cores) at the other
    levels; int8 only at 64 (its figure and its agreement). The baseline serves one request at
    a time whatever the concurrency, so its throughput is the inverse of its mean time per
    prompt: with `baseline_share` > 1 (quick mode) it is timed on a length-stratified
    1/baseline_share of each level's prompts."""
    for server in servers.values():
        await load(server.address, make_prompts(4, seed=7), 2)
    pairs = await paired_c1(
        servers["baseline"].address, servers["service"].address, make_prompts(counts[1], seed=1)
    )
    for name, (rate, lat, _) in pairs.items():
        figures[(name, 1)] = (rate, percentile(lat, 0.5), percentile(lat, 0.99))
    for name, server in servers.items():
        if name == "default":
            for c, n in counts.items():
                rate, lat, _ = await load(server.address, make_prompts(n, seed=c), c, embed=True)
                figures[("embed", c)] = (rate, percentile(lat, 0.5), percentile(lat, 0.99))
                rows.append(("embed", c, n, *figures[("embed", c)], 0.0))
            rate, lat, out = await load(server.address, make_prompts(counts[64], seed=64), 64)
            figures[("default", 64)] = (rate, percentile(lat, 0.5), percentile(lat, 0.99))
            tokens = statistics.mean(r.token_count for r in out)
            rows.append(("default", 64, counts[64], *figures[("default", 64)], tokens))
            continue
        if name in pairs:
            rate, lat, out = pairs[name]
            tokens = statistics.mean(r.token_count for r in out)
            rows.append((name, 1, counts[1], *figures[(name, 1)], tokens))
        for c, n in counts.items():
            if c == 1 or (name == "int8" and c != 64):
                continue
            prompts = make_prompts(n, seed=c)
            if name == "baseline" and baseline_share > 1:
                prompts = stratified(prompts, baseline_share)
            rate, lat, out = await load(server.address, prompts, c)
            figures[(name, c)] = (rate, percentile(lat, 0.5), percentile(lat, 0.99))
            if c == 64:
                replies[name] = out
            tokens = statistics.mean(r.token_count for r in out)
            rows.append((name, c, len(prompts), *figures[(name, c)], tokens))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer prompts, the baseline on a stratified quarter")  # fmt: skip
    parser.add_argument("--smoke", action="store_true", help="tiny model, a few prompts")
    parser.add_argument("--device", default="auto", help="FREESCALING_CLASSIFIER_DEVICE")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "freescaling-bench-classifier",
        help="where the random full-size checkpoint is written once and reused",
    )
    parser.add_argument("--serve-baseline", nargs=2, metavar=("CHECKPOINT", "PORT_FILE"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(Path(args.serve_baseline[0]), Path(args.serve_baseline[1]))
        return 0

    counts = (
        {1: 2, 8: 4, 64: 4}
        if args.smoke
        else {1: 6, 8: 8, 64: 64}
        if args.quick
        else {1: 40, 8: 96, 64: 256}
    )
    if args.smoke:
        # A folder of its own: the tiny model and its centroids never meet the full-size ones.
        args.workdir = args.workdir / "smoke"
    args.workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ckpt = prepare_checkpoint(args.workdir / "checkpoint", full_size=not args.smoke)
    prepared_s = time.perf_counter() - t0
    service_env = {
        "FREESCALING_CLASSIFIER_EMBEDDER": "checkpoint",
        "FREESCALING_CLASSIFIER_MODEL": str(ckpt),
        "FREESCALING_CLASSIFIER_DEVICE": args.device,
        "FREESCALING_CLASSIFIER_CENTROIDS": str(args.workdir / "centroids.safetensors"),
        "FREESCALING_LOG_FORMAT": "text",
    }
    common = ["--host", "127.0.0.1", "--port", "0"]
    servers = {
        "baseline": Server(
            "baseline",
            [
                sys.executable,
                __file__,
                "--serve-baseline",
                str(ckpt),
                str(args.workdir / "baseline.port"),
            ],
            {},
            args.workdir,
        ),
        "service": Server(
            "service",
            [
                sys.executable,
                "-m",
                "services.classifier",
                *common,
                "--port-file",
                str(args.workdir / "service.port"),
            ],
            service_env,
            args.workdir,
        ),
    }
    int8 = args.device in ("auto", "cpu")
    if int8:
        servers["int8"] = Server(
            "int8",
            [
                sys.executable,
                "-m",
                "services.classifier",
                *common,
                "--port-file",
                str(args.workdir / "int8.port"),
            ],
            {**service_env, "FREESCALING_CLASSIFIER_QUANTIZE_INT8": "true"},
            args.workdir,
        )
    default_env = {k: v for k, v in service_env.items() if k != "FREESCALING_CLASSIFIER_EMBEDDER"}
    servers["default"] = Server(
        "default",
        [
            sys.executable,
            "-m",
            "services.classifier",
            *common,
            "--port-file",
            str(args.workdir / "default.port"),
        ],
        {**default_env, "FREESCALING_CLASSIFIER_EMBEDDER": "minilm"},
        args.workdir,
    )
    rows, figures = [], {}
    try:
        for name, server in servers.items():
            server.wait_ready(600, None if name == "baseline" else SERVICE_NAME)
        started_s = time.perf_counter() - t0
        with grpc.insecure_channel(servers["service"].address) as channel:
            info = classifier_pb2_grpc.ClassifierStub(channel).GetInfo(
                info_pb2.GetInfoRequest(), timeout=10
            )
        device = info.settings["effective_device"]
        if device != "cpu":
            servers.pop("int8").stop()
            int8 = False
        replies: dict[str, list] = {}
        asyncio.run(measure(servers, counts, figures, replies, rows, 4 if args.quick else 1))
        rss, peak = servers["service"].rss_mib()
    finally:
        for server in servers.values():
            server.stop()

    print(f"device {device}; checkpoint ready in {prepared_s:.1f} s, servers ready after "
          f"{started_s:.1f} s; random full-size weights (speed only)")  # fmt: skip
    print(f"{'server':<9} {'conc':>4} {'n':>4} {'prompts/s':>10} {'p50 ms':>9} {'p99 ms':>9} "
          f"{'mean tok':>8}")  # fmt: skip
    for name, c, n, rate, p50, p99, tokens in rows:
        print(f"{name:<9} {c:>4} {n:>4} {rate:>10.2f} {p50:>9.1f} {p99:>9.1f} {tokens:>8.1f}")

    def ratio(a, b, i=0):
        return round(figures[a][i] / figures[b][i], 3)

    agreement = None
    if int8:
        pairs = list(zip(replies["service"], replies["int8"], strict=True))
        agreement = round(
            sum(a.tier == b.tier and a.task_type_1 == b.task_type_1 for a, b in pairs) / len(pairs),
            3,
        )
        tier_only = sum(a.tier == b.tier for a, b in pairs) / len(pairs)
        task_only = sum(a.task_type_1 == b.task_type_1 for a, b in pairs) / len(pairs)
        print(f"int8 agreement with fp32 on {len(pairs)} prompts: tier and task type "
              f"{agreement:.3f} (tier {tier_only:.3f}, task type {task_only:.3f})")  # fmt: skip
    result = {
        "device": device,
        "quick": args.quick,
        "smoke": args.smoke,
        "throughput_c1": round(figures[("service", 1)][0], 2),
        "throughput_c8": round(figures[("service", 8)][0], 2),
        "throughput_c64": round(figures[("service", 64)][0], 2),
        "baseline_throughput_c64": round(figures[("baseline", 64)][0], 2),
        "throughput_ratio_c8": ratio(("service", 8), ("baseline", 8)),
        "throughput_ratio_c64": ratio(("service", 64), ("baseline", 64)),
        "throughput_ratio_c64_int8": ratio(("int8", 64), ("baseline", 64)) if int8 else None,
        "int8_agreement": agreement,
        "embed_throughput_c1": round(figures[("embed", 1)][0], 2),
        "embed_throughput_c64": round(figures[("embed", 64)][0], 2),
        "embed_p50_ms_c1": round(figures[("embed", 1)][1], 2),
        "default_classify_throughput_c64": round(figures[("default", 64)][0], 2),
        "p50_ms_c1": round(figures[("service", 1)][1], 1),
        "baseline_p50_ms_c1": round(figures[("baseline", 1)][1], 1),
        "p50_ratio_c1": ratio(("service", 1), ("baseline", 1), 1),
        "rss_mib": round(peak, 1),
        "rss_now_mib": round(rss, 1),
        "elapsed_s": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
