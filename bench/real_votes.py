"""Votes on real model outputs: 12 models' chain-of-thought replies to 3,000 MMLU-Pro questions
(../shared/data/mmlu-pro-outputs, its README says how they were made) replayed through the
running system, voting, the k=auto cascade, profile routing and the confidence they report
measured against the key.

A scripted OpenAI-compatible server answers each (model, question) with that model's real text:
the question is found by the user message (the question and its options as "A. ...", as
MMLU-Pro's prompt has them), the model by the requested name. It reports realistic usage
(prompt tokens: the messages' characters / 4; completion: the reply's / 4), so every cost below
is the registry's prices (models.json's input and output prices per million tokens) applied by
the ensemble: `usage.cost_usd` of the results. The questions are split by category with a fixed
seed (`--seed`): half is the validation set, half is held back. The system is given no subject
label, anywhere.

1. The 12 models are registered (a registry file, their blended price as the routing cost) and
   profiled on the validation half through the gateway's ProfileModels (the key as the label,
   the options' letters as answer patterns); learning picks its profile estimator.
2. Every held-back question goes through the gateway's Scale (gRPC, no shadow, no cache):
   - each model alone (k=1): the parser per model against MMLU-Pro's extraction (`pred`), and
     the single-model baselines: best single (by validation accuracy in the capability map),
     cheapest (lowest routing cost), per-subject best (the best model of each category on the
     validation half, by its category label: a baseline only) and the oracle (the cheapest
     right model when any is right);
   - fixed panels of the top 3 and top 5 by validation accuracy, majority and weighted
     (`vote_rule`);
   - k=auto at several `min_confidence` targets (unset: the gateway's default), the
     accuracy-cost curve;
   - profile routing: the gateway's Route at lambda 0, and a lambda sweep ranking the
     candidates that Route returned by psi + lambda * cost (learning's rule), each scored by
     the chosen model's own k=1 call;
   and a sample through the HTTP API's vote models (`freescaling/vote-3`, `freescaling/vote-5`,
   the options' letters as `answer_patterns`; their panel is the registry's default-k3/-k5:
   the top 3 and 5 of the validation half by the ensemble's parser), checked against gRPC.
3. Calibration: expected calibration error (15 equal-width bins) and Brier score of the
   results' `confidence` against correctness, and the same for the raw vote share (votes for
   the answer over votes cast, counted here from the votes; 0 without an answer), side by side.
   A result without an answer (a tie, all abstaining) is wrong at whatever confidence it
   reports; `ece_answered` leaves those out. `ece`, `brier` and `brier_vote_share` pool the
   voting results under the weighted (default) rule: the weighted panels and every k=auto
   target (a majority vote's confidence is its vote share by contract; it is reported per
   policy in `policies`, as are the k=1 calls, pooled apart in `ece_singles`).

Each policy reports accuracy (no answer counts as wrong), mean cost in $ per question and mean
model calls. The classifier is the test-format checkpoint with a tokenizer trained on the
validation text (bench/routing.py says why) and all-MiniLM-L6-v2 routing embeddings; its
random complexity head is ignored (every prompt counts as simple, as in bench/decisions.py).

    python bench/real_votes.py [--quick | --smoke] [--seed 0] [--out DIR]

Quick mode uses a fixed eighth of each category (about 190 held-back questions, three k=auto
targets: about 6 minutes on 2 shared cores); smoke mode two questions per category (does it
still run? its figures mean nothing). The full run (1,496 held-back questions, six k=auto
targets) takes about an hour there, most of it k=auto's routing.

--out (default bench/out/real_votes[-quick], git-ignored; smoke: a temporary folder) receives
real_votes.json (every figure), reliability.png (the reliability diagram) and
accuracy_cost.png (accuracy against mean cost). FREESCALING_MMLU_DATA names another data
folder. The last line is one JSON object: parser_lost_share, ece, brier, brier_vote_share,
weighted_k5_vs_best_single_pts, auto_cost_ratio_at_best_single (the lowest mean cost at which
k=auto is at least as accurate as the best single model, over that model's mean cost; null if
never), auto_best_vs_best_single_pts, best_vs_best_single_pts (the best policy the system runs,
the oracle and the per-subject baseline aside), and the per-policy figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository root, not bench/, first: bench/http.py must not stand in for the stdlib's http.
sys.path[0] = str(ROOT)

import grpc  # noqa: E402
import httpx  # noqa: E402

from bench.parser_real import DEFAULT_DATA, LETTERS, TRIMMED, Tally, load  # noqa: E402
from freescaling.common.v1 import calls_pb2  # noqa: E402
from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402
from services.ensemble.parser import parse_answer  # noqa: E402
from tests.support.bench_system import make_checkpoint, start_system  # noqa: E402
from tests.support.fake_openai import FakeOpenAI, Step  # noqa: E402
from tests.support.processes import free_port  # noqa: E402

# Fixed split: the seed shuffles each category's questions (sorted by id first).
SEED = 0
# --quick keeps this share of each category (about 375 questions of 3,000).
QUICK_SHARE = 1 / 8
# --smoke keeps this many questions per category (one validation, one held back).
SMOKE_PER_CATEGORY = 2
# --quick and full: HTTP votes on this many held-back questions (each vote-3 and vote-5); the
# HTTP door runs the same composition, so a sample checks it without doubling the run.
HTTP_SAMPLE = 60
# k=auto targets: None leaves min_confidence unset (the gateway's documented default).
# Each target is a pass over the held-back questions, and k=auto classifies every prompt: on
# these long prompts the classifier is what the benchmark would wait for (about 0.2-0.4 s a
# prompt on 2 busy cores) but for its output cache (below); the default is 0.8.
AUTO_TARGETS = [None, 0.6, 0.7, 0.9, 0.95]
QUICK_AUTO_TARGETS = [None, 0.7, 0.9]
SMOKE_AUTO_TARGETS = [None, 0.8]
# Routing lambda per unit of routing cost ($ per million tokens, 0.13 to 3.5 here): from pure
# accuracy to past the point where the cheapest model always wins (psi and cost come from
# learning's Route once per prompt, so the grid costs nothing).
LAMBDAS = [round(0.005 * i, 3) for i in range(121)]
# Calibration bins (equal width on [0, 1]), as the target states them.
BINS = 15
# Scale calls in flight at once: enough to keep the services busy on two cores, few enough
# that a slow call's deadline is not spent queueing.
CONCURRENCY = 16
# Seconds one Scale may take (up to 5 model calls; the replay answers at once).
CALL_TIMEOUT_S = 120
CHARS_PER_TOKEN = 4


def prompt(row: dict) -> str:
    """The question as MMLU-Pro's prompt shows it: the options lettered, one a line."""
    options = "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(row["options"]))
    return f"Question: {row['question']}\nOptions:\n{options}"


def patterns(row: dict) -> list[str]:
    return list(LETTERS[: len(row["options"])])


def alias(model: str) -> str:
    return model.replace(".", "-")


def tokens(chars: int) -> int:
    return max(1, math.ceil(chars / CHARS_PER_TOKEN))


def split(rows: list[dict], seed: int, mode: str) -> tuple[list[dict], list[dict]]:
    """(validation, held back): each category's questions sorted by id, shuffled by one seeded
    generator (categories in sorted order), cut to the mode's size, then halved."""
    by_category: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_category[row["category"]].append(row)
    rng = random.Random(seed)
    validation, held = [], []
    for category in sorted(by_category):
        items = sorted(by_category[category], key=lambda r: r["id"])
        rng.shuffle(items)
        if mode == "quick":
            items = items[: max(2, round(len(items) * QUICK_SHARE))]
        elif mode == "smoke":
            items = items[:SMOKE_PER_CATEGORY]
        half = len(items) // 2
        validation += items[:half]
        held += items[half:]
    return validation, held


def registry(models: list[str], meta: dict, top: list[str], api_base: str) -> str:
    """Every model with its prices; routing cost the blended price. The default panels (what
    the HTTP vote models use without a champion) are the validation half's best."""
    lines = ["defaults: {api_key_env: NVIDIA_API_KEY}", "models:"]
    for m in models:
        p = meta[m]
        lines.append(
            f"  - {{alias: {alias(m)}, model: nvidia_nim/replay/{m}, tier: fast, "
            f"cost: {p['price_per_m_tokens']}, input_cost_per_mtok: {p['input_price']}, "
            f"output_cost_per_mtok: {p['output_price']}, api_base: '{api_base}'}}"
        )
    lines.append("panels:")
    for k in (1, 3, 5):
        lines.append(f"  default-k{k}: [{', '.join(alias(m) for m in top[:k])}]")
    return "\n".join(lines) + "\n"


# -- reading results defensively: fields that newer protos add ---------------------------------


def has_field(message_type, name: str) -> bool:
    return name in message_type.DESCRIPTOR.fields_by_name


def enum_value(message_type, field: str, name: str) -> int | None:
    if not has_field(message_type, field):
        return None
    enum = message_type.DESCRIPTOR.fields_by_name[field].enum_type
    value = enum.values_by_name.get(name) if enum is not None else None
    return value.number if value is not None else None


def enum_name(message, field: str) -> str:
    if not has_field(type(message), field):
        return ""
    enum = type(message).DESCRIPTOR.fields_by_name[field].enum_type
    value = enum.values_by_number.get(getattr(message, field))
    return value.name if value is not None else ""


def vote_share(votes, answer: str) -> float:
    """Votes for `answer` over votes cast (parsed answers); 0 without an answer."""
    cast = [v.parsed_answer for v in votes if v.parsed_answer]
    if not answer or not cast:
        return 0.0
    return sum(a == answer for a in cast) / len(cast)


def outcome_of(result, row: dict, cascade=None) -> dict:
    confident = getattr(result, "confident", None) if has_field(type(result), "confident") else None
    return {
        "answer": result.answer,
        "right": result.answer == row["answer"],
        "confidence": float(result.confidence),
        "vote_share": vote_share(result.votes, result.answer),
        "cost": float(result.usage.cost_usd),
        "calls": int(result.calls_made),
        "outcome": enum_name(result, "outcome"),
        "source": enum_name(result, "confidence_source"),
        "confident": confident,
        "rule": enum_name(result, "vote_rule"),
        "path": cascade.path if cascade is not None else "",
        # The target the cascade aimed at (the gateway's default when the request set none).
        "target": getattr(cascade, "min_confidence", None) if cascade is not None else None,
        "parsed": [v.parsed_answer for v in result.votes],
        "models": [v.model for v in result.votes],
    }


# -- calibration -------------------------------------------------------------------------------


def bins(pairs: list[tuple[float, bool]]) -> list[dict]:
    """Equal-width bins of confidence: count, mean confidence, accuracy."""
    grouped: list[list[tuple[float, bool]]] = [[] for _ in range(BINS)]
    for confidence, right in pairs:
        c = min(max(confidence, 0.0), 1.0)
        grouped[min(int(c * BINS), BINS - 1)].append((c, right))
    return [
        {
            "low": round(i / BINS, 4),
            "high": round((i + 1) / BINS, 4),
            "n": len(g),
            "confidence": round(statistics.fmean(c for c, _ in g), 4) if g else None,
            "accuracy": round(statistics.fmean(r for _, r in g), 4) if g else None,
        }
        for i, g in enumerate(grouped)
    ]


def ece(pairs: list[tuple[float, bool]]) -> float | None:
    if not pairs:
        return None
    return sum(b["n"] * abs(b["confidence"] - b["accuracy"]) for b in bins(pairs) if b["n"]) / len(
        pairs
    )


def brier(pairs: list[tuple[float, bool]]) -> float | None:
    if not pairs:
        return None
    return statistics.fmean((min(max(c, 0.0), 1.0) - r) ** 2 for c, r in pairs)


def rounded(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def summary(outcomes: list[dict], calibration: bool = True) -> dict:
    """Accuracy, mean cost and calls; with `calibration`, ECE and Brier of the results'
    confidence and of the raw vote share (a result without an answer is wrong at whatever
    confidence it reports; `ece_answered` leaves those out)."""
    n = len(outcomes)
    done = [o for o in outcomes if "error" not in o]
    confidence = [(o["confidence"], o["right"]) for o in done]
    share = [(o["vote_share"], o["right"]) for o in done]
    figures = {
        "n": n,
        "accuracy": rounded(sum(o.get("right", False) for o in outcomes) / max(n, 1)),
        "mean_cost_usd": rounded(sum(o.get("cost", 0.0) for o in outcomes) / max(n, 1), 7),
        "mean_calls": rounded(sum(o.get("calls", 0) for o in outcomes) / max(n, 1), 3),
        "no_answer_share": rounded(sum(not o.get("answer") for o in outcomes) / max(n, 1)),
        "errors": n - len(done),
    }
    if confidence and calibration:
        answered = [(o["confidence"], o["right"]) for o in done if o["answer"]]
        figures.update(
            ece=rounded(ece(confidence)),
            brier=rounded(brier(confidence)),
            ece_vote_share=rounded(ece(share)),
            brier_vote_share=rounded(brier(share)),
            ece_answered=rounded(ece(answered)),
        )
        for key, name in (("source", "confidence_sources"), ("rule", "vote_rules")):
            counts = Counter(o.get(key) for o in done if o.get(key))
            if counts:
                figures[name] = dict(counts.most_common())
        targets = {o["target"] for o in done if o.get("target") is not None}
        if len(targets) == 1:
            figures["min_confidence"] = targets.pop()
        flagged = [o for o in done if o.get("confident") is False]
        if any(o.get("confident") is not None for o in done):
            figures["not_confident_share"] = rounded(len(flagged) / len(done))
            if flagged:
                figures["not_confident_accuracy"] = rounded(
                    sum(o["right"] for o in flagged) / len(flagged)
                )
    return figures


# -- the system --------------------------------------------------------------------------------


class Replay:
    """The gateway's public calls for the held-back questions, bounded in flight."""

    def __init__(self, gateway, rows: list[dict]) -> None:
        self.gateway = gateway
        self.rows = rows
        self.bound = asyncio.Semaphore(CONCURRENCY)
        self.vote_rules = {
            name: enum_value(gateway_pb2.ScaleRequest, "vote_rule", f"VOTE_RULE_{name.upper()}")
            for name in ("majority", "weighted")
        }
        self.min_confidence = has_field(gateway_pb2.ScaleRequest, "min_confidence")

    def request(self, row, *, k: int, models: list[str], rule: str = "", target=None):
        request = gateway_pb2.ScaleRequest(
            question=prompt(row),
            k=k,
            answer_patterns=patterns(row),
            models=models,
            no_shadow=True,
            options=calls_pb2.CallOptions(cache=calls_pb2.CACHE_MODE_SKIP),
        )
        if rule and self.vote_rules.get(rule) is not None:
            request.vote_rule = self.vote_rules[rule]
        if target is not None and self.min_confidence:
            request.min_confidence = target
        return request

    async def scale(self, name: str, **kwargs) -> list[dict]:
        started, finished = time.monotonic(), 0

        async def one(row):
            nonlocal finished
            async with self.bound:
                try:
                    reply = await self.gateway.Scale(
                        self.request(row, **kwargs), timeout=CALL_TIMEOUT_S
                    )
                except grpc.aio.AioRpcError as exc:
                    finished += 1
                    return {"error": f"{exc.code().name}: {exc.details()}", "right": False}
            finished += 1
            return outcome_of(reply.result, row, reply.cascade)

        outcomes = await asyncio.gather(*(one(r) for r in self.rows))
        failed = [o["error"] for o in outcomes if "error" in o]
        errors = len(failed)
        example = f", {errors} errors, e.g. {failed[0][:300]}" if errors else ""
        print(f"  {name:28s} {len(outcomes)} questions in {time.monotonic() - started:5.1f} s"
              f"{example}", flush=True)  # fmt: skip
        return outcomes


async def profile(gateway, items: list[dict], aliases: list[str]):
    request = gateway_pb2.ProfileModelsRequest(
        models=aliases,
        items=[
            gateway_pb2.LabelledItem(
                item_id=str(r["id"]),
                question=prompt(r),
                answer_patterns=patterns(r),
                label=r["answer"],
            )
            for r in items
        ],
        answer_patterns=list(LETTERS),
        max_concurrency=32,
    )
    last, shown = None, time.monotonic()
    async for step in gateway.ProfileModels(request, timeout=3600):
        last = step
        if time.monotonic() - shown > 15:
            print(f"  profiled {step.done}/{step.total} answers", flush=True)
            shown = time.monotonic()
    assert last is not None and last.HasField("capability_map")
    return last.capability_map


async def route_public(gateway, rows: list[dict]):
    """The gateway's Route at lambda 0 for every prompt: its choice, and its candidates' terms
    (psi, cost) from which the lambda sweep ranks without asking again."""
    bound = asyncio.Semaphore(CONCURRENCY)

    async def one(row):
        request = gateway_pb2.RouteRequest(text=prompt(row))
        setattr(request, "lambda", 0.0)
        async with bound:
            return (await gateway.Route(request, timeout=60)).routing

    return await asyncio.gather(*(one(r) for r in rows))


def pick(candidates, lam: float) -> str:
    """learning's rule on its own terms: lowest psi + lambda * cost, then psi, then alias."""
    return min(candidates, key=lambda c: (c.psi + lam * c.cost, c.psi, c.model)).model


async def http_votes(base: str, rows: list[dict], k: int) -> list[dict]:
    bound = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, timeout=CALL_TIMEOUT_S) as client:

        async def one(row):
            body = {
                "model": f"freescaling/vote-{k}",
                "messages": [{"role": "user", "content": prompt(row)}],
                "answer_patterns": patterns(row),
                "cache": "skip",
            }
            async with bound:
                reply = await client.post("/v1/chat/completions", json=body)
            if reply.status_code != 200:
                return {"error": f"HTTP {reply.status_code}: {reply.text[:200]}", "right": False}
            extension = reply.json()["freescaling"]
            answer = extension.get("answer", "")
            # An answer has at least one vote behind it.
            cast = [v["parsed_answer"] for v in extension.get("votes", []) if v["parsed_answer"]]
            return {
                "answer": answer,
                "right": answer == row["answer"],
                "confidence": float(extension.get("confidence", 0.0)),
                "vote_share": sum(a == answer for a in cast) / len(cast) if answer else 0.0,
                "cost": float(extension.get("cost_usd", 0.0)),
                "calls": int(extension.get("calls_made", 0)),
                "models": [v["model"] for v in extension.get("votes", [])],
            }

        return await asyncio.gather(*(one(r) for r in rows))


# -- the run -----------------------------------------------------------------------------------


async def run(args, folder: Path) -> tuple[dict, dict]:
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    rows = load(folder)
    meta = json.loads((folder / "models.json").read_text())["models"]
    models = list(meta)
    # The same question appears twice in a few categories (8 of 3,000): the replay finds a
    # question by its text, so only its first occurrence is kept.
    seen, unique = set(), []
    for row in sorted(rows, key=lambda r: r["id"]):
        if prompt(row) not in seen:
            seen.add(prompt(row))
            unique.append(row)
    duplicates = len(rows) - len(unique)
    validation, held = split(unique, args.seed, mode)
    by_prompt = {prompt(r): r for r in unique}
    to_model = {alias(m): m for m in models}

    # The validation half as the ensemble's parser reads it: the registry's default panels (the
    # HTTP votes' panel) and the per-subject baseline. The capability map says the same.
    local = {m: [parse_answer(r["outputs"][m], patterns(r)) == r["answer"] for r in validation]
             for m in models}  # fmt: skip
    local_accuracy = {m: sum(v) / len(v) for m, v in local.items()}
    local_top = sorted(models, key=lambda m: (-local_accuracy[m], m))
    by_category: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for i, r in enumerate(validation):
        for m in models:
            by_category[r["category"]][m].append(local[m][i])
    subject_best = {
        c: max(models, key=lambda m: (sum(v[m]) / len(v[m]), local_accuracy[m], m))
        for c, v in by_category.items()
    }

    misses: Counter[str] = Counter()
    fake = FakeOpenAI(record=False).start()
    for m in models:

        def answer(body, m=m):
            user = [x["content"] for x in body["messages"] if x["role"] == "user"][-1]
            row = by_prompt.get(user)
            if row is None:
                misses[m] += 1
                return Step(status=500)
            text = row["outputs"][m]
            chars = sum(len(x.get("content") or "") for x in body["messages"])
            return Step(text=text, prompt_tokens=tokens(chars), completion_tokens=tokens(len(text)))

        fake.respond(f"replay/{m}", answer)
    workdir = Path(tempfile.mkdtemp(prefix="bench-real-votes-"))
    services: dict = {}
    channels: dict = {}
    timings: dict[str, float] = {}
    try:
        (workdir / "registry.yaml").write_text(registry(models, meta, local_top, fake.base_url))
        started = time.monotonic()
        checkpoint = make_checkpoint(workdir, "bench", [prompt(r) for r in validation])
        http_port = free_port()
        services = start_system(
            workdir,
            checkpoint,
            # The test checkpoint's complexity is random: every prompt counts as simple.
            classifier_env={
                "FREESCALING_CLASSIFIER_TIER_THRESHOLDS": "0.98,0.99",
                # Every held-back question is classified once per policy (about 20 times): the
                # output cache answers the repeats exactly as a forward pass would.
                "FREESCALING_CLASSIFIER_OUTPUT_CACHE": "8192",
            },
            # The HTTP API on a port chosen here: the services log at WARNING, so the port the
            # gateway would pick is not in its log.
            gateway_env={"FREESCALING_GATEWAY_HTTP_PORT": str(http_port)},
        )
        print(f"system up in {time.monotonic() - started:.0f} s; {len(validation)} validation "
              f"and {len(held)} held-back questions ({mode})", flush=True)  # fmt: skip
        channels = {n: grpc.aio.insecure_channel(s.address) for n, s in services.items()}
        gateway = gateway_pb2_grpc.GatewayStub(channels["gateway"])
        t0 = time.monotonic()
        atlas = await profile(gateway, validation, [alias(m) for m in models])
        timings["profile_s"] = time.monotonic() - t0
        accuracy = {to_model[c.model]: c.accuracy for c in atlas.models}
        top = sorted(models, key=lambda m: (-accuracy.get(m, 0.0), m))
        print(f"profiled {len(models)} models on {len(validation)} questions in "
              f"{timings['profile_s']:.0f} s; estimator {atlas.estimator.description}; by "
              f"validation accuracy: {', '.join(f'{m} {accuracy[m]:.3f}' for m in top)}",
              flush=True)  # fmt: skip

        replay = Replay(gateway, held)
        t0 = time.monotonic()
        outcomes: dict[str, list[dict]] = {}
        for m in models:
            outcomes[f"single:{m}"] = await replay.scale(f"single:{m}", k=1, models=[alias(m)])
        rules = ["majority", "weighted"] if replay.vote_rules["weighted"] is not None else [""]
        for k in (3, 5):
            panel = [alias(m) for m in top[:k]]
            for rule in rules:
                name = f"{rule or 'default'}_k{k}"
                outcomes[name] = await replay.scale(name, k=k, models=panel, rule=rule)
        targets = {"smoke": SMOKE_AUTO_TARGETS, "quick": QUICK_AUTO_TARGETS}.get(mode, AUTO_TARGETS)
        if not replay.min_confidence:
            targets = [None]
        for target in targets:
            name = "auto" if target is None else f"auto@{target:g}"
            outcomes[name] = await replay.scale(name, k=0, models=[], target=target)
        timings["scale_s"] = time.monotonic() - t0

        t0 = time.monotonic()
        routings = await route_public(gateway, held)
        routed = [to_model[r.model] for r in routings]
        terms = [list(r.candidates) for r in routings]
        timings["route_s"] = time.monotonic() - t0

        t0 = time.monotonic()
        sample = held if args.smoke else held[: min(HTTP_SAMPLE, len(held))]
        base = f"http://127.0.0.1:{http_port}"
        http = {f"http_vote{k}": await http_votes(base, sample, k) for k in (3, 5)}
        timings["http_s"] = time.monotonic() - t0
    finally:
        for channel in channels.values():
            await channel.close()
        for s in reversed(list(services.values())):
            s.stop()
        fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    return analyse(
        mode=mode,
        held=held,
        validation=validation,
        models=models,
        meta=meta,
        accuracy=accuracy,
        top=top,
        local_top=local_top,
        subject_best=subject_best,
        outcomes=outcomes,
        routed=routed,
        terms=terms,
        routings=[r.model for r in routings],
        methods=[enum_name(r, "method") for r in routings],
        http=http,
        sample=sample,
        atlas=atlas,
        replay=replay,
        timings=timings,
        duplicates=duplicates,
        misses=misses,
    )


def analyse(**a) -> tuple[dict, dict]:
    """(the figures for the JSON line, the detail for the JSON file and the plots)."""
    held, models, outcomes = a["held"], a["models"], a["outcomes"]
    singles = {m: outcomes[f"single:{m}"] for m in models}
    n = len(held)

    def chosen(picks: list[str], name: str, calls: int = 1) -> list[dict]:
        """A policy that picks one model per question, scored by that model's own k=1 call."""
        return [dict(singles[m][i], calls=calls, policy=name) for i, m in enumerate(picks)]

    best = a["top"][0]
    cheapest = min(models, key=lambda m: (a["meta"][m]["price_per_m_tokens"], -a["accuracy"][m]))
    policies: dict[str, dict] = {}
    for m in models:
        policies[f"single:{m}"] = summary(singles[m])
    # Voting policies through Scale, then the single-model baselines.
    voting = [name for name in outcomes if not name.startswith("single:")]
    for name in voting:
        policies[name] = summary(outcomes[name])
    policies["best_single"] = {"model": best, **policies[f"single:{best}"]}
    policies["cheapest"] = {"model": cheapest, **policies[f"single:{cheapest}"]}
    per_subject = [a["subject_best"].get(r["category"], best) for r in held]
    # Baselines made of other calls' results: their confidence is not one the system gave them.
    policies["per_subject_best"] = summary(chosen(per_subject, "per_subject_best"), False)
    oracle = []
    for i in range(n):
        right = [m for m in models if singles[m][i].get("right")]
        pool = right or models
        oracle.append(min(pool, key=lambda m: singles[m][i].get("cost", 0.0)))
    policies["oracle"] = summary(chosen(oracle, "oracle"), False)
    policies["route_lambda0"] = summary(chosen(a["routed"], "route_lambda0"))
    to_model = {alias(m): m for m in models}
    sweep = []
    for lam in LAMBDAS:
        picks = [to_model[pick(t, lam)] if t else a["routed"][i] for i, t in enumerate(a["terms"])]
        s = summary(chosen(picks, f"route@{lam:g}"), False)
        sweep.append(
            {"lambda": lam, "accuracy": s["accuracy"], "mean_cost_usd": s["mean_cost_usd"]}
        )
    # The sweep's rule against Route's own choice at lambda 0 (they should agree).
    agree = [pick(t, 0.0) == r for t, r in zip(a["terms"], a["routings"], strict=True) if t]
    for name, outs in a["http"].items():
        policies[name] = summary(outs)

    # Parser per model, through the system (the k=1 votes' parsed answers) against `pred`.
    parser: dict[str, dict] = {}
    total = Tally()
    for m in models:
        t = Tally()
        for row, o in zip(held, singles[m], strict=True):
            parsed = (o.get("parsed") or [""])[0] or None
            whole = not row["outputs"][m].startswith(TRIMMED)
            t.add(parsed, row["pred"][m], row["answer"], whole)
            total.add(parsed, row["pred"][m], row["answer"], whole)
        f = t.figures()
        parser[m] = {
            "parser_accuracy": f["parser_accuracy"],
            "mmlu_extraction_accuracy": f["mmlu_extraction_accuracy"],
            "gap_pts": round(100 * (f["parser_accuracy"] - f["mmlu_extraction_accuracy"]), 2),
            "lost": t.lost,
            "lost_to_abstention": t.lost_to_none,
            "gained": t.gained,
            "abstention_share": f["parser_abstention_share"],
        }

    # Calibration pooled over the voting results (fixed panels and every k=auto target), and
    # over the k=1 calls apart.
    vote_names = [v for v in voting if not v.startswith("http_")]
    # Majority votes report the raw vote share by contract: the pool is the default rule's.
    calibrated = [v for v in vote_names if not v.startswith("majority_")]
    pooled = [o for v in calibrated for o in outcomes[v] if "error" not in o]
    single_pool = [o for m in models for o in singles[m] if "error" not in o]
    confidence = [(o["confidence"], o["right"]) for o in pooled]
    share = [(o["vote_share"], o["right"]) for o in pooled]

    best_acc = policies["best_single"]["accuracy"]
    best_cost = policies["best_single"]["mean_cost_usd"]
    autos = [v for v in voting if v.startswith("auto")]
    good = [policies[v]["mean_cost_usd"] for v in autos if policies[v]["accuracy"] >= best_acc]
    weighted_k5 = "weighted_k5" if "weighted_k5" in policies else "default_k5"
    runnable = [*vote_names, "route_lambda0", *(f"single:{m}" for m in models)]
    best_policy = max(
        runnable, key=lambda p: (policies[p]["accuracy"], -policies[p]["mean_cost_usd"])
    )
    http_agree = {}
    for k, grpc_name in ((3, weighted_k5.replace("k5", "k3")), (5, weighted_k5)):
        pairs = list(zip(a["http"][f"http_vote{k}"], outcomes[grpc_name], strict=False))
        if pairs:
            http_agree[f"http_vote{k}_agrees_with_{grpc_name}"] = round(
                sum(h.get("answer") == g.get("answer") for h, g in pairs) / len(pairs), 4
            )
    auto_paths = Counter(o.get("path", "") for o in outcomes["auto"])
    sources = Counter(o.get("source", "") for o in pooled)

    def pts(policy: str) -> float:
        return round(100 * (policies[policy]["accuracy"] - best_acc), 2)

    answered = [(o["confidence"], o["right"]) for o in pooled if o["answer"]]
    single_pairs = [(o["confidence"], o["right"]) for o in single_pool]
    best_auto = max(autos, key=lambda v: policies[v]["accuracy"])
    figures = {
        "mode": a["mode"],
        "questions_validation": len(a["validation"]),
        "questions_held_back": n,
        "duplicates_dropped": a["duplicates"],
        "replay_misses": sum(a["misses"].values()),
        "estimator": a["atlas"].estimator.description,
        "best_single_model": best,
        "cheapest_model": cheapest,
        "panel_k3": a["top"][:3],
        "panel_k5": a["top"][:5],
        "http_panel_matches": a["local_top"][:5] == a["top"][:5],
        "vote_rule_supported": a["replay"].vote_rules["weighted"] is not None,
        "min_confidence_supported": a["replay"].min_confidence,
        "parser_lost_share": total.figures()["parser_lost_share"],
        "parser_accuracy": total.figures()["parser_accuracy"],
        "mmlu_extraction_accuracy": total.figures()["mmlu_extraction_accuracy"],
        "ece": rounded(ece(confidence)),
        "brier": rounded(brier(confidence)),
        "ece_vote_share": rounded(ece(share)),
        "brier_vote_share": rounded(brier(share)),
        "ece_answered": rounded(ece(answered)),
        "ece_singles": rounded(ece(single_pairs)),
        "brier_singles": rounded(brier(single_pairs)),
        "confidence_sources": dict(sources),
        "best_single_accuracy": best_acc,
        "best_single_mean_cost_usd": best_cost,
        "weighted_k5_vs_best_single_pts": pts(weighted_k5),
        "auto_cost_ratio_at_best_single": (
            round(min(good) / best_cost, 3) if good and best_cost else None
        ),
        "auto_best_vs_best_single_pts": pts(best_auto),
        "auto_best": best_auto,
        "best_policy": best_policy,
        "best_vs_best_single_pts": pts(best_policy),
        "route_lambda0_vs_best_single_pts": pts("route_lambda0"),
        "auto_paths": dict(auto_paths.most_common()),
        "route_methods": dict(Counter(a["methods"])),
        "sweep_agrees_with_route": round(sum(agree) / len(agree), 4) if agree else None,
        **http_agree,
        **{k: round(v, 1) for k, v in a["timings"].items()},
        "policies": policies,
    }  # fmt: skip
    detail = {
        "figures": figures,
        "parser": parser,
        "auto_curve": [
            {**policies[v], "requested": float(v.partition("@")[2] or 0) or None} for v in autos
        ],
        "routing_sweep": sweep,
        "reliability": {"confidence": bins(confidence), "vote_share": bins(share)},
        "subject_best": a["subject_best"],
        "validation_accuracy": a["accuracy"],
    }
    return figures, detail


# -- printing and plots ------------------------------------------------------------------------


def show(figures: dict, detail: dict) -> None:
    print(f"\n{'model':28s} {'parser':>7s} {'mmlu':>7s} {'gap':>6s} {'lost':>5s} {'->none':>6s} "
          f"{'gained':>6s}")  # fmt: skip
    for m, p in detail["parser"].items():
        print(f"{m:28s} {p['parser_accuracy']:7.1%} {p['mmlu_extraction_accuracy']:7.1%} "
              f"{p['gap_pts']:+6.1f} {p['lost']:5d} {p['lost_to_abstention']:6d} "
              f"{p['gained']:6d}")  # fmt: skip
    print(f"\n{'policy':34s} {'accuracy':>8s} {'$/question':>11s} {'calls':>6s} {'no ans':>6s} "
          f"{'ECE':>6s} {'Brier':>6s} {'ECE vs':>6s} {'Br vs':>6s}")  # fmt: skip
    for name, p in figures["policies"].items():
        label = f"{name} ({p['model']})" if "model" in p else name
        if p["n"] != figures["questions_held_back"]:
            label += f" (n={p['n']})"
        print(f"{label:34.34s} {p['accuracy']:8.1%} {p['mean_cost_usd']:11.6f} "
              f"{p['mean_calls']:6.2f} {p['no_answer_share']:6.1%} "
              + " ".join(f"{p[k]:6.3f}" if p.get(k) is not None else f"{'-':>6s}"
                         for k in ("ece", "brier", "ece_vote_share", "brier_vote_share"))
        )  # fmt: skip
    print("(ECE vs / Br vs: the raw vote share's)\n")


def plot(figures: dict, detail: dict, out: Path) -> list[str]:
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        raise ImportError("bench/real_votes.py draws with matplotlib: pip install .[dev]") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    # The reliability diagram: accuracy per confidence bin, calibrated confidence and raw vote
    # share side by side, the pooled voting results' counts below.
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(6.4, 7.2), gridspec_kw={"height_ratios": [3, 1]}, sharex=True
    )
    top.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    width = 1 / BINS
    for key, label, colour, shift in (
        ("confidence", f"result confidence (ECE {figures['ece']})", "tab:blue", -0.25),
        ("vote_share", f"raw vote share (ECE {figures['ece_vote_share']})", "tab:orange", 0.25),
    ):
        rows = [b for b in detail["reliability"][key] if b["n"]]
        top.plot([b["confidence"] for b in rows], [b["accuracy"] for b in rows], marker="o",
                 color=colour, label=label)  # fmt: skip
        every = detail["reliability"][key]
        bottom.bar([(b["low"] + b["high"]) / 2 + shift * width for b in every],
                   [b["n"] for b in every], width=width / 2, color=colour)  # fmt: skip
    top.set_ylabel("accuracy in the bin")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_title(f"Reliability: voting results on {figures['questions_held_back']} held-back "
                  f"MMLU-Pro questions ({figures['mode']})", fontsize=9)  # fmt: skip
    top.legend(loc="upper left", fontsize=8)
    bottom.set_xlabel(f"confidence ({BINS} equal-width bins)")
    bottom.set_ylabel("results")
    fig.tight_layout()
    path = out / "reliability.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    written.append(str(path))

    # Accuracy against mean cost per question.
    fig, ax = plt.subplots(figsize=(8, 5.6))
    policies = figures["policies"]
    sweep = detail["routing_sweep"]
    ax.plot([s["mean_cost_usd"] for s in sweep], [s["accuracy"] for s in sweep], color="tab:green",
            linewidth=1, alpha=0.7, label="profile routing, lambda sweep")  # fmt: skip
    curve = detail["auto_curve"]
    ax.plot([c["mean_cost_usd"] for c in curve], [c["accuracy"] for c in curve], marker="o",
            color="tab:red", label="k=auto by min_confidence")  # fmt: skip
    for c in curve:
        label = c["requested"] or f"default ({c.get('min_confidence', '?')})"
        ax.annotate(label, (c["mean_cost_usd"], c["accuracy"]),
                    fontsize=7, xytext=(3, 3), textcoords="offset points")  # fmt: skip
    for name, p in policies.items():
        if name.startswith("single:"):
            ax.scatter(p["mean_cost_usd"], p["accuracy"], color="grey", s=14)
            ax.annotate(name[7:], (p["mean_cost_usd"], p["accuracy"]), fontsize=6, color="grey",
                        xytext=(3, -8), textcoords="offset points")  # fmt: skip
    # Majority hollow and larger, so that a weighted panel on the same spot leaves it visible.
    marks = {"majority_k3": ("s", "tab:purple"), "majority_k5": ("D", "tab:purple"),
             "weighted_k3": ("s", "tab:blue"), "weighted_k5": ("D", "tab:blue"),
             "default_k3": ("s", "tab:blue"), "default_k5": ("D", "tab:blue"),
             "route_lambda0": ("^", "tab:green"), "per_subject_best": ("v", "black"),
             "oracle": ("*", "gold"), "http_vote3": ("x", "tab:cyan"),
             "http_vote5": ("x", "tab:cyan")}  # fmt: skip
    for name, (marker, colour) in marks.items():
        if name in policies:
            p = policies[name]
            hollow = name.startswith("majority_")
            style = {"facecolors": "none", "edgecolors": colour} if hollow else {"color": colour}
            label = name if p["n"] == figures["questions_held_back"] else f"{name} (n={p['n']})"
            ax.scatter(p["mean_cost_usd"], p["accuracy"], marker=marker, s=110 if hollow else 50,
                       label=label, **style)  # fmt: skip
    best = policies["best_single"]
    ax.axhline(best["accuracy"], color="grey", linestyle=":", linewidth=1)
    ax.axvline(best["mean_cost_usd"], color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("mean cost per question (USD, log scale)")
    ax.set_ylabel("accuracy on held-back questions")
    ax.set_title(f"Accuracy against cost ({figures['mode']}; dotted: best single model "
                 f"{figures['best_single_model']})", fontsize=9)  # fmt: skip
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path = out / "accuracy_cost.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    written.append(str(path))
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a sixth of each category")
    parser.add_argument("--smoke", action="store_true", help="two per category: does it run?")
    parser.add_argument("--seed", type=int, default=SEED, help="the split's shuffle seed")
    parser.add_argument("--out", help="folder for real_votes.json and the PNGs")
    args = parser.parse_args()
    folder = Path(os.environ.get("FREESCALING_MMLU_DATA") or DEFAULT_DATA)
    if args.out:
        out = Path(args.out)
    elif args.smoke:
        out = Path(tempfile.mkdtemp(prefix="real-votes-smoke-"))
    else:
        out = ROOT / "bench" / "out" / ("real_votes-quick" if args.quick else "real_votes")
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    figures, detail = asyncio.run(run(args, folder))
    figures["wall_s"] = round(time.monotonic() - started, 1)
    figures["seed"] = args.seed
    show(figures, detail)
    pictures = plot(figures, detail, out)
    (out / "real_votes.json").write_text(json.dumps(detail, indent=1) + "\n")
    print(f"wrote {out / 'real_votes.json'}, {', '.join(pictures)}")
    figures["out"] = str(out)
    for key, value in figures.items():
        if key != "policies":
            print(f"{key:32s} {value}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
