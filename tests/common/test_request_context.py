"""The request-context interceptor with a streaming RPC that grpc abandons between two messages
(a ScaleStream cancelled after its short-circuited result went out): the event loop then closes
the response generator from a task of its own, in another context than the one that bound the
request id. The id must neither fail to unbind there (ValueError from ContextVar.reset) nor be
missing from what the handler's cleanup and the access line log."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import grpc

from services.common.interceptor import RequestContextInterceptor
from services.common.request_context import REQUEST_ID_HEADER, current_request_id


class FakeContext:
    def set_trailing_metadata(self, metadata) -> None:
        self.trailing = metadata

    def code(self):
        return None


def test_a_stream_closed_from_another_task_unbinds_and_keeps_its_request_id(caplog):
    seen: list[str] = []

    async def scale_stream(request, context):
        seen.append(current_request_id())
        try:
            yield "result"
            await asyncio.sleep(3600)  # the late shadow, which nobody waits for any more
            yield "shadow"
        finally:
            seen.append(current_request_id())

    async def continuation(details):
        return grpc.unary_stream_rpc_method_handler(scale_stream)

    async def scenario() -> None:
        details = SimpleNamespace(
            method="/test.v1.Test/ScaleStream",
            invocation_metadata=((REQUEST_ID_HEADER, "req-1"),),
        )
        handler = await RequestContextInterceptor().intercept_service(continuation, details)
        responses = handler.unary_stream(None, FakeContext())
        # The RPC's task reads the first message, then is cancelled outside the generator.
        assert await asyncio.create_task(anext(responses)) == "result"
        # What the loop's async-generator finaliser does with the abandoned stream.
        await asyncio.create_task(responses.aclose())
        assert current_request_id() == ""

    with caplog.at_level(logging.INFO, logger="services.common.interceptor"):
        asyncio.run(scenario())
    assert seen == ["req-1", "req-1"]
    (line,) = [r for r in caplog.records if r.name == "services.common.interceptor"]
    assert (line.getMessage(), line.request_id) == ("/test.v1.Test/ScaleStream CANCELLED", "req-1")


def test_a_stream_read_to_its_end_binds_the_id_for_each_step_only():
    seen: list[str] = []

    async def numbers(request, context):
        for i in range(3):
            seen.append(current_request_id())
            yield i

    async def continuation(details):
        return grpc.unary_stream_rpc_method_handler(numbers)

    async def scenario() -> list:
        details = SimpleNamespace(method="/test.v1.Test/Numbers", invocation_metadata=())
        handler = await RequestContextInterceptor().intercept_service(continuation, details)
        out = []
        async for item in handler.unary_stream(None, FakeContext()):
            # Between messages the caller's code runs without the RPC's id.
            assert current_request_id() == ""
            out.append(item)
        return out

    assert asyncio.run(scenario()) == [0, 1, 2]
    assert len(set(seen)) == 1 and len(seen[0]) == 32  # one new id, the same for every step
