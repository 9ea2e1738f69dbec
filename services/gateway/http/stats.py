"""`GET /stats`: LLM Compass's figures from learning's call records (calls, total cost, mean and
percentile latency, mean routing latency, distribution by model, tier, task type and kind), as
JSON. Query parameters `since` and `until` (RFC 3339 times) and `kind` (scale, generate, chat)
narrow the range."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from freescaling.common.v1 import records_pb2
from services.gateway.http.errors import invalid

KINDS = {"scale": records_pb2.CALL_KIND_SCALE, "generate": records_pb2.CALL_KIND_GENERATE,
         "chat": records_pb2.CALL_KIND_CHAT}  # fmt: skip
PARAMS = {"since", "until", "kind"}


def request(query) -> records_pb2.StatsRequest:
    unknown = [k for k in query if k not in PARAMS]
    if unknown:
        raise invalid(
            f"unknown query parameter {unknown[0]!r}: /stats takes since, until and kind",
            param=unknown[0],
        )
    out = records_pb2.StatsRequest()
    for name in ("since", "until"):
        if name in query:
            stamp = Timestamp()
            try:
                stamp.FromJsonString(query[name])
            except ValueError:
                raise invalid(
                    f"{name} must be an RFC 3339 time such as 2026-01-31T00:00:00Z; got "
                    f"{query[name]!r}",
                    param=name,
                ) from None
            getattr(out, name).CopyFrom(stamp)
    if "kind" in query:
        if query["kind"] not in KINDS:
            raise invalid(
                f"kind must be one of {', '.join(KINDS)}; got {query['kind']!r}", param="kind"
            )
        out.kind = KINDS[query["kind"]]
    return out


def _buckets(buckets) -> dict:
    return {
        b.key: {
            "calls": b.calls,
            "share": b.share,
            "cost_usd": b.cost_usd,
            "tokens": b.tokens,
            "mean_latency_ms": round(b.mean_latency_s * 1000, 3),
            "errors": b.errors,
        }
        for b in buckets
    }


def body(stats: records_pb2.Stats) -> dict:
    return {
        "object": "freescaling.stats",
        "total_calls": stats.total_calls,
        "total_cost_usd": stats.total_cost_usd,
        "total_tokens": stats.total_tokens,
        "mean_latency_ms": round(stats.mean_latency_s * 1000, 3),
        "p50_latency_ms": round(stats.p50_latency_s * 1000, 3),
        "p95_latency_ms": round(stats.p95_latency_s * 1000, 3),
        "mean_routing_latency_ms": round(stats.mean_routing_latency_ms, 3),
        "routed_calls": stats.routed_calls,
        "by_model": _buckets(stats.by_model),
        "by_tier": _buckets(stats.by_tier),
        "by_task_type": _buckets(stats.by_task_type),
        "by_kind": _buckets(stats.by_kind),
        "cache": {
            "hits": stats.cache.hits,
            "misses": stats.cache.misses,
            "semantic_hits": stats.cache.semantic_hits,
            "hit_rate": round(stats.cache.hit_rate, 4),
            "saved_cost_usd": stats.cache.saved_cost_usd,
        },
        # Accuracy (from feedback) of the votes answered at or above each confidence.
        "by_confidence": [
            {"min_confidence": c.min_confidence, "calls": c.calls, "accuracy": round(c.accuracy, 4)}
            for c in stats.by_confidence
        ],
    }
