"""The system's decisions on a simulated pool whose truth is known: how accurate and how
costly k=auto is against fixed k=1 (the best model), k=3 and k=5, and profile routing against
always-best, always-cheapest, random and the oracle.

The pool: six scripted models (the test fake answering "Answer: YES|NO") with a known accuracy
per task family and a routing cost; whether a model is right on an item is a fixed draw
(hash of model and item below its accuracy), the same every time it is asked, so profiling
sees the same model the questions do. Five task families with their own wording (arithmetic,
code, geography, reviews, logic puzzles): a specialist per family but logic is very good on
its own and mediocre elsewhere at a middling cost; a generalist is good everywhere but on logic,
and costly; two cheap models are mediocre, one of them shy (it abstains on some items); logic
is hard for everyone. Every label is YES or NO.

1. ProfileModels profiles all six on a validation set (the classifier: the test-format
   checkpoint with a tokenizer trained on the validation text, bench/routing.py says why; its
   random heads' complexity is ignored, every prompt counts as simple, so the cascade's
   complexity rule does not fire by chance);
2. every test item is asked with k=1 (the model best on the validation set), k=3 and k=5 (the
   3 and 5 best), and k=auto, through the gateway without shadows, recording correctness,
   model calls and the routing cost of the models asked;
3. every test item is routed (gateway Route at the default lambda), scored by the chosen
   model's draw, against always the best, always the cheapest, random and the oracle.

    python bench/decisions.py [--quick | --smoke]

--smoke: a few items per family, to show the benchmark still runs (its figures mean nothing).

Ends with one JSON line: auto_accuracy_vs_k3, auto_calls_vs_k3, auto_cost_vs_k3,
routing_quality_ratio, routing_cost_ratio and the figures behind them.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402
from tests.support.bench_system import make_checkpoint, report, start_system  # noqa: E402
from tests.support.fake_openai import FakeOpenAI, Step  # noqa: E402

FAMILIES = ("math", "code", "geo", "review", "logic")
# model: (cost, accuracy per family, share of items it abstains on). Logic puzzles are hard for
# everyone: no model is expected to be 70% right there, so the cascade escalates.
POOL = {
    "math-pro": (2.0, {"math": 0.93, "code": 0.62, "geo": 0.6, "review": 0.62, "logic": 0.64}, 0),
    "code-pro": (2.0, {"math": 0.6, "code": 0.93, "geo": 0.62, "review": 0.6, "logic": 0.62}, 0),
    "world-pro": (2.0, {"math": 0.6, "code": 0.6, "geo": 0.92, "review": 0.9, "logic": 0.6}, 0),
    "generalist": (
        6.0, {"math": 0.82, "code": 0.82, "geo": 0.82, "review": 0.82, "logic": 0.66}, 0
    ),
    "cheap-a": (1.0, {"math": 0.68, "code": 0.68, "geo": 0.68, "review": 0.68, "logic": 0.6}, 0),
    "cheap-shy": (
        1.0, {"math": 0.7, "code": 0.7, "geo": 0.7, "review": 0.7, "logic": 0.62}, 0.15
    ),
}  # fmt: skip
CITIES = [
    ("Lisbon", "Portugal"), ("Nairobi", "Kenya"), ("Ottawa", "Canada"), ("Canberra", "Australia"),
    ("Lima", "Peru"), ("Hanoi", "Vietnam"), ("Oslo", "Norway"), ("Accra", "Ghana"),
    ("Quito", "Ecuador"), ("Rabat", "Morocco"), ("Bern", "Switzerland"), ("Seoul", "South Korea"),
]  # fmt: skip
ADJECTIVES = ["wonderful", "awful", "delightful", "broken", "superb", "dreadful", "charming",
              "useless", "excellent", "terrible", "lovely", "disappointing"]  # fmt: skip
NAMES = ["Ada", "Bea", "Cyd", "Dov", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jon", "Kai", "Liv"]
CONCURRENCY = 16


def _draw(*parts: str) -> float:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def make_items(n_per_family: int, rng: random.Random, split: str) -> list[dict]:
    items = []
    for family in FAMILIES:
        for i in range(n_per_family):
            if family == "math":
                a, b = rng.randint(11, 99), rng.randint(11, 99)
                c = a * b + rng.choice([-7, 7])
                question = f"Is {a} multiplied by {b} greater than {c}? Answer YES or NO."
                label = "YES" if a * b > c else "NO"
            elif family == "code":
                n = rng.randint(2, 40)
                question = (f"Does this Python function return a list?\n\n    def f_{i}(x):\n"
                            f"        return {'[x] * ' if i % 2 else 'x * '}{n}\n\n"
                            "Answer YES or NO.")  # fmt: skip
                label = "YES" if i % 2 else "NO"
            elif family == "geo":
                city, country = CITIES[rng.randrange(len(CITIES))]
                claimed = country if rng.random() < 0.5 else CITIES[rng.randrange(len(CITIES))][1]
                question = f"Is {city} the capital city of {claimed}? Answer YES or NO."
                label = "YES" if claimed == country else "NO"
            elif family == "logic":
                a, b, c = rng.sample(NAMES, 3)
                question = (f"{a} is taller than {b}, and {b} is taller than {c}. Is {c} taller "
                            f"than {a if i % 2 else b}? Answer YES or NO.")  # fmt: skip
                label = "NO"
                if i % 3 == 0:
                    question = (f"{a} is older than {b}, and {c} is younger than {b}. Is {a} "
                                f"older than {c}? Answer YES or NO.")  # fmt: skip
                    label = "YES"
            else:
                word = rng.choice(ADJECTIVES)
                question = (f"Customer review #{split}{i}: \"The hotel stay was {word}.\" "
                            "Is this review positive? Answer YES or NO.")  # fmt: skip
                label = "YES" if ADJECTIVES.index(word) % 2 == 0 else "NO"
            items.append(
                {"id": f"{split}-{family}-{i}", "family": family, "question": question,
                 "label": label}
            )  # fmt: skip
    return items


def behaviour(model: str, item: dict) -> str:
    """What `model` answers to `item`: right, wrong or an abstention, a fixed draw."""
    _, accuracy, shy = POOL[model]
    if _draw("shy", model, item["id"]) < shy:
        return "I would rather not commit to an answer here."
    right = _draw("right", model, item["id"]) < accuracy[item["family"]]
    answer = item["label"] if right else ("NO" if item["label"] == "YES" else "YES")
    return f"Let me think.\nAnswer: {answer}"


def registry(api_base: str) -> str:
    lines = ["defaults: {api_key_env: NVIDIA_API_KEY}", "models:"]
    for m, (cost, _, _) in POOL.items():
        lines.append(
            f"  - {{alias: {m}, model: nvidia_nim/sim/{m}, tier: fast, cost: {cost}, "
            f"api_base: '{api_base}'}}"
        )
    lines += ["panels:", "  default-k1: [generalist]"]
    return "\n".join(lines) + "\n"


async def scale_all(gateway, items, k: int, models: list[str]) -> list[tuple]:
    bound = asyncio.Semaphore(CONCURRENCY)

    async def one(item):
        request = gateway_pb2.ScaleRequest(
            question=item["question"],
            k=k,
            answer_patterns=["YES", "NO"],
            models=models,
            no_shadow=True,
        )
        async with bound:
            reply = await gateway.Scale(request, timeout=120)
        # The routing cost of every model asked (a cancelled one was asked too).
        spent = sum(POOL[v.model][0] for v in reply.result.votes if v.model in POOL)
        return (
            reply.result.answer == item["label"],
            reply.result.calls_made,
            reply.cascade.path,
            spent,
        )

    return await asyncio.gather(*(one(i) for i in items))


async def route_all(gateway, items) -> list[str]:
    bound = asyncio.Semaphore(CONCURRENCY)

    async def one(item):
        async with bound:
            reply = await gateway.Route(gateway_pb2.RouteRequest(text=item["question"]), timeout=60)
        return reply.routing.model

    return await asyncio.gather(*(one(i) for i in items))


async def run(args) -> dict:
    rng = random.Random(args.seed)
    per_family = 6 if args.smoke else 40 if args.quick else 120
    validation = make_items(per_family, rng, "v")
    test = make_items(per_family // 2 if args.quick or args.smoke else per_family, rng, "t")
    by_question = {i["question"]: i for i in validation + test}
    fake = FakeOpenAI(record=False).start()
    for m in POOL:

        def answer(body, m=m):
            user = [x["content"] for x in body["messages"] if x["role"] == "user"][-1]
            return Step(text=behaviour(m, by_question[user]))

        fake.respond(f"sim/{m}", answer)
    workdir = Path(tempfile.mkdtemp(prefix="bench-decisions-"))
    (workdir / "registry.yaml").write_text(registry(fake.base_url))
    started = time.monotonic()
    checkpoint = make_checkpoint(workdir, "bench", [i["question"] for i in validation])
    services = start_system(
        workdir,
        checkpoint,
        # The test checkpoint's complexity is random: every prompt counts as simple.
        classifier_env={"FREESCALING_CLASSIFIER_TIER_THRESHOLDS": "0.98,0.99"},
    )
    print(f"system up in {time.monotonic() - started:.0f} s")
    channel = grpc.aio.insecure_channel(services["gateway"].address)
    try:
        gateway = gateway_pb2_grpc.GatewayStub(channel)
        request = gateway_pb2.ProfileModelsRequest(
            models=list(POOL),
            items=[
                gateway_pb2.LabelledItem(item_id=i["id"], question=i["question"], label=i["label"])
                for i in validation
            ],
            answer_patterns=["YES", "NO"],
            max_concurrency=32,
        )
        last = None
        async for step in gateway.ProfileModels(request, timeout=3600):
            last = step
        atlas = last.capability_map
        ranked = sorted(atlas.models, key=lambda m: (-m.accuracy, m.model))
        top = [m.model for m in ranked]
        print(f"profiled on {len(validation)} items; estimator {atlas.estimator.description}; "
              f"by validation accuracy: {', '.join(top)}")  # fmt: skip
        outcomes = {
            "k1": await scale_all(gateway, test, 1, top[:1]),
            "k3": await scale_all(gateway, test, 3, top[:3]),
            "k5": await scale_all(gateway, test, 5, top[:5]),
            "auto": await scale_all(gateway, test, 0, []),
        }
        routed = await route_all(gateway, test)
    finally:
        await channel.close()
        for s in reversed(list(services.values())):
            s.stop()
        fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    figures: dict = {"items_validation": len(validation), "items_test": len(test)}
    for name, rows in outcomes.items():
        figures[f"{name}_accuracy"] = round(sum(r[0] for r in rows) / len(rows), 4)
        figures[f"{name}_calls"] = round(sum(r[1] for r in rows) / len(rows), 3)
        figures[f"{name}_cost"] = round(sum(r[3] for r in rows) / len(rows), 3)
    paths: dict[str, int] = {}
    for _, _, path, _ in outcomes["auto"]:
        paths[path] = paths.get(path, 0) + 1
    figures["auto_paths"] = dict(sorted(paths.items()))
    figures["auto_accuracy_vs_k3"] = round(figures["auto_accuracy"] / figures["k3_accuracy"], 3)
    figures["auto_calls_vs_k3"] = round(figures["auto_calls"] / figures["k3_calls"], 3)
    figures["auto_cost_vs_k3"] = round(figures["auto_cost"] / max(figures["k3_cost"], 1e-9), 3)

    def right(model: str, item: dict) -> bool:
        return behaviour(model, item).endswith(f"Answer: {item['label']}")

    def accuracy(picks) -> float:
        return sum(right(m, i) for m, i in zip(picks, test, strict=True)) / len(test)

    def cost(picks) -> float:
        return sum(POOL[m][0] for m in picks) / len(picks)

    best = top[0]
    cheapest = min(POOL, key=lambda m: (POOL[m][0], m))
    best_acc, best_cost = accuracy([best] * len(test)), POOL[best][0]
    figures.update(
        best_model=best,
        routing_accuracy=round(accuracy(routed), 4),
        routing_cost=round(cost(routed), 3),
        always_best_accuracy=round(best_acc, 4),
        always_best_cost=best_cost,
        always_cheapest_accuracy=round(accuracy([cheapest] * len(test)), 4),
        random_accuracy=round(sum(accuracy([m] * len(test)) for m in POOL) / len(POOL), 4),
        oracle_accuracy=round(sum(any(right(m, i) for m in POOL) for i in test) / len(test), 4),
        routing_quality_ratio=round(accuracy(routed) / best_acc, 3),
        routing_cost_ratio=round(cost(routed) / best_cost, 3),
        estimator=atlas.estimator.description,
    )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer items")
    parser.add_argument("--smoke", action="store_true", help="a few items: does it still run?")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.monotonic()
    figures = asyncio.run(run(args))
    figures["wall_s"] = round(time.monotonic() - started, 1)
    report(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
