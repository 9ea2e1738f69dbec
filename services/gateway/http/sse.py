"""Server-sent events as OpenAI streams them: `data: <json>` events, `data: [DONE]` last. The
response closes its event source whatever ends it (the end, an error, the client going away,
the drain's deadline): closing it closes the composition's stream, which cancels the
downstream call and with it the provider's request."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from starlette.responses import StreamingResponse

DONE = b"data: [DONE]\n\n"

HEADERS = {
    "cache-control": "no-cache",
    # Tell a buffering proxy in front (nginx) to pass every event on at once.
    "x-accel-buffering": "no",
}


def event(data: str) -> bytes:
    return f"data: {data}\n\n".encode()


class EventStream(StreamingResponse):
    media_type = "text/event-stream"

    def __init__(self, events: AsyncGenerator[bytes, None], headers: dict[str, str]) -> None:
        super().__init__(events, headers={**HEADERS, **headers})
        self._events = events

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Starlette stops iterating when the client disconnects but leaves the generator
            # suspended; closing it now runs its cleanup rather than whenever it is collected.
            await self._events.aclose()
