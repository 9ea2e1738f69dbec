"""Chat with routing (the LLM Compass path): no model named -> the router picks one (profiles,
else the classifier's tier, else the fallback when the classifier is down); the stream carries
the routing details first, then the tokens, then usage and cost; the outcome is recorded.

One composition for every front end: `Chat.chat` streams ChatChunks, `Chat.respond` gathers
them into one ChatResponse (the non-streamed mode), and `chat_problem` says what is wrong with
a request; the gRPC servicer uses these, and so can an HTTP layer."""

from __future__ import annotations

import time
import uuid

from freescaling.common.v1 import calls_pb2, routing_pb2, voting_pb2
from freescaling.ensemble.v1 import ensemble_pb2
from freescaling.gateway.v1 import gateway_pb2
from services.gateway.answer_cache import NO_CACHE, AnswerCache, Hit, Lookup, normalise
from services.gateway.deadline import Deadline
from services.gateway.downstream import DownstreamError, Downstreams
from services.gateway.outbox import Outbox
from services.gateway.records import chat_record
from services.gateway.routing import Router, requested_lambda


def last_user_text(messages) -> str:
    return next((m.content for m in reversed(messages) if m.role == "user"), "")


def chat_problem(request: gateway_pb2.ChatRequest) -> str | None:
    """What the caller must change in this request, or None when it can be answered."""
    if not request.messages:
        return "messages are required: at least one user message"
    if not last_user_text(request.messages).strip():
        return "the conversation has no user message to answer"
    try:
        requested_lambda(request)
    except ValueError as exc:
        return str(exc)
    return None


def _cache_settings(request: gateway_pb2.ChatRequest) -> list:
    """What shapes a chat's answer besides the last user message's wording."""
    messages = list(request.messages)
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=len(messages))
    return [
        [(m.role, normalise(m.content)) for m in messages[:last]],
        [(m.role, normalise(m.content)) for m in messages[last + 1 :]],
        request.model,
        sorted(request.candidates),
        getattr(request, "lambda") if request.HasField("lambda") else None,
    ]


class Chat:
    def __init__(self, downstreams: Downstreams, router: Router, outbox: Outbox) -> None:
        self.downstreams, self.router, self.outbox = downstreams, router, outbox
        self.cache: AnswerCache | None = None

    async def look_up(
        self, request: gateway_pb2.ChatRequest, deadline: Deadline, scope: str | None
    ) -> Lookup:
        """What the answer cache holds for this chat (before `chat`, so that a door can show
        the answering call's id first: the original call's on a hit)."""
        if self.cache is None:
            return NO_CACHE
        return await self.cache.find(
            "chat", last_user_text(request.messages), _cache_settings(request), request.options,
            scope, deadline,
        )  # fmt: skip

    @staticmethod
    def call_id_for(found: Lookup) -> str:
        """The id a chat's answer carries: the original call's for a cached answer, else new."""
        return found.hit.info.original_call_id if found.hit else uuid.uuid4().hex

    async def chat(
        self,
        request: gateway_pb2.ChatRequest,
        deadline: Deadline,
        call_id: str = "",
        found: Lookup = NO_CACHE,
    ):
        """The chunks of one chat; `call_id` (else a new one) is the id its record and its end
        carry, for callers that must show it before the end (the HTTP API's headers). `found`
        is `look_up`'s: a hit is replayed (no model called), after a miss the answer is kept."""
        started_wall, started = time.time(), time.perf_counter()
        if found.hit is not None:
            async for chunk in _replay(found.hit, time.perf_counter() - started):
                yield chunk
            return
        question = last_user_text(request.messages)
        if request.model:
            routing = routing_pb2.RoutingInfo(
                method=routing_pb2.ROUTING_METHOD_NAMED,
                model=request.model,
                reason="model named by the caller",
            )
        else:
            routing = await self.router.route(
                question, deadline, candidates=request.candidates, lam=requested_lambda(request)
            )
        yield gateway_pb2.ChatChunk(routing=routing)

        call_id = call_id or uuid.uuid4().hex
        answer: list[str] = []
        done = None
        error = ""
        complete = ensemble_pb2.CompleteRequest(
            model=routing.model,
            messages=[
                calls_pb2.ChatMessage(role=m.role, content=m.content) for m in request.messages
            ],
            options=request.options,
            call_id=call_id,
        )
        try:
            async for chunk in self.downstreams.stream("ensemble", "Complete", complete, deadline):
                kind = chunk.WhichOneof("chunk")
                if kind == "delta":
                    answer.append(chunk.delta)
                    yield gateway_pb2.ChatChunk(delta=chunk.delta)
                elif kind == "reasoning_delta":
                    yield gateway_pb2.ChatChunk(reasoning_delta=chunk.reasoning_delta)
                elif kind == "done":
                    done = chunk.done
        except DownstreamError as exc:
            error = exc.message
            raise
        finally:
            elapsed = time.perf_counter() - started
            self.outbox.put(
                chat_record(
                    call_id=call_id,
                    question=question,
                    answer="".join(answer),
                    model=done.model if done else routing.model,
                    message_id=request.message_id,
                    started_at=started_wall,
                    routing=routing,
                    usage=done.usage if done else voting_pb2.Usage(),
                    latency_s=elapsed,
                    error="" if done else (error or "the caller went away before the end"),
                )
            )
        if done is not None:
            end = gateway_pb2.ChatDone(
                call_id=call_id,
                model=done.model,
                finish_reason=done.finish_reason,
                usage=done.usage,
                elapsed_s=elapsed,
                first_token_s=done.first_token_s + routing.routing_latency_ms / 1000,
            )
            if self.cache is not None and done.finish_reason in ("stop", "length"):
                whole = gateway_pb2.ChatResponse(routing=routing, text="".join(answer), done=end)
                self.cache.keep(found, whole.SerializeToString(), call_id, done.usage.cost_usd)
            yield gateway_pb2.ChatChunk(done=end)

    async def respond(
        self, request: gateway_pb2.ChatRequest, deadline: Deadline, found: Lookup = NO_CACHE
    ) -> gateway_pb2.ChatResponse:
        """The same answer, whole: `chat`'s chunks gathered once the completion is done."""
        response = gateway_pb2.ChatResponse()
        text: list[str] = []
        reasoning: list[str] = []
        async for chunk in self.chat(request, deadline, self.call_id_for(found), found):
            kind = chunk.WhichOneof("chunk")
            if kind == "routing":
                response.routing.CopyFrom(chunk.routing)
            elif kind == "delta":
                text.append(chunk.delta)
            elif kind == "reasoning_delta":
                reasoning.append(chunk.reasoning_delta)
            elif kind == "done":
                response.done.CopyFrom(chunk.done)
        response.text, response.reasoning = "".join(text), "".join(reasoning)
        return response


async def _replay(hit: Hit, elapsed_s: float):
    """A cached chat answer as chunks: the original routing, the text in one piece, and an end
    that says where it came from (the original call's id, no usage)."""
    whole = gateway_pb2.ChatResponse.FromString(hit.answer)
    yield gateway_pb2.ChatChunk(routing=whole.routing)
    if whole.text:
        yield gateway_pb2.ChatChunk(delta=whole.text)
    end = whole.done
    end.ClearField("usage")
    end.elapsed_s = end.first_token_s = elapsed_s
    end.cache.CopyFrom(hit.info)
    yield gateway_pb2.ChatChunk(done=end)
