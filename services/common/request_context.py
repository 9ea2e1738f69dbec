"""The request id: taken from the caller's `x-request-id` metadata or made anew, carried in a
context variable through one RPC's task, written on every log line and passed downstream."""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterable, Iterator

REQUEST_ID_HEADER = "x-request-id"
# Longer ids are cut: the id lands in every log line and must not become a way to flood them.
MAX_REQUEST_ID_LENGTH = 128

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def current_request_id() -> str:
    """The request id of the RPC being served, or "" outside one."""
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    """The caller's request id, sanitised, or a new one."""
    for key, value in metadata or ():
        if key == REQUEST_ID_HEADER:
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            text = "".join(ch for ch in text if ch.isprintable())[:MAX_REQUEST_ID_LENGTH]
            if text:
                return text
    return new_request_id()


def bind_request_id(request_id: str) -> contextvars.Token[str]:
    return _request_id.set(request_id)


def unbind_request_id(token: contextvars.Token[str]) -> None:
    """Undo `bind_request_id`; only in the context that bound it (ContextVar.reset raises
    ValueError anywhere else): a coroutine's own task, never a generator's later step."""
    _request_id.reset(token)


@contextlib.contextmanager
def request_id_bound(request_id: str) -> Iterator[None]:
    """The id bound for the block and unbound at its end, in the same context by construction.
    Around one step of an async generator: its steps may run in different tasks (the event
    loop closes an abandoned one from a task of its own)."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


def outgoing_metadata() -> tuple[tuple[str, str], ...]:
    """Metadata for a downstream call, carrying the current request id."""
    request_id = current_request_id()
    return ((REQUEST_ID_HEADER, request_id),) if request_id else ()
