"""Server interceptor applied to every RPC of every service: binds the request id, returns it
to the caller, logs one access line with the status code and duration, and turns an unexpected
exception into INTERNAL with the request id instead of leaking its text to the caller. A request
that does not parse (a string field that is not UTF-8, truncated bytes) is INVALID_ARGUMENT, the
caller's mistake, where grpc itself would answer UNKNOWN."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from services.common.metrics import RPC_IN_FLIGHT, observe_rpc
from services.common.request_context import (
    REQUEST_ID_HEADER,
    request_id_bound,
    request_id_from_metadata,
)

logger = logging.getLogger(__name__)

# Probes call these every few seconds; their access lines go to DEBUG to keep logs readable.
_QUIET_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


# cygrpc reports a code as its raw int; looked up once here, not by scanning the enum per RPC.
_CODES = {status.value[0]: status for status in grpc.StatusCode}


def _code_of(context: grpc.aio.ServicerContext) -> grpc.StatusCode:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    # Before the handler sets anything, code() is None (or a raw int from cygrpc).
    return _CODES.get(code, grpc.StatusCode.OK)


class _Undecodable:
    """What a request that does not parse becomes, so that the handler's wrapper can refuse it
    with INVALID_ARGUMENT (an exception in a deserializer is grpc's UNKNOWN, with its text)."""

    def __init__(self, error: DecodeError) -> None:
        self.error = error


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except DecodeError as exc:
            return _Undecodable(exc)

    return deserialize


async def _refuse_undecodable(request: Any, context: grpc.aio.ServicerContext) -> None:
    if isinstance(request, _Undecodable):
        await context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"the request could not be parsed: {request.error} (string fields must be UTF-8)",
        )


class RequestContextInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method
        request_id = request_id_from_metadata(details.invocation_metadata)
        quiet = method.startswith(_QUIET_PREFIXES)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(handler.unary_unary, method, request_id, quiet),
                request_deserializer=_tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(handler.unary_stream, method, request_id, quiet),
                request_deserializer=_tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                _wrap_unary(handler.stream_unary, method, request_id, quiet),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return grpc.stream_stream_rpc_method_handler(
            _wrap_stream(handler.stream_stream, method, request_id, quiet),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class _Call:
    """Book-keeping of one RPC: its request id, bound while the handler runs, and its outcome."""

    def __init__(self, method: str, request_id: str, quiet: bool, context: Any) -> None:
        self.method, self.request_id, self.quiet, self.context = method, request_id, quiet, context
        self.started = time.perf_counter()
        RPC_IN_FLIGHT.inc()
        context.set_trailing_metadata(((REQUEST_ID_HEADER, request_id),))

    def bound(self) -> contextlib.AbstractContextManager[None]:
        return request_id_bound(self.request_id)

    async def fail_internally(self, exc: BaseException) -> None:
        logger.error("unexpected error in %s", self.method, exc_info=exc)
        await self.context.abort(
            grpc.StatusCode.INTERNAL,
            f"internal error while serving {self.method}; the service's log has the details "
            f"under request id {self.request_id}",
        )

    def finish(self, cancelled: bool = False) -> None:
        code = grpc.StatusCode.CANCELLED if cancelled else _code_of(self.context)
        elapsed = time.perf_counter() - self.started
        RPC_IN_FLIGHT.dec()
        observe_rpc(self.method, code.name, elapsed)
        level = logging.DEBUG if self.quiet else logging.INFO
        if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
            level = logging.ERROR
        logger.log(
            level,
            "%s %s",
            self.method,
            code.name,
            extra={
                "rpc": self.method,
                "code": code.name,
                "duration_ms": round(elapsed * 1000, 3),
                # Named here: a stream may finish where its id is not bound (see _wrap_stream).
                "request_id": self.request_id,
            },
        )


def _wrap_unary(behavior: Callable, method: str, request_id: str, quiet: bool) -> Callable:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> Any:
        call = _Call(method, request_id, quiet, context)
        cancelled = False
        # A coroutine runs in one task from start to end: one binding covers it all.
        with call.bound():
            try:
                await _refuse_undecodable(request, context)
                return await behavior(request, context)
            except grpc.aio.AbortError:
                raise
            except asyncio.CancelledError:
                cancelled = True
                raise
            except Exception as exc:
                await call.fail_internally(exc)
            finally:
                call.finish(cancelled)

    return wrapper


def _wrap_stream(behavior: Callable, method: str, request_id: str, quiet: bool) -> Callable:
    if inspect.isasyncgenfunction(behavior):

        async def generator_wrapper(request: Any, context: grpc.aio.ServicerContext) -> Any:
            call = _Call(method, request_id, quiet, context)
            cancelled = False
            if isinstance(request, _Undecodable):
                with call.bound():
                    try:
                        await _refuse_undecodable(request, context)
                    finally:
                        call.finish()
            responses = behavior(request, context)
            # The id is bound around each step of the handler, not across a yield: grpc may
            # abandon the stream between two messages (the caller cancelled), and the event
            # loop then closes it from a task of its own, in another context, where a binding
            # made in the RPC's task cannot be reset (ValueError) and is not seen.
            try:
                while True:
                    with call.bound():
                        try:
                            item = await anext(responses)
                        except StopAsyncIteration:
                            break
                    yield item
            except grpc.aio.AbortError:
                raise
            except (asyncio.CancelledError, GeneratorExit):
                cancelled = True
                raise
            except Exception as exc:
                with call.bound():
                    await call.fail_internally(exc)
            finally:
                # The handler's own cleanup runs now, under its id, not whenever it is collected.
                with call.bound():
                    await responses.aclose()
                call.finish(cancelled)

        return generator_wrapper
    return _wrap_unary(behavior, method, request_id, quiet)
