"""Benchmark of the dashboard (/ui): how long each view's data takes to load with 100,000 calls
recorded in learning (SQLite), through the gateway's HTTP port as the page fetches it, and, where
Chromium is installed, how long each view takes in a real browser from navigation to drawn.
Target: under 300 ms a view. Baseline, measured in the same run against the same gateway:
GET /v1/models (a route that touches no database: the HTTP + gRPC floor).

    python bench/ui.py [--quick | --smoke] [--calls 100000] [--repeats 20] [--no-browser]

The database is filled directly (the learning core's own row builders, one transaction per
5,000 calls): 3 panel votes a call over 8 models, 1% of calls failed and 2% of votes, feedback
on 5%, a rating history row for each vote, calls spread over 30 days, and 8 profiled models so
that the saving has its baseline. --quick: 100,000 calls, 5 repeats, the browser once a view.
--smoke: 2,000 calls, 2 repeats, no browser, to show the benchmark still runs (its figures
mean nothing).

Ends with one JSON line: calls, for each view `<view>_ms` (median) and `<view>_p95_ms` over the
repeats, `browser_<view>_ms` (median; null without Chromium), `models_list_ms` (the baseline),
and `fill_s` (the time to fill the database).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from freescaling.common.v1 import records_pb2, routing_pb2, voting_pb2  # noqa: E402
from freescaling.learning.v1 import learning_pb2  # noqa: E402
from services.learning import cluster_sets, records, validation  # noqa: E402
from services.learning.db import Database  # noqa: E402
from services.learning.schema import (  # noqa: E402
    calls,
    feedback,
    rating_history,
    ratings,
    votes,
)
from tests.support.bench_system import QUIET, report  # noqa: E402
from tests.support.processes import ServiceProcess  # noqa: E402

MODELS = [f"bench-{i}" for i in range(8)]
VIEWS = ("overview", "models", "capabilities", "calls", "calibration")
CHUNK = 5000
DAY_US = 86_400_000_000
TARGET_MS = 300


def registry(path: Path) -> None:
    lines = ["defaults: {api_key_env: NVIDIA_API_KEY}", "models:"]
    for i, alias in enumerate(MODELS):
        lines.append(
            f"  - {{alias: {alias}, model: nvidia_nim/bench/{alias}, tier: fast, "
            f"input_cost_per_mtok: {0.2 * (i + 1):.1f}, output_cost_per_mtok: {0.6 * (i + 1):.1f}, "
            "api_base: 'http://127.0.0.1:9/v1'}"
        )
    lines += ["panels:", f"  default-k3: [{', '.join(MODELS[:3])}]"]
    path.write_text("\n".join(lines) + "\n")


def fill(url: str, n: int, rng: random.Random) -> None:
    """n scale calls over the last 30 days, with votes, failures, feedback and history."""
    db = Database(url)
    db.migrate()
    now = time.time_ns() // 1000
    start = now - 30 * DAY_US
    stamps = sorted(rng.randrange(start, now) for _ in range(n))
    rating = dict.fromkeys(MODELS, 1_500_000)
    with db.engine.begin() as conn:
        conn.execute(
            ratings.insert(),
            [
                {"model": m, "rating_milli": 1_500_000, "created_us": start, "updated_us": now}
                for m in MODELS
            ],
        )
    seq = 0
    for first in range(0, n, CHUNK):
        call_rows, vote_rows, history, judged = [], [], [], []
        for created in stamps[first : first + CHUNK]:
            seq += 1
            panel = rng.sample(MODELS, 3)
            answers = [rng.choice(["YES", "NO"]) for _ in panel]
            majority = max(("YES", "NO"), key=answers.count)
            failed = rng.random() < 0.01
            record = records_pb2.CallRecord(
                call_id=uuid.UUID(int=rng.getrandbits(128)).hex,
                kind=records_pb2.CALL_KIND_SCALE,
                question=f"Is message {seq} urgent? Answer YES or NO.",
                answer_patterns=["YES", "NO"],
                answer=majority,
                confidence=answers.count(majority) / 3,
                outcome=voting_pb2.SCALE_OUTCOME_MAJORITY,
                k=3,
                latency_s=rng.uniform(0.3, 3.0),
                error="UNAVAILABLE: the ensemble did not answer" if failed else "",
            )
            record.created_at.FromMicroseconds(created)
            for model, answer in zip(panel, answers, strict=True):
                vote = record.votes.add(
                    model=model,
                    raw_output=f"Answer: {answer}",
                    parsed_answer=answer,
                    latency_s=rng.uniform(0.2, 2.0),
                    usage=voting_pb2.Usage(prompt_tokens=120, completion_tokens=8,
                                           total_tokens=128, cost_usd=0.00003),
                )  # fmt: skip
                if rng.random() < 0.02:
                    vote.parsed_answer = ""
                    vote.error = "RateLimitError: 429 from the provider"
            record.usage.CopyFrom(voting_pb2.Usage(prompt_tokens=360, completion_tokens=24,
                                                   total_tokens=384, cost_usd=0.00009))  # fmt: skip
            row = records._columns(record, created)
            row["seq"] = seq
            call_rows.append(row)
            vote_rows += [records.vote_row(seq, i, v, "panel") for i, v in enumerate(record.votes)]
            for model in panel:
                rating[model] += rng.randint(-4000, 4000)
                history.append({"model": model, "at_us": created, "rating_milli": rating[model]})
            if rng.random() < 0.05:
                right = rng.random() < 0.8
                judged.append(
                    {
                        "idem_key": f"auto:{record.call_id}",
                        "call_seq": seq,
                        "verdict": 1 if right else 2,
                        "label": majority if right else ("NO" if majority == "YES" else "YES"),
                        "reaction": "👍" if right else "",
                        "source": "bench",
                        "created_us": created,
                    }
                )
        with db.engine.begin() as conn:
            conn.execute(calls.insert(), call_rows)
            conn.execute(votes.insert(), vote_rows)
            conn.execute(rating_history.insert(), history)
            if judged:
                conn.execute(feedback.insert(), judged)
    with db.engine.begin() as conn:
        for model, milli in rating.items():
            conn.execute(
                ratings.update().where(ratings.c.model == model).values(rating_milli=milli)
            )
    set_id = "bench-set"
    cluster_sets.record_cluster_set(db, routing_pb2.ClusterSet(id=set_id, k=4))
    for i, model in enumerate(MODELS):
        items = [
            learning_pb2.GradedItem(
                item_id=f"v{j}",
                cluster_id=j % 4,
                task_type=["QA", "Code", "Math"][j % 3],
                correct=rng.random() < 0.5 + 0.05 * i,
                answer="YES",
            )
            for j in range(200)
        ]
        validation.record_validation(
            db,
            learning_pb2.RecordValidationRequest(model=model, cluster_set_id=set_id, items=items),
        )
    db.close()


def timed(client: httpx.Client, path: str, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        began = time.perf_counter()
        reply = client.get(path)
        out.append((time.perf_counter() - began) * 1000)
        reply.raise_for_status()
    return out


def browser_times(base: str, repeats: int) -> dict[str, float | None]:
    """Navigation to drawn (the view's data fetched and its DOM built), per view, in Chromium."""
    try:
        from tests.support import browser as chrome

        driver = chrome.start_browser()
    except BaseException as exc:  # pytest.skip where there is no Chromium
        print(f"no browser figures: {exc}", file=sys.stderr)
        return dict.fromkeys(VIEWS)
    figures = {}
    try:
        driver.get(f"{base}/ui/")
        for view in VIEWS:
            samples = []
            for _ in range(repeats):
                driver.get("about:blank")
                began = time.perf_counter()
                driver.get(f"{base}/ui/#/{view}")
                while driver.execute_script(
                    "const m = document.getElementById('view');"
                    f"return !(m && m.dataset.ready === '1' && m.dataset.view === '{view}');"
                ):
                    time.sleep(0.005)
                samples.append((time.perf_counter() - began) * 1000)
            figures[view] = round(statistics.median(samples), 1)
            errors = chrome.console_errors(driver)
            if errors:
                print(f"console errors on {view}: {errors}", file=sys.stderr)
    finally:
        driver.quit()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--smoke", action="store_true")
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    n = args.calls or (2000 if args.smoke else 100_000)
    repeats = args.repeats or (2 if args.smoke else 5 if args.quick else 20)
    use_browser = not (args.no_browser or args.smoke)
    rng = random.Random(23)
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as scratch:
        workdir = Path(scratch)
        url = f"sqlite:///{workdir / 'learning.db'}"
        began = time.perf_counter()
        fill(url, n, rng)
        fill_s = round(time.perf_counter() - began, 1)
        registry(workdir / "registry.yaml")
        learning = ServiceProcess(
            "learning", workdir, env={**QUIET, "FREESCALING_LEARNING_DATABASE_URL": url}
        )
        ensemble = ServiceProcess(
            "ensemble",
            workdir,
            env={
                **QUIET,
                "NVIDIA_API_KEY": "nvapi-bench-not-a-key",
                "FREESCALING_ENSEMBLE_REGISTRY": str(workdir / "registry.yaml"),
            },
        )
        started = [learning.start(), ensemble.start()]
        gateway = None
        try:
            for service in started:
                service.wait_serving(timeout=120).wait_ready(timeout=120)
            gateway = ServiceProcess(
                "gateway",
                workdir,
                env={
                    # INFO: the gateway logs its HTTP port (one access line a request, as deployed).
                    # No classifier: the views never ask it.
                    "FREESCALING_CLASSIFIER_ADDR": "127.0.0.1:9",
                    "FREESCALING_ENSEMBLE_ADDR": ensemble.address,
                    "FREESCALING_LEARNING_ADDR": learning.address,
                },
            )
            gateway.start().wait_serving().wait_ready()
            base = gateway.http_url()
            figures: dict = {"calls": n, "repeats": repeats}
            with httpx.Client(base_url=base, timeout=60) as client:
                for view in VIEWS:
                    timed(client, f"/ui/api/{view}", 1)  # warm: connections, caches
                    samples = timed(client, f"/ui/api/{view}", repeats)
                    figures[f"{view}_ms"] = round(statistics.median(samples), 1)
                    figures[f"{view}_p95_ms"] = round(
                        sorted(samples)[max(0, round(0.95 * len(samples)) - 1)], 1
                    )
                token = client.get("/ui/api/calls").json()["next_page_token"]
                samples = timed(client, f"/ui/api/calls?page_token={token}", repeats)
                figures["calls_page2_ms"] = round(statistics.median(samples), 1)
                samples = timed(client, "/ui/", repeats)
                figures["page_html_ms"] = round(statistics.median(samples), 1)
                samples = timed(client, "/v1/models", repeats)
                figures["models_list_ms"] = round(statistics.median(samples), 1)
            browser = browser_times(base, 1 if args.quick else 3) if use_browser else {}
            for view in VIEWS:
                figures[f"browser_{view}_ms"] = browser.get(view)
            slowest = max(figures[f"{v}_ms"] for v in VIEWS)
            figures["slowest_view_ms"] = slowest
            figures["under_target"] = slowest < TARGET_MS
            figures["fill_s"] = fill_s
        finally:
            for service in (gateway, ensemble, learning):
                if service is not None:
                    service.stop()
    report(figures)


if __name__ == "__main__":
    main()
