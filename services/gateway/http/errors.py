"""Errors in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, so that OpenAI
SDKs raise their typed exceptions (BadRequestError, AuthenticationError, NotFoundError,
RateLimitError...) with the message; and downstream failures (gRPC status codes) mapped onto
HTTP statuses. Never a stack trace, never a key: messages are the gateway's own or the
downstream's, which carry neither."""

from __future__ import annotations

import json

import grpc
from starlette.responses import Response

from services.gateway.downstream import DownstreamError

# A downstream's status code -> the HTTP status and OpenAI error type the caller gets.
_HTTP_FOR: dict[grpc.StatusCode, tuple[int, str]] = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, "invalid_request_error"),
    grpc.StatusCode.FAILED_PRECONDITION: (400, "invalid_request_error"),
    grpc.StatusCode.OUT_OF_RANGE: (400, "invalid_request_error"),
    grpc.StatusCode.UNAUTHENTICATED: (401, "authentication_error"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "permission_error"),
    grpc.StatusCode.NOT_FOUND: (404, "invalid_request_error"),
    grpc.StatusCode.ALREADY_EXISTS: (409, "invalid_request_error"),
    grpc.StatusCode.ABORTED: (409, "conflict_error"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (429, "rate_limit_error"),
    grpc.StatusCode.CANCELLED: (503, "service_unavailable"),
    grpc.StatusCode.UNAVAILABLE: (503, "service_unavailable"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (504, "timeout"),
    grpc.StatusCode.UNIMPLEMENTED: (501, "not_implemented"),
}


class ApiError(Exception):
    """An answer other than success: status, message, and OpenAI's type, param and code."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.type, self.param, self.code = type, param, code
        self.headers = headers or {}

    def body(self) -> dict:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def encoded(self) -> bytes:
        return json.dumps(self.body(), ensure_ascii=False, separators=(",", ":")).encode()

    def response(self) -> Response:
        return Response(
            self.encoded(), self.status, headers=self.headers, media_type="application/json"
        )


def invalid(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    """400: the request is wrong; `param` names the field."""
    return ApiError(400, message, param=param, code=code)


def from_downstream(exc: DownstreamError, param: str | None = None) -> ApiError:
    status, kind = _HTTP_FOR.get(exc.code, (500, "server_error"))
    return ApiError(status, exc.message, type=kind, param=param, code=exc.code.name.lower())
