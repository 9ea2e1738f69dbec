"""ASGI middleware applied to every HTTP request a service serves, the HTTP twin of the gRPC
request-context interceptor: binds the request id (the caller's `x-request-id`, sanitised, or a
new one) for the request's log lines, downstream calls and records, returns it in the
response's `x-request-id` header, counts the request by route and status in Prometheus and
logs one access line. Pure ASGI (no per-request task or Request object): it sits on every
call's latency path."""

from __future__ import annotations

import logging
import time

from services.common.metrics import HTTP_IN_FLIGHT, observe_http
from services.common.request_context import (
    REQUEST_ID_HEADER,
    bind_request_id,
    request_id_from_metadata,
    unbind_request_id,
)

logger = logging.getLogger(__name__)

_HEADER = REQUEST_ID_HEADER.encode()
# Requests that match no route share one label, so that scanners cannot grow the metrics.
UNMATCHED = "unmatched"


def route_of(scope) -> str:
    """The matched route's template, e.g. /v1/models/{model_id} (Starlette puts the route in
    the scope), else UNMATCHED."""
    route = scope.get("route")
    return getattr(route, "path_format", None) or getattr(route, "path", None) or UNMATCHED


class RequestContextMiddleware:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == _HEADER), None)
        request_id = request_id_from_metadata(
            ((REQUEST_ID_HEADER, given),) if given is not None else ()
        )
        token = bind_request_id(request_id)
        started = time.perf_counter()
        status = 500  # what the caller sees when the app fails before answering
        HTTP_IN_FLIGHT.inc()

        async def send_with_id(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (_HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            HTTP_IN_FLIGHT.dec()
            route = route_of(scope)
            observe_http(route, status, elapsed)
            logger.log(
                logging.ERROR if status >= 500 and status not in (503, 504) else logging.INFO,
                "%s %s %d",
                scope["method"],
                route,
                status,
                extra={
                    "http_method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                },
            )
            unbind_request_id(token)
