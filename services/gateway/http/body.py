"""Reading a request's JSON body within the size limit: 413 beyond it (from the declared length
before anything is read, else as the body arrives), 400 for a body that is not JSON, saying
where it broke."""

from __future__ import annotations

import json

from starlette.requests import Request

from services.gateway.http.errors import ApiError, invalid
from services.gateway.http.fields import json_type


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"the request body is larger than {limit} bytes (FREESCALING_MAX_MESSAGE_MB): send "
        "less, or raise the limit",
        code="request_too_large",
    )


def _not_json(name: str):
    """Python's json module reads NaN and Infinity, which JSON does not have (a NaN temperature
    or an infinite lambda would pass every range check): refused as malformed JSON."""
    raise invalid(
        f"the request body is not valid JSON: {name} is not a JSON number", code="invalid_json"
    )


async def read_json(request: Request, limit: int):
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    parts: list[bytes] = []
    size = 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise too_large(limit)
        parts.append(part)
    raw = b"".join(parts)
    if not raw.strip():
        raise invalid("the request has no body: send a JSON object", code="invalid_json")
    try:
        return json.loads(raw, parse_constant=_not_json)
    except UnicodeDecodeError:
        raise invalid("the request body is not UTF-8 text", code="invalid_json") from None
    except json.JSONDecodeError as exc:
        raise invalid(
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} column "
            f"{exc.colno}",
            code="invalid_json",
        ) from None


async def read_object(request: Request, limit: int) -> dict:
    body = await read_json(request, limit)
    if not isinstance(body, dict):
        raise invalid(
            f"the request body must be a JSON object; got {json_type(body)}",
            code="invalid_json",
        )
    return body
