"""The HTTP API's routes, as a Starlette app inside the request-context middleware (request ids,
metrics by route and status, access lines). Every route goes through `Endpoint`, which checks
the API key (`Authorization: Bearer`) and the key's concurrency with the same `Access` the gRPC
interceptor uses, and turns failures into OpenAI-shaped errors.

    POST /v1/chat/completions   completions.py
    GET  /v1/models             the registry's aliases and the freescaling/* virtual models
    GET  /v1/models/{id}
    GET  /stats                 stats.py
    POST /v1/feedback           feedback.py
    GET  /openapi.json          openapi.py: this list as an OpenAPI 3.1 document
    GET  /ui, /ui/api/...       dashboard.py (the page and its views' JSON)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from services.common.http_context import RequestContextMiddleware
from services.common.request_context import current_request_id
from services.gateway.access import Access
from services.gateway.deadline import Deadline
from services.gateway.downstream import DownstreamError, Downstreams
from services.gateway.feedback import Feedback
from services.gateway.http import chat_request, dashboard, feedback, openapi, stats
from services.gateway.http.body import read_object
from services.gateway.http.completions import Completions
from services.gateway.http.errors import ApiError, from_downstream
from services.gateway.http.models import VIRTUAL, Catalog, model_entry, virtual, virtual_entry

logger = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class HttpApi:
    """What the routes call: the gateway's own compositions and access, shared with gRPC."""

    completions: Completions
    catalog: Catalog
    feedback: Feedback
    downstreams: Downstreams
    access: Access
    # Largest request body in bytes (FREESCALING_MAX_MESSAGE_MB).
    max_body: int


def _json(body: dict, status: int = 200) -> Response:
    encoded = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(encoded, status, media_type="application/json")


def _bearer(request: Request) -> str | None:
    """The bearer token; "" for another scheme, None when there is no Authorization header."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class Endpoint:
    """One route as an ASGI app: admission (key, per-key concurrency), the handler, errors. The
    key's slot is held until the response is sent in full, a stream's last event included."""

    def __init__(self, api: HttpApi, handler: Handler) -> None:
        self.api, self.handler = api, handler

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        access = self.api.access
        caller, refusal = access.identify(_bearer(request), "header")
        if refusal:
            logger.warning("refused: %s", refusal, extra={"caller": caller})
            error = ApiError(
                401,
                refusal,
                type="authentication_error",
                code="invalid_api_key",
                headers={"www-authenticate": "Bearer"},
            )
            await error.response()(scope, receive, send)
            return
        if not access.acquire(caller):
            error = ApiError(
                429, access.too_many(), type="rate_limit_error", code="rate_limit_exceeded"
            )
            await error.response()(scope, receive, send)
            return
        try:
            try:
                response = await self.handler(request)
            except ApiError as exc:
                response = exc.response()
            except DownstreamError as exc:
                response = from_downstream(exc).response()
            except ClientDisconnect:
                return  # gone while sending its body: nobody to answer
            except Exception:
                logger.exception("unexpected error in %s %s", scope["method"], scope["path"])
                response = ApiError(
                    500,
                    "internal error; the gateway's log has the details under request id "
                    f"{current_request_id()}",
                    type="server_error",
                    code="internal",
                ).response()
            await response(scope, receive, send)
        finally:
            access.release(caller)


async def _not_routed(request: Request, exc: HTTPException) -> Response:
    """Starlette's 404 (no such path) and 405 (wrong method), in OpenAI's error shape."""
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = (
            f"no route {request.url.path}: this gateway serves /v1/chat/completions, "
            "/v1/models, /v1/feedback, /stats, /openapi.json and the dashboard at /ui"
        )
    return ApiError(exc.status_code, message, code="not_found").response()


def build_app(api: HttpApi):
    async def chat_completions(request: Request) -> Response:
        body = await read_object(request, api.max_body)
        return await api.completions.create(chat_request.parse(body), _bearer(request))

    async def list_models(request: Request) -> Response:
        registry = await api.catalog.refresh(Deadline.none())
        data = [virtual_entry(v) for v in VIRTUAL.values()] + [model_entry(m) for m in registry]
        return _json({"object": "list", "data": data})

    async def get_model(request: Request) -> Response:
        name = request.path_params["model_id"]
        if (found := virtual(name)) is not None:
            return _json(virtual_entry(found, name))
        info = await api.catalog.find(name, Deadline.none())
        if info is None:
            raise ApiError(
                404,
                f"the model {name!r} does not exist: GET /v1/models lists the models",
                param="model",
                code="model_not_found",
            )
        return _json(model_entry(info))

    async def get_stats(request: Request) -> Response:
        reply = await api.downstreams.call(
            "learning", "GetStats", stats.request(request.query_params), Deadline.none()
        )
        return _json(stats.body(reply))

    async def post_feedback(request: Request) -> Response:
        given = feedback.request(await read_object(request, api.max_body))
        return _json(feedback.body(await api.feedback.submit(given, Deadline.none())))

    async def get_openapi(request: Request) -> Response:
        return _json(openapi.document())

    def route(path: str, handler: Handler, method: str) -> Route:
        return Route(path, Endpoint(api, handler), methods=[method])

    # (api is None only where the routes are listed, not served: tests/gateway/test_openapi.py.)
    board = dashboard.Dashboard(api.downstreams, api.catalog) if api is not None else None

    async def ui_page(request: Request) -> Response:
        # The page holds no data (its views fetch it with the key typed into it), so it needs
        # no key itself.
        # Whether the gateway wants a key, so that the page asks for one before its first
        # fetch rather than after a refused one.
        required = "true" if api.access.keys else "false"
        return Response(
            dashboard.asset("index.html").replace(b"KEY_REQUIRED", required.encode()),
            media_type="text/html; charset=utf-8",
            headers={
                "content-security-policy": dashboard.CONTENT_SECURITY_POLICY,
                "cache-control": "no-cache",
                "referrer-policy": "no-referrer",
                "x-content-type-options": "nosniff",
            },
        )

    async def ui_static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in dashboard.STATIC:
            raise HTTPException(404)
        return Response(
            dashboard.asset(name),
            media_type=dashboard.STATIC[name],
            headers={"cache-control": "no-cache", "x-content-type-options": "nosniff"},
        )

    async def ui_redirect(request: Request) -> Response:
        return RedirectResponse("/ui/", status_code=308)

    def view(name: str) -> Handler:
        async def handler(request: Request) -> Response:
            return _json(await getattr(board, name)(request.query_params))

        return handler

    async def ui_call(request: Request) -> Response:
        return _json(await board.call(request.path_params["call_id"]))

    app = Starlette(
        routes=[
            route("/v1/chat/completions", chat_completions, "POST"),
            route("/v1/models", list_models, "GET"),
            route("/v1/models/{model_id:path}", get_model, "GET"),
            route("/stats", get_stats, "GET"),
            route("/v1/feedback", post_feedback, "POST"),
            route("/openapi.json", get_openapi, "GET"),
            Route("/ui", ui_redirect, methods=["GET"]),
            Route("/ui/", ui_page, methods=["GET"]),
            Route("/ui/static/{name}", ui_static, methods=["GET"]),
            route("/ui/api/overview", view("overview"), "GET"),
            route("/ui/api/models", view("models"), "GET"),
            route("/ui/api/capabilities", view("capabilities"), "GET"),
            route("/ui/api/calls", view("calls"), "GET"),
            route("/ui/api/calls/{call_id:path}", ui_call, "GET"),
            route("/ui/api/calibration", view("calibration"), "GET"),
        ],
        exception_handlers={HTTPException: _not_routed},
    )
    return RequestContextMiddleware(app)
