"""The dashboard (`/ui`): its page, served from files in the package (no CDN, no build step),
and the JSON its views fetch under `/ui/api/`. Each view composes calls the gateway already
makes: learning computes every figure in SQL (GetOverview, GetRatingHistory,
GetCalibration, GetRankings, ListCalls, GetCall, GetCapabilityMap, SuggestPanel), the
ensemble's registry gives prices and dead models; nothing is computed here beyond putting the
replies side by side. Feedback from the page goes to `POST /v1/feedback`, the same composition
as the gRPC Feedback.

    GET /ui, /ui/                 the page (no key needed: it holds no data)
    GET /ui/static/{name}         its script and style sheet
    GET /ui/api/overview          calls, tokens, cost, savings over time; accuracy; latency;
                                  failures by cause; cache
    GET /ui/api/models            ELO ranking with its history, counters, state, price
    GET /ui/api/capabilities      capability map, error correlations, the suggested panel
    GET /ui/api/calls             a page of recent calls (model, kind, page_token)
    GET /ui/api/calls/{call_id}   one call, whole
    GET /ui/api/calibration       confidence against accuracy over calls with feedback
"""

from __future__ import annotations

import asyncio
import time
from importlib import resources

import grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.timestamp_pb2 import Timestamp

from freescaling.common.v1 import ratings_pb2, records_pb2, routing_pb2
from freescaling.learning.v1 import learning_pb2
from services.gateway.deadline import Deadline
from services.gateway.downstream import DownstreamError, Downstreams
from services.gateway.http import stats
from services.gateway.http.errors import ApiError, invalid
from services.gateway.http.models import Catalog

# The page's files: name -> media type. Only these are served.
STATIC = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
# The page runs only its own script and style (nothing from elsewhere, no inline script).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Ranges the views offer, in hours; "all" is from the first call recorded.
RANGES = {"1h": 1, "24h": 24, "7d": 24 * 7, "30d": 24 * 30, "all": None}
# A model's recent failures (this many hours back) decide its state on the Models view.
STATE_WINDOW_H = 1
# Words in a failure's cause that say which state it puts its model in, checked in this order.
STATES = (
    ("missing credentials", ("credential", "api key", "api_key", "auth", "401", "403")),
    ("rate limited", ("ratelimit", "rate limit", "rate_limit", "429", "resource_exhausted")),
    ("slow", ("timeout", "timed out", "deadline")),
)
KINDS = {"scale", "generate", "chat"}


def asset(name: str) -> bytes:
    return resources.files("services.gateway.http").joinpath("ui", name).read_bytes()


def _since(query) -> Timestamp | None:
    name = query.get("range", "all")
    if name not in RANGES:
        raise invalid(f"range must be one of {', '.join(RANGES)}; got {name!r}", param="range")
    hours = RANGES[name]
    if hours is None:
        return None
    stamp = Timestamp()
    stamp.FromMicroseconds(time.time_ns() // 1000 - hours * 3_600_000_000)
    return stamp


def _dict(message) -> dict:
    return MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def _time(stamp: Timestamp) -> str:
    return stamp.ToJsonString() if stamp.seconds or stamp.nanos else ""


def state_of(dead: bool, causes: list[str]) -> str:
    """A model's state from the registry's dead flag and its recent failures' causes."""
    if dead:
        return "dead"
    text = " ".join(causes).lower()
    for state, words in STATES:
        if any(w in text for w in words):
            return state
    return "failing" if causes else "ok"


class Dashboard:
    """The views' JSON, each from the downstream calls it needs, made concurrently."""

    def __init__(self, downstreams: Downstreams, catalog: Catalog) -> None:
        self.downstreams, self.catalog = downstreams, catalog

    async def _learning(self, method: str, request):
        return await self.downstreams.call("learning", method, request, Deadline.none())

    async def _prices(self) -> dict[str, learning_pb2.ModelPrice]:
        return {
            m.alias: learning_pb2.ModelPrice(
                input_cost_per_mtok=m.input_cost_per_mtok,
                output_cost_per_mtok=m.output_cost_per_mtok,
            )
            for m in await self.catalog.current(Deadline.none())
        }

    async def overview(self, query) -> dict:
        since = _since(query)
        window = {"since": since} if since else {}
        prices = await self._prices()  # the registry, cached: no wait in the usual case
        over = await self._learning(
            "GetOverview", learning_pb2.GetOverviewRequest(buckets=24, prices=prices, **window)
        )
        return {
            "totals": {
                "calls": over.calls,
                "tokens": over.tokens,
                "cost_usd": over.cost_usd,
                "routed_calls": over.routed_calls,
                "p50_latency_ms": round(over.p50_latency_s * 1000, 3),
                "p95_latency_ms": round(over.p95_latency_s * 1000, 3),
                "cache": {
                    "hits": over.cache.hits,
                    "misses": over.cache.misses,
                    "semantic_hits": over.cache.semantic_hits,
                    "hit_rate": round(over.cache.hit_rate, 4),
                    "saved_cost_usd": over.cache.saved_cost_usd,
                },
                # Most calls first.
                "calls_by_model": dict(
                    sorted(over.calls_by_model.items(), key=lambda kv: (-kv[1], kv[0]))
                ),
            },
            "buckets": [
                {
                    "start": _time(b.start),
                    "calls": b.calls,
                    "tokens": b.tokens,
                    "cost_usd": b.cost_usd,
                    "baseline_cost_usd": b.baseline_cost_usd,
                    "errors": b.errors,
                }
                for b in over.buckets
            ],
            "bucket_s": over.bucket_s,
            "baseline": {
                "model": over.baseline_model,
                "accuracy": over.baseline_accuracy,
                "note": over.baseline_note,
                "cost_usd": over.baseline_cost_usd,
            },
            "cost_usd": over.cost_usd,
            "saved_usd": over.baseline_cost_usd - over.cost_usd if over.baseline_model else None,
            "feedback": {
                "calls": over.feedback_calls,
                "correct": over.correct_calls,
                "accuracy": over.correct_calls / over.feedback_calls
                if over.feedback_calls
                else None,
            },
            "errors": [
                {"model": e.model, "cause": e.cause, "count": e.count, "last_at": _time(e.last_at)}
                for e in over.errors
            ],
        }

    async def models(self, query) -> dict:
        recent = Timestamp()
        recent.FromMicroseconds(time.time_ns() // 1000 - STATE_WINDOW_H * 3_600_000_000)
        ranking, history, registry, failures = await asyncio.gather(
            self._learning("GetRankings", ratings_pb2.RankingsRequest()),
            self._learning("GetRatingHistory", learning_pb2.GetRatingHistoryRequest(points=30)),
            self.catalog.current(Deadline.none()),
            self._learning("GetOverview", learning_pb2.GetOverviewRequest(since=recent, buckets=1)),
        )
        entries = {m.alias: m for m in registry}
        causes: dict[str, list[str]] = {}
        for e in failures.errors:
            if e.model:
                causes.setdefault(e.model, []).append(e.cause)
        rows = []
        rated = {r.model for r in ranking.ratings}
        for rank, r in enumerate(ranking.ratings, 1):
            entry = entries.get(r.model)
            rows.append(
                {
                    "rank": rank,
                    "model": r.model,
                    "rating": r.rating,
                    "calls": r.calls,
                    "answered": r.answered,
                    "abstained": r.abstained,
                    "failed": r.failed,
                    "cancelled": r.cancelled,
                    "agreement_rate": r.agreement_rate,
                    "wins": r.wins,
                    "losses": r.losses,
                    "feedback_count": r.feedback_count,
                    "in_registry": entry is not None,
                    "tier": _tier(entry),
                    "input_cost_per_mtok": entry.input_cost_per_mtok if entry else None,
                    "output_cost_per_mtok": entry.output_cost_per_mtok if entry else None,
                    "state": state_of(bool(entry and entry.dead), causes.get(r.model, [])),
                    "recent_failures": causes.get(r.model, []),
                }
            )
        unrated = [
            {
                "model": m.alias,
                "tier": _tier(m),
                "state": state_of(m.dead, causes.get(m.alias, [])),
                "input_cost_per_mtok": m.input_cost_per_mtok,
                "output_cost_per_mtok": m.output_cost_per_mtok,
            }
            for m in registry
            if m.alias not in rated
        ]
        return {
            "ratings": rows,
            "unrated": unrated,
            "history": [
                {
                    "model": s.model,
                    "points": [[_time(p.at), p.rating] for p in s.points],
                }
                for s in history.series
            ],
        }

    async def capabilities(self, query) -> dict:
        try:
            found, panel = await asyncio.gather(
                self._learning("GetCapabilityMap", routing_pb2.GetCapabilityMapRequest()),
                self._suggested(),
            )
        except DownstreamError as exc:
            if exc.code != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            return {"available": False, "note": exc.message}
        return {"available": True, "map": _dict(found), "suggested": panel}

    async def _suggested(self) -> dict:
        try:
            panel = await self._learning("SuggestPanel", routing_pb2.SuggestPanelRequest(size=3))
        except DownstreamError as exc:
            if exc.code != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            return {"available": False, "note": exc.message}
        return {"available": True, **_dict(panel)}

    async def calls(self, query) -> dict:
        unknown = set(query) - {"model", "kind", "page_token", "page_size"}
        if unknown:
            name = sorted(unknown)[0]
            raise invalid(
                f"unknown query parameter {name!r}: calls take model, kind, page_token and "
                "page_size",
                param=name,
            )
        request = records_pb2.ListCallsRequest(
            model=query.get("model", ""), page_token=query.get("page_token", "")
        )
        if query.get("kind"):
            if query["kind"] not in KINDS:
                raise invalid(f"kind must be one of {', '.join(sorted(KINDS))}", param="kind")
            request.kind = stats.KINDS[query["kind"]]
        if query.get("page_size"):
            try:
                request.page_size = int(query["page_size"])
            except ValueError:
                raise invalid("page_size must be a number", param="page_size") from None
        page = await self._learning("ListCalls", request)
        return {
            "calls": [summary(c) for c in page.calls],
            "next_page_token": page.next_page_token,
        }

    async def call(self, call_id: str) -> dict:
        try:
            found = await self._learning("GetCall", learning_pb2.GetCallRequest(call_id=call_id))
        except DownstreamError as exc:
            if exc.code == grpc.StatusCode.NOT_FOUND:
                raise ApiError(404, exc.message, code="not_found") from None
            raise
        return {"summary": summary(found), "record": _dict(found)}

    async def calibration(self, query) -> dict:
        since = _since(query)
        reply = await self._learning(
            "GetCalibration",
            learning_pb2.GetCalibrationRequest(**({"since": since} if since else {})),
        )
        return _dict(reply)


def _tier(entry) -> str:
    if entry is None:
        return ""
    return {1: "fast", 2: "medium", 3: "thinking"}.get(entry.tier, "")


def summary(record: records_pb2.CallRecord) -> dict:
    """A call as one row of the list: what was asked, by whom, what it answered and cost."""
    kind = records_pb2.CallKind.Name(record.kind).removeprefix("CALL_KIND_").lower()
    models = [v.model for v in record.votes] or ([record.model] if record.model else [])
    return {
        "call_id": record.call_id,
        "created_at": _time(record.created_at),
        "kind": kind,
        "question": record.question[:300],
        "answer": record.answer[:300],
        "models": models,
        "confidence": record.confidence if record.kind == records_pb2.CALL_KIND_SCALE else None,
        "cost_usd": record.usage.cost_usd,
        "tokens": record.usage.total_tokens,
        "latency_ms": round(record.latency_s * 1000, 1),
        "error": record.error,
        "cascade_path": record.cascade_path,
        "routing_method": routing_pb2.RoutingMethod.Name(record.routing.method)
        .removeprefix("ROUTING_METHOD_")
        .lower(),
        "shadow": record.shadow.model or record.pending_shadow,
        "patterns": list(record.answer_patterns),
    }
