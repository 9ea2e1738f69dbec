"""Prometheus metrics every service exposes on its own HTTP port (`/metrics`): RPCs served by
method and status code, their latency, errors, and RPCs in flight; the same for HTTP requests
by route and status where a service serves HTTP (the gateway's OpenAI-compatible API).
Services add their own metrics (batch sizes, model calls, outbox depth...) to the same default
registry."""

from __future__ import annotations

import logging
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Gauge, Histogram, start_http_server

logger = logging.getLogger(__name__)

RPC_REQUESTS = Counter(
    "freescaling_rpc_requests",
    "RPCs served, by full method name and gRPC status code",
    ["method", "code"],
)
RPC_ERRORS = Counter(
    "freescaling_rpc_errors",
    "RPCs that ended with a status other than OK, by method and code",
    ["method", "code"],
)
# From a cached lookup (1 ms) to a thinking model's vote (tens of seconds).
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
)  # fmt: skip
RPC_LATENCY = Histogram(
    "freescaling_rpc_duration_seconds",
    "Time from an RPC's arrival to its status, by method",
    ["method"],
    buckets=LATENCY_BUCKETS,
)
RPC_IN_FLIGHT = Gauge("freescaling_rpcs_in_flight", "RPCs being served now")


def observe_rpc(method: str, code: str, seconds: float) -> None:
    RPC_REQUESTS.labels(method, code).inc()
    RPC_LATENCY.labels(method).observe(seconds)
    if code != "OK":
        RPC_ERRORS.labels(method, code).inc()


def start_metrics_server(host: str, port: int) -> WSGIServer:
    """Serve /metrics on a daemon thread; raises OSError when the port cannot be bound."""
    server, _thread = start_http_server(port, addr=host)
    return server


HTTP_REQUESTS = Counter(
    "freescaling_http_requests",
    "HTTP requests served, by route (its template, e.g. /v1/models/{model_id}) and status",
    ["route", "status"],
)
HTTP_LATENCY = Histogram(
    "freescaling_http_request_duration_seconds",
    "Time from an HTTP request's arrival to the end of its response (a stream's last byte), "
    "by route",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge("freescaling_http_requests_in_flight", "HTTP requests being served now")


def observe_http(route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(route, str(status)).inc()
    HTTP_LATENCY.labels(route).observe(seconds)
