"""Typed errors: one exception class per gRPC status a caller can act on, each carrying the
server's message and the request id to quote when asking for help."""

from __future__ import annotations

import re

import grpc

from freescaling.client.channel import DEFAULT_MAX_MESSAGE_MB


class FreeScalingError(Exception):
    """A call failed. `code` is the gRPC status name, `message` the server's explanation."""

    def __init__(self, code: str, message: str, request_id: str = "") -> None:
        super().__init__(
            f"{code}: {message}" + (f" (request id {request_id})" if request_id else "")
        )
        self.code, self.message, self.request_id = code, message, request_id


class InvalidArgument(FreeScalingError):
    """The request is wrong; the message says what to change."""


class NotFound(FreeScalingError):
    """An unknown model, call or panel."""


class Unauthenticated(FreeScalingError):
    """The gateway needs an API key, or the one given is not valid."""


class FailedPrecondition(FreeScalingError):
    """Something must happen first (e.g. a shadow's vote to arrive, a key to be set)."""


class ResourceExhausted(FreeScalingError):
    """Too large, or too many calls at once: retry later or send less."""


class Unavailable(FreeScalingError):
    """The gateway or one of its services is down; retrying later may succeed."""


class DeadlineExceeded(FreeScalingError):
    """The call's deadline ran out."""


class Unimplemented(FreeScalingError):
    """The capability is not built in this deployment."""


_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
}


# gRPC's own words for a message over a channel's or a server's limit ("Received message larger
# than max (N vs. M)", "Sent message larger than ..."): they name no setting, so the error adds
# the one that sets the limit, as the HTTP API's 413 does.
_TOO_LARGE = re.compile(r"(received|sent) message larger than max", re.IGNORECASE)


def from_rpc_error(error: grpc.RpcError) -> FreeScalingError:
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    trailing = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    request_id = dict(trailing or ()).get("x-request-id", "")
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and _TOO_LARGE.search(details or ""):
        details = (
            f"the message is larger than the limit ({details}; FREESCALING_MAX_MESSAGE_MB, "
            f"{DEFAULT_MAX_MESSAGE_MB:g} by default, sets it on the gateway for requests and "
            "in this client for answers): send less, or raise the limit"
        )
    cls = _BY_CODE.get(code, FreeScalingError)
    return cls(code.name, details or code.name, request_id)


def from_item_error(code: str, message: str) -> FreeScalingError:
    """The error of one batch item, typed like a call's."""
    cls = next((c for k, c in _BY_CODE.items() if k.name == code), FreeScalingError)
    return cls(code, message)
