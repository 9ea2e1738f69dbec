"""The `freescaling` command: every public call of the gateway from a shell, as tables for
people or JSON (`--json`) for scripts. `freescaling --help` lists the commands."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from freescaling.client import Client, FreeScalingError


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
        ["alias", "tier", "cost", "thinking", "dead", "model"],
        [(m.alias, m.tier, m.routing_cost, m.thinking, m.dead, m.litellm_model) for m in models],
    )


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
            ["model", "status", "latency_ms", "error"],
            [(h.model, h.status, h.latency_ms, h.error) for h in report],
        )
    )


def _elo(client: Client, args) -> Any:
    ratings = client.elo_summary(args.sort, min_calls=args.min_calls)
    if args.json:
        return ratings
    return table(
        ["model", "rating", "calls", "wins", "losses", "agreement", "answered", "failed"],
        [
            (r.model, r.rating, r.calls, r.wins, r.losses, r.agreement_rate, r.answered,
             r.failed)
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


def _evolve(client: Client, args) -> Any:
    if args.history:
        return _history(client, args)
    result = client.evolve(dry_run=args.dry_run)
    if args.json:
        return result
    action = "would change" if args.dry_run else "changed"
    if not result.changed:
        return (
            f"champion panel unchanged: {', '.join(result.previous) or '(none)'} ({result.reason})"
        )
    before, after = ", ".join(result.previous) or "(none)", ", ".join(result.proposed)
    return f"{action} the champion panel: {before} -> {after} ({result.reason})"


def _profile(client: Client, args) -> Any:
    """Onboard each model from a JSON-lines validation set: {"question": ..., "label": ...}."""
    items = [json.loads(line) for line in Path(args.data).read_text().splitlines() if line.strip()]
    answers = [a.strip() for a in args.answers.split(",") if a.strip()]
    profiles = []
    for alias in args.models.split(","):
        final = None
        for step in client.onboard(alias.strip(), items, answers=answers, trials=args.trials):
            if not args.json:
                print(f"\r{alias}: {step.done}/{step.total} graded, {step.correct} right", end="",
                      file=sys.stderr, flush=True)  # fmt: skip
            final = step
        if not args.json:
            print(file=sys.stderr)
        if final is not None and final.profile is not None:
            profiles.append(final.profile)
    if args.json:
        return profiles
    rows = []
    for p in profiles:
        worst = max(p.clusters, key=lambda c: c.psi, default=None)
        rows.append((p.model, p.n, p.accuracy, len(p.clusters), worst.cluster_id if worst else "-"))
    return table(["model", "graded", "accuracy", "clusters", "weakest cluster"], rows)


def _correlation(client: Client, args) -> Any:
    pairs = client.error_correlations(
        [m.strip() for m in args.models.split(",") if m.strip()], args.cluster_set
    )
    if args.json:
        return pairs
    if not pairs:
        return "fewer than two models are profiled: nothing to compare (see `freescaling profile`)"
    return table(
        ["model_a", "model_b", "correlation", "shared_items", "both_wrong"],
        [(p.model_a, p.model_b, p.correlation, p.shared_items, p.both_wrong) for p in pairs],
    )


def _stats(client: Client, args) -> Any:
    stats = client.stats()
    if args.json:
        return stats
    lines = [
        f"calls: {stats.total_calls}  cost: ${stats.total_cost_usd:.4f}  "
        f"tokens: {stats.total_tokens}  "
        f"latency p50/p95: {stats.p50_latency_s:.2f}/{stats.p95_latency_s:.2f} s"
    ]
    for title, buckets in (
        ("model", stats.by_model),
        ("tier", stats.by_tier),
        ("task type", stats.by_task_type),
    ):
        if buckets:
            lines += [
                "",
                table(
                    [title, "calls", "share", "cost_usd", "mean_latency_s"],
                    [(b.key, b.calls, b.share, b.cost_usd, b.mean_latency_s) for b in buckets],
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
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per call")
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
    v.set_defaults(run=_evolve)
    co = sub.add_parser("correlation", help="how often profiled models err together, pair by pair")
    co.add_argument("--models", default="", help="aliases, comma-separated (default: all)")
    co.add_argument("--cluster-set", default="", help="centroid set (default: the newest)")
    co.set_defaults(run=_correlation)
    sub.add_parser("stats", help="totals and distributions over recorded calls").set_defaults(
        run=_stats
    )
    pr = sub.add_parser("profile", help="onboard models from a labelled JSON-lines validation set")
    pr.add_argument("--models", required=True, help="aliases to profile, comma-separated")
    pr.add_argument("--data", required=True, help='JSON lines: {"question": ..., "label": ...}')
    pr.add_argument("--answers", default="YES,NO", help="allowed answers, comma-separated")
    pr.add_argument("--trials", type=int, default=1)
    pr.set_defaults(run=_profile)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        with Client(
            args.target, api_key=args.api_key, tls=args.tls, timeout_s=args.timeout
        ) as client:
            output = args.run(client, args)
    except FreeScalingError as exc:
        print(f"freescaling {args.command}: {exc}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as exc:
        print(f"freescaling {args.command}: {exc}", file=sys.stderr)
        return 2
    if output is None:
        return 0
    if args.json:
        print(json.dumps(_plain(output), ensure_ascii=False, indent=2))
    else:
        print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
