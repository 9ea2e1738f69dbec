"""The `freescaling` command: every public call of the gateway from a shell, as tables for
people or JSON (`--json`) for scripts. `freescaling --help` lists the commands."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from freescaling.client import CapabilityMap, Client, FreeScalingError, Unavailable
from freescaling.client.results import StatsBucket
from freescaling.validation import DEFAULT as DEFAULT_VALIDATION_SET

# Default deadline of one call; profiling gets longer: it asks every model every item `trials`
# times through the provider's rate limit (NIM's free tier: about 40 requests a minute), which
# for the shipped set, 3 models and 3 trials is about 2,000 calls and 50 minutes.
CALL_TIMEOUT_S = 120.0
PROFILE_TIMEOUT_S = 6 * 3600.0
# An error correlation is undefined where a model was right (or wrong) on every shared item:
# shown so, never as 0, which would read as "they err independently".
NOT_DEFINED = "n/a"
UNDEFINED_NOTE = (
    "n/a: undefined, one of the two was right on every shared item (or wrong on every one)"
)
# gRPC's own words when the client reaches no gateway at all (a gateway saying that one of its
# services is down words it otherwise, and its errors carry a request id).
_UNREACHED = ("failed to connect to all addresses", "dns resolution failed")


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns aligned to their widest cell; floats to 4 decimals."""
    cells = [[f"{c:.4f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _k(text: str) -> int | str:
    return text if text == "auto" else int(text)


def _context(args) -> str:
    if getattr(args, "context_file", None):
        return Path(args.context_file).read_text()
    return getattr(args, "context", "") or ""


def _scale(client: Client, args) -> Any:
    result = client.scale(
        args.question,
        k=args.k,
        answers=[a.strip() for a in args.answers.split(",") if a.strip()],
        context=_context(args),
        models=args.models.split(",") if args.models else (),
        shadow=not args.no_shadow,
    )
    if args.json:
        return result
    votes = table(
        ["model", "answer", "latency_s", "error"],
        [
            (
                v.model,
                v.parsed_answer
                or ("(cancelled)" if v.cancelled else "(abstained)" if v.abstained else "-"),
                v.latency_s,
                v.error,
            )
            for v in result.votes
        ],
    )
    head = (
        f"answer: {result.answer or '(none)'}  outcome: {result.outcome}  "
        f"confidence: {result.confidence:.2f}  calls: {result.calls_made}  "
        f"elapsed: {result.elapsed_s:.2f} s\ncall_id: {result.call_id}"
    )
    if result.cascade and result.cascade.path:
        head += f"\npath: {result.cascade.path}"
    if result.shadow:
        head += f"\nshadow: {result.shadow.model} said {result.shadow.parsed_answer or '-'}"
    return f"{head}\n\n{votes}"


def _generate(client: Client, args) -> Any:
    result = client.generate(
        args.question,
        k=args.k,
        context=_context(args),
        max_tokens=args.max_tokens,
        models=args.models.split(",") if args.models else (),
    )
    if args.json:
        return result
    votes = table(
        ["#", "model", "judge votes", "error"],
        [
            (
                o.index,
                o.model,
                result.judge_votes[o.index] if o.index < len(result.judge_votes) else 0,
                o.error,
            )
            for o in result.all_outputs
        ],
    )
    summary = (
        f"winner: {result.winner_model}  calls: {result.total_calls}  call_id: {result.call_id}"
    )
    return f"{result.output}\n\n{summary}\n\n{votes}"


def _chat(client: Client, args) -> Any:
    if args.no_stream:
        whole = client.chat(args.message, model=args.model or "", lambda_=args.lambda_,
                            stream=False)  # fmt: skip
        if args.json:
            return whole
        if whole.routing:
            print(f"[{whole.routing.method}: {whole.routing.model} - {whole.routing.reason}]",
                  file=sys.stderr)  # fmt: skip
        cost = whole.usage.cost_usd if whole.usage else 0.0
        print(f"[{whole.model}, {whole.elapsed_s:.2f} s, ${cost:.6f}, call_id {whole.call_id}]",
              file=sys.stderr)  # fmt: skip
        return whole.text
    events = (
        list(client.chat(args.message, model=args.model or "", lambda_=args.lambda_))
        if args.json
        else None
    )
    if events is not None:
        return events
    for event in client.chat(args.message, model=args.model or "", lambda_=args.lambda_):
        if event.kind == "routing" and event.routing:
            print(
                f"[{event.routing.method}: {event.routing.model} - {event.routing.reason}]",
                file=sys.stderr,
            )
        elif event.kind == "delta":
            print(event.delta, end="", flush=True)
        elif event.kind == "done":
            cost = event.usage.cost_usd if event.usage else 0.0
            print(
                f"\n[{event.model}, {event.elapsed_s:.2f} s, ${cost:.6f}, call_id {event.call_id}]",
                file=sys.stderr,
            )
    return None


def _route(client: Client, args) -> Any:
    routing = client.route(args.text, lambda_=args.lambda_)
    if args.json:
        return routing
    c = routing.classification
    lines = [f"model: {routing.model}  method: {routing.method}  ({routing.reason})"]
    if c:
        lines.append(
            f"tier: {c.tier}  task: {c.task_type_1}  complexity: {c.prompt_complexity_score:.3f}  "
            f"cluster: {c.cluster_id if c.cluster_id is not None else '-'}"
        )
    if routing.candidates:
        lines.append(
            table(
                ["rank", "model", "psi", "cost", "score"],
                [(x.rank, x.model, x.psi, x.cost, x.score) for x in routing.candidates],
            )
        )
    return "\n".join(lines)


def _models(client: Client, args) -> Any:
    models = client.models()
    if args.json:
        return models
    return table(
        ["alias", "tier", "cost", "thinking", "status", "model"],
        [
            (m.alias, m.tier, m.routing_cost, m.thinking, _model_status(m), m.litellm_model)
            for m in models
        ],
    )


def _model_status(model) -> str:
    """available, dead, or unavailable with the reason (what to set)."""
    if model.unavailable:
        return f"unavailable: {model.unavailable_reason}"
    return "dead" if model.dead else "available"


def _panels(client: Client, args) -> Any:
    panels = client.panels()
    return (
        panels
        if args.json
        else table(
            ["panel", "source", "models"], [(p.name, p.source, ", ".join(p.models)) for p in panels]
        )
    )


def _health(client: Client, args) -> Any:
    report = client.health(args.models.split(",") if args.models else ())
    return (
        report
        if args.json
        else table(
            ["model", "status", "latency_ms", "rate_limit_wait_s", "error"],
            [(h.model, h.status, h.latency_ms, h.rate_limit_wait_s, h.error) for h in report],
        )
    )


def _elo(client: Client, args) -> Any:
    ratings = client.elo_summary(args.sort, min_calls=args.min_calls)
    if args.json:
        return ratings
    # calls = answered + abstained + failed + cancelled (votes cut short by a certain majority).
    return table(
        ["model", "rating", "calls", "wins", "losses", "agreement", "answered", "abstained",
         "failed", "cancelled"],
        [
            (r.model, r.rating, r.calls, r.wins, r.losses, r.agreement_rate, r.answered,
             r.abstained, r.failed, r.cancelled)
            for r in ratings
        ],
    )  # fmt: skip


def _feedback(client: Client, args) -> Any:
    verdicts = {"confirm", "override", "panel_right", "shadow_right"}
    verdict = args.reaction if args.reaction in verdicts else ""
    result = client.feedback(
        args.call_id, "" if verdict else args.reaction, verdict=verdict, label=args.label or ""
    )
    if args.json:
        return result
    if result.duplicate:
        return f"already applied to {result.call_id}: nothing changed"
    moves = table(
        ["model", "before", "after"], [(c.model, c.before, c.after) for c in result.changes]
    )
    return f"applied {result.verdict} to {result.call_id}\n\n{moves}"


def _history(client: Client, args) -> Any:
    changes = client.evolution_history(args.panel, args.limit)
    if args.json:
        return changes
    if not changes:
        return f"panel {args.panel or 'champion'}: no change recorded yet"
    return table(
        ["changed_at", "panel", "previous", "current", "reason"],
        [
            (
                c.changed_at.isoformat(timespec="seconds") if c.changed_at else "-",
                c.panel,
                ", ".join(c.previous) or "(none)",
                ", ".join(c.current),
                c.reason,
            )
            for c in changes
        ],
    )


def _aliases(values: Sequence[str] | None) -> list[str]:
    """`--models a b c` (as the seed project took them), `--models a,b,c`, or both."""
    return [a.strip() for value in values or () for a in value.split(",") if a.strip()]


def _evolve(client: Client, args) -> Any:
    if args.history:
        return _history(client, args)
    result = client.evolve(
        dry_run=args.dry_run,
        source="profiles" if args.from_profiles else "elo",
        candidates=_aliases(args.models),
    )
    if args.json:
        return result
    action = "would change" if args.dry_run else "changed"
    if not result.changed:
        return (
            f"champion panel unchanged: {', '.join(result.previous) or '(none)'} ({result.reason})"
        )
    before, after = ", ".join(result.previous) or "(none)", ", ".join(result.proposed)
    return f"{action} the champion panel: {before} -> {after} ({result.reason})"


def _read_items(path: str) -> list[dict]:
    """A JSON-lines validation set: one {"question": ..., "label": ...} object per line."""
    items = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}, line {n}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise ValueError(f"{path}, line {n}: a JSON object per line, please")
        items.append(item)
    if not items:
        raise ValueError(f"{path} holds no items")
    return items


def _capability_json(atlas: CapabilityMap) -> dict:
    """What `--out` writes: the CapabilityMap message's fields (protos/freescaling/common/v1/
    routing.proto), numbers as numbers, with the time it was written."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return {"generated_at": now, **_plain(atlas)}


def _write_map(atlas: CapabilityMap, out: str) -> None:
    text = json.dumps(_capability_json(atlas), ensure_ascii=False, indent=2)
    Path(out).write_text(text + "\n", encoding="utf-8")


def _capability_table(atlas: CapabilityMap) -> str:
    """Per model: accuracy, consistency, accuracy by task type; the error correlation matrix
    (models numbered as in the first table); the estimator routing uses."""
    if not atlas.models:
        return (
            f"no model is profiled on cluster set {atlas.cluster_set_id}: see `freescaling profile`"
        )
    names = [m.model for m in atlas.models]
    numbers = [str(i) for i in range(1, len(names) + 1)]
    lines = [
        f"capability map of {len(names)} model{'s' if len(names) > 1 else ''} "
        f"(cluster set {atlas.cluster_set_id})",
        "",
        table(
            ["#", "model", "items", "trials", "accuracy", "consistency", "cost"],
            [
                (n, m.model, m.items, m.trials, m.accuracy,
                 m.consistency if m.consistency_items else "-", m.routing_cost)
                for n, m in zip(numbers, atlas.models, strict=True)
            ],
        ),
    ]  # fmt: skip
    tasks = sorted({t.task_type for m in atlas.models for t in m.task_types})
    if tasks:
        by = {(m.model, t.task_type): t for m in atlas.models for t in m.task_types}

        def cell(model: str, task: str) -> str:
            found = by.get((model, task))
            return f"{found.accuracy:.2f} ({found.n})" if found else "-"

        lines += [
            "",
            "accuracy by task type (graded answers):",
            table(["task type", *numbers], [(t, *(cell(m, t) for m in names)) for t in tasks]),
        ]
    if len(names) > 1:
        phi: dict[tuple[str, str], float | None] = {}
        for pair in atlas.correlations:
            phi[(pair.model_a, pair.model_b)] = phi[(pair.model_b, pair.model_a)] = pair.correlation

        def together(a: str, b: str) -> str:
            if a == b:
                return "-"
            if (a, b) not in phi:
                return "?"
            value = phi[(a, b)]
            return NOT_DEFINED if value is None else f"{value:+.2f}"

        lines += [
            "",
            "error correlation (phi; near +1: they err together, and add little to one panel):",
            table(
                ["#", *numbers],
                [
                    (n, *(together(a, b) for b in names))
                    for n, a in zip(numbers, names, strict=True)
                ],
            ),
        ]
        if None in phi.values():
            lines.append(UNDEFINED_NOTE)
    e = atlas.estimator
    if e is not None and e.method:
        figures = (
            f"; cross-validated log-loss {e.cv_log_loss:.4f}, routing accuracy "
            f"{e.cv_accuracy:.1%} over {e.items} items"
            if e.cv_log_loss
            else ""
        )
        compared = f" ({len(atlas.compared)} estimators compared)" if atlas.compared else ""
        lines += ["", f"routing estimator: {e.description or e.method}{figures}{compared}"]
    return "\n".join(lines)


def _time_left(elapsed_s: float, done: int, total: int) -> str:
    """ " (about 12 min left)" at the pace so far; nothing before the first answer or after the
    last one."""
    if done <= 0 or done >= total:
        return ""
    left = elapsed_s / done * (total - done)
    if left < 90:
        figure = f"{max(round(left), 1)} s"
    elif left < 90 * 60:
        figure = f"{round(left / 60)} min"
    else:
        figure = f"{left / 3600:.1f} h"
    return f" (about {figure} left)"


def _profile(client: Client, args) -> Any:
    """Profile every model on one labelled validation set (ProfileModels): progress to stderr,
    then the capability map."""
    models = _aliases(args.models)
    if not models:
        raise ValueError("--models names no model")
    data = args.data or str(DEFAULT_VALIDATION_SET)
    items = _read_items(data)
    answers = [a.strip() for a in args.answers.split(",") if a.strip()]
    each = len(items) * max(args.trials, 1)
    final = None
    started, shown = time.monotonic(), 0
    for step in client.profile_models(
        models,
        items,
        answers=answers,
        trials=args.trials,
        max_concurrency=args.concurrency,
        replace=args.replace,
        timeout_s=args.timeout or PROFILE_TIMEOUT_S,
    ):
        if not args.json:
            per = ", ".join(f"{m.model} {m.done}/{each} ({m.correct} right)" for m in step.models)
            left = _time_left(time.monotonic() - started, step.done, step.total)
            line = f"{step.done}/{step.total} graded{left}: {per}"
            # Spaces over what a longer line before left behind (the line is rewritten in place).
            print(f"\r{line.ljust(shown)}", end="", file=sys.stderr, flush=True)
            shown = len(line)
        final = step
    if not args.json:
        print(file=sys.stderr)
    if final is None or final.capability_map is None:
        raise FreeScalingError(
            "UNKNOWN", "the gateway ended ProfileModels without a capability map"
        )
    atlas = final.capability_map
    if args.out:
        _write_map(atlas, args.out)
    if args.json:
        return atlas
    written = f"\n\ncapability map written to {args.out}" if args.out else ""
    return f"profiled {', '.join(models)} on {len(items)} items of {data}\n\n" + (
        _capability_table(atlas) + written
    )


def _capabilities(client: Client, args) -> Any:
    atlas = client.capability_map(args.cluster_set)
    if args.out:
        _write_map(atlas, args.out)
    if args.json:
        return atlas
    written = f"\n\ncapability map written to {args.out}" if args.out else ""
    return _capability_table(atlas) + written


def _suggest_panel(client: Client, args) -> Any:
    panel = client.suggest_panel(args.size, _aliases(args.models), args.cluster_set)
    if args.json:
        return panel
    return (
        f"suggested panel: {', '.join(panel.models)}\n"
        f"panel accuracy {panel.panel_accuracy:.1%} against {panel.best_single_accuracy:.1%} "
        f"for {panel.best_single_model} alone, on {panel.items} validation items; mean error "
        f"correlation {panel.mean_error_correlation:+.2f}\n({panel.reason})"
    )


def _correlation(client: Client, args) -> Any:
    pairs = client.error_correlations(
        [m.strip() for m in args.models.split(",") if m.strip()], args.cluster_set
    )
    if args.json:
        return pairs
    if not pairs:
        return "fewer than two models are profiled: nothing to compare (see `freescaling profile`)"
    shown = table(
        ["model_a", "model_b", "correlation", "shared_items", "both_wrong"],
        [
            (p.model_a, p.model_b, NOT_DEFINED if p.correlation is None else p.correlation,
             p.shared_items, p.both_wrong)
            for p in pairs
        ],
    )  # fmt: skip
    if any(p.correlation is None for p in pairs):
        shown += "\n\n" + UNDEFINED_NOTE
    return shown


def _shares(buckets: Sequence[StatsBucket], total: int) -> list[tuple]:
    """Table rows of one distribution whose shares add up to 1: calls the buckets leave out
    (no tier or task type: not classified) make a "(none)" row, and where a call counts in
    several buckets (a scale call, for each model of its panel) each share is of their sum."""
    counted = sum(b.calls for b in buckets)
    missing = max(total - counted, 0)
    whole = counted + missing
    rows: list[tuple] = [
        (b.key, b.calls, b.calls / whole, b.errors, b.cost_usd, b.mean_latency_s) for b in buckets
    ]
    if missing:
        rows.append(("(none)", missing, missing / whole, "-", "-", "-"))
    return rows


def _stats(client: Client, args) -> Any:
    stats = client.stats()
    if args.json:
        return stats
    # Every call has a kind, so the kinds' errors are the calls that failed.
    errors = sum(b.errors for b in stats.by_kind)
    lines = [
        f"calls: {stats.total_calls}  errors: {errors}  cost: ${stats.total_cost_usd:.4f}  "
        f"tokens: {stats.total_tokens}  "
        f"latency p50/p95: {stats.p50_latency_s:.2f}/{stats.p95_latency_s:.2f} s"
    ]
    cache = stats.cache
    if cache is not None and cache.hits + cache.misses:
        lines.append(
            f"answer cache: {cache.hits} hits ({cache.semantic_hits} semantic), {cache.misses} "
            f"misses, hit rate {cache.hit_rate:.0%}, saved ${cache.saved_cost_usd:.4f}"
        )
    if stats.by_model:
        lines += [
            "",
            "by model (a scale call counts once for each model of its panel; errors: its "
            "answers that failed):",
            table(
                ["model", "calls", "share", "errors", "cost_usd", "mean_latency_s"],
                _shares(stats.by_model, 0),
            ),
        ]
    for title, buckets in (
        ("kind", stats.by_kind),
        ("tier", stats.by_tier),
        ("task type", stats.by_task_type),
    ):
        if buckets:
            lines += [
                "",
                table(
                    [title, "calls", "share", "errors", "cost_usd", "mean_latency_s"],
                    _shares(buckets, stats.total_calls),
                ),
            ]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="freescaling", description="Free Scaling from the command line."
    )
    p.add_argument(
        "--target",
        default=os.environ.get("FREESCALING_TARGET", "localhost:50051"),
        help="gateway host:port [FREESCALING_TARGET]",
    )
    p.add_argument(
        "--api-key",
        default=os.environ.get("FREESCALING_API_KEY", ""),
        help="API key [FREESCALING_API_KEY]",
    )
    p.add_argument(
        "--tls",
        nargs="?",
        const=True,
        default=False,
        help="use TLS (optionally with a PEM file of roots)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        help=f"seconds per call (default {CALL_TIMEOUT_S:.0f}; profile: {PROFILE_TIMEOUT_S:.0f})",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("scale", help="ask k models and vote")
    s.add_argument("question")
    s.add_argument("-k", type=_k, default=3, help="1, 3, 5 or auto")
    s.add_argument("--answers", default="YES,NO", help="allowed answers, comma-separated")
    s.add_argument("--context", default="")
    s.add_argument("--context-file")
    s.add_argument("--models", default="", help="explicit panel, comma-separated aliases")
    s.add_argument("--no-shadow", action="store_true")
    s.set_defaults(run=_scale)

    g = sub.add_parser("generate", help="best-of-k generation judged by other models")
    g.add_argument("question")
    g.add_argument("-k", type=int, default=3)
    g.add_argument("--context", default="")
    g.add_argument("--context-file")
    g.add_argument("--models", default="")
    g.add_argument("--max-tokens", type=int, default=None)
    g.set_defaults(run=_generate)

    c = sub.add_parser("chat", help="a routed, streamed answer")
    c.add_argument("message")
    c.add_argument("--model", default="")
    c.add_argument("--lambda", dest="lambda_", type=float, default=None)
    c.add_argument("--no-stream", action="store_true", help="print the answer once complete")
    c.set_defaults(run=_chat)

    r = sub.add_parser("route", help="explain the routing decision for a prompt")
    r.add_argument("text")
    r.add_argument("--lambda", dest="lambda_", type=float, default=None)
    r.set_defaults(run=_route)

    sub.add_parser("models", help="the model registry").set_defaults(run=_models)
    sub.add_parser("panels", help="panels, default and champion").set_defaults(run=_panels)
    h = sub.add_parser("health", help="probe models now")
    h.add_argument("--models", default="")
    h.set_defaults(run=_health)
    e = sub.add_parser("elo", help="the ELO summary")
    e.add_argument(
        "--sort",
        default="rating",
        choices=["rating", "calls", "answered", "agreement", "wins", "model"],
    )
    e.add_argument("--min-calls", type=int, default=0, help="answered votes at least")
    e.set_defaults(run=_elo)
    f = sub.add_parser(
        "feedback",
        help="feedback on a call: 👍 🅰️ 🅱️ 🔴 🟡 ⚪ or confirm/override/panel_right/shadow_right",
    )
    f.add_argument("call_id")
    f.add_argument("reaction")
    f.add_argument("--label", help="the right answer, with override")
    f.set_defaults(run=_feedback)
    v = sub.add_parser("evolve", help="evolve the champion panel, or show its history")
    v.add_argument("--dry-run", action="store_true")
    v.add_argument(
        "--history", action="store_true", help="every change applied, newest first, with reasons"
    )
    v.add_argument("--panel", default="", help="with --history: the panel (default champion)")
    v.add_argument("--limit", type=int, default=0, help="with --history: at most this many")
    v.add_argument(
        "--from-profiles",
        action="store_true",
        help="choose the panel from the validation results (as suggest-panel does), not by ELO",
    )
    v.add_argument(
        "--models", nargs="+", help="aliases to choose from, space- or comma-separated (all)"
    )
    v.set_defaults(run=_evolve)
    co = sub.add_parser("correlation", help="how often profiled models err together, pair by pair")
    co.add_argument("--models", default="", help="aliases, comma-separated (default: all)")
    co.add_argument("--cluster-set", default="", help="centroid set (default: the newest)")
    co.set_defaults(run=_correlation)
    sub.add_parser("stats", help="totals and distributions over recorded calls").set_defaults(
        run=_stats
    )
    pr = sub.add_parser(
        "profile",
        help="profile models on a labelled validation set: the capability map",
        description="Every model answers every item --trials times (ProfileModels); learning "
        "stores each model's profile and the capability map, which this prints.",
    )
    pr.add_argument("--models", nargs="+", required=True, help="aliases, space- or comma-separated")
    pr.add_argument(
        "--data",
        help='JSON lines: {"question": ..., "label": ...} (optionally "answer_patterns", '
        '"item_id", "context"); default: the shipped validation set (218 items)',
    )
    pr.add_argument("--answers", default="YES,NO", help="answers of items that name none")
    pr.add_argument("--trials", type=int, default=1, help="times each model answers each item")
    pr.add_argument("--concurrency", type=int, default=0, help="items in flight per model")
    pr.add_argument("--replace", action="store_true", help="replace earlier profiles")
    pr.add_argument("--out", help="write the capability map to this JSON file")
    pr.set_defaults(run=_profile)
    ca = sub.add_parser("capabilities", help="the capability map of the profiled models")
    ca.add_argument("--cluster-set", default="", help="centroid set (default: the newest)")
    ca.add_argument("--out", help="write the capability map to this JSON file")
    ca.set_defaults(run=_capabilities)
    sp = sub.add_parser(
        "suggest-panel", help="a panel of accurate models that err apart, from the profiles"
    )
    sp.add_argument("--size", type=int, choices=[3, 5], default=3)
    sp.add_argument(
        "--models", nargs="+", help="candidates, space- or comma-separated (default: all)"
    )
    sp.add_argument("--cluster-set", default="", help="centroid set (default: the newest)")
    sp.set_defaults(run=_suggest_panel)
    return p


def _unreached(exc: FreeScalingError, target: str) -> str | None:
    """What to say when no gateway answered at `target` at all."""
    details = exc.message.lower()
    if not isinstance(exc, Unavailable) or exc.request_id or not details.startswith(_UNREACHED):
        return None
    why = (
        "connection refused"
        if "connection refused" in details
        else "the name does not resolve"
        if details.startswith("dns")
        else exc.message
    )
    return (
        f"no gateway answers at {target} ({why}): start it, or give its host:port with "
        "--target (or FREESCALING_TARGET)"
    )


def _run(args) -> int:
    try:
        with Client(
            args.target,
            api_key=args.api_key,
            tls=args.tls,
            timeout_s=args.timeout or CALL_TIMEOUT_S,
        ) as client:
            output = args.run(client, args)
    except FreeScalingError as exc:
        print(f"freescaling {args.command}: {_unreached(exc, args.target) or exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        raise  # a chat streamed into a reader that left: not an error of the call
    except (ValueError, OSError) as exc:
        print(f"freescaling {args.command}: {exc}", file=sys.stderr)
        return 2
    if output is None:
        return 0
    if args.json:
        print(json.dumps(_plain(output), ensure_ascii=False, indent=2))
    else:
        print(output)
    sys.stdout.flush()  # here, where a reader gone is caught, not at exit
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return _run(args)
    except BrokenPipeError:
        # The reader had what it wanted (`freescaling --json stats | head`): end quietly, with
        # stdout pointed at /dev/null so that the interpreter's final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
