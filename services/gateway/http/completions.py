"""`POST /v1/chat/completions`: a checked request (chat_request.py) answered by the composition
its model names, the same one gRPC uses: `auto` and registry aliases by Chat (routing, or the
named model), `freescaling/best-of-k` by Generation, `freescaling/vote-k` by Voting. Each
records its call through the outbox as its gRPC twin does. A stream starts once the first
token is there, so an error before it is a proper HTTP error, not a broken stream."""

from __future__ import annotations

import json
import time

from starlette.responses import Response

from freescaling.common.v1 import voting_pb2
from freescaling.gateway.v1 import gateway_pb2
from services.gateway.chat import Chat
from services.gateway.deadline import Deadline
from services.gateway.downstream import DownstreamError
from services.gateway.generation import Generation
from services.gateway.http import completion
from services.gateway.http.chat_request import ChatCall
from services.gateway.http.completion import Chunks
from services.gateway.http.errors import ApiError, from_downstream
from services.gateway.http.models import Catalog
from services.gateway.http.sse import DONE, EventStream
from services.gateway.voting import Voting

CALL_ID_HEADER = "x-freescaling-call-id"
MODEL_HEADER = "x-freescaling-model"
ROUTING_HEADER = "x-freescaling-routing-method"


def _json(body: dict, headers: dict[str, str]) -> Response:
    encoded = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(encoded, headers=headers, media_type="application/json")


class Completions:
    def __init__(self, chat: Chat, generation: Generation, voting: Voting, catalog: Catalog):
        self.chat, self.generation, self.voting, self.catalog = chat, generation, voting, catalog

    async def create(self, call: ChatCall, token: str | None = None) -> Response:
        """The answer to `call`; `token` (the caller's API key) scopes its answer cache."""
        scope = self.chat.cache.scope(token) if self.chat.cache is not None else None
        if call.kind == "named" and not await self.catalog.known(call.model, Deadline.none()):
            raise ApiError(
                404,
                f"the model {call.model!r} does not exist: GET /v1/models lists the models "
                "this gateway serves (registry aliases and the freescaling/* virtual models)",
                param="model",
                code="model_not_found",
            )
        if call.kind == "best_of":
            return await self._best_of(call, scope)
        if call.kind == "vote":
            return await self._vote(call, scope)
        return await self._chat(call, scope)

    # --- chat: routed or named ------------------------------------------------------------

    async def _chat(self, call: ChatCall, scope: str | None) -> Response:
        request = gateway_pb2.ChatRequest(
            messages=call.messages,
            model=call.model if call.kind == "named" else "",
            candidates=call.candidates,
            message_id=call.message_id,
            options=call.options,
        )
        if call.lam is not None:
            setattr(request, "lambda", call.lam)
        found = await self.chat.look_up(request, Deadline.none(), scope)
        call_id = self.chat.call_id_for(found)
        chunks = self.chat.chat(request, Deadline.none(), call_id, found)
        if call.stream:
            return await self._stream_chat(call, call_id, chunks)
        routing = None
        text: list[str] = []
        reasoning: list[str] = []
        done = None
        async for chunk in chunks:
            kind = chunk.WhichOneof("chunk")
            if kind == "delta":
                text.append(chunk.delta)
            elif kind == "reasoning_delta":
                reasoning.append(chunk.reasoning_delta)
            elif kind == "routing":
                routing = chunk.routing
            elif kind == "done":
                done = chunk.done
        assert routing is not None and done is not None  # Chat yields both or raises
        body = completion.completion(
            f"chatcmpl-{call_id}",
            int(time.time()),
            done.model,
            "".join(text),
            done.finish_reason or "stop",
            done.usage,
            _chat_extension(done, routing),
            "".join(reasoning),
        )
        return _json(body, _headers(call_id, done.model, routing.method))

    async def _stream_chat(self, call: ChatCall, call_id: str, chunks) -> Response:
        # Wait for the first piece of the answer before sending the status: until then an
        # error (no such model, provider down, timeout) is still an HTTP error.
        routing, first = None, None
        try:
            async for chunk in chunks:
                if chunk.WhichOneof("chunk") == "routing":
                    routing = chunk.routing
                else:
                    first = chunk
                    break
        except BaseException:
            await chunks.aclose()
            raise
        assert routing is not None and first is not None
        writer = Chunks(f"chatcmpl-{call_id}", int(time.time()), routing.model)
        return EventStream(
            self._chat_events(call, writer, routing, first, chunks),
            _headers(call_id, routing.model, routing.method),
        )

    async def _chat_events(self, call: ChatCall, writer: Chunks, routing, first, chunks):
        def encode(chunk) -> bytes:
            kind = chunk.WhichOneof("chunk")
            if kind == "delta":
                return writer.content(chunk.delta)
            if kind == "reasoning_delta":
                return writer.reasoning(chunk.reasoning_delta)
            done = chunk.done
            end = writer.finish(
                done.model, done.finish_reason or "stop", _chat_extension(done, routing)
            )
            if call.include_usage:
                end += writer.usage(done.model, done.usage)
            return end + DONE

        try:
            yield writer.role() + encode(first)
            async for chunk in chunks:
                yield encode(chunk)
        except DownstreamError as exc:
            yield Chunks.error(from_downstream(exc).body())
        finally:
            await chunks.aclose()

    # --- best-of-k and votes: answered whole ------------------------------------------------

    async def _best_of(self, call: ChatCall, scope: str | None) -> Response:
        question, context = call.question_and_context()
        response = await self.generation.generate(
            gateway_pb2.GenerateRequest(
                question=question,
                context=context,
                k=call.virtual.k,
                message_id=call.message_id,
                options=call.options,
            ),
            Deadline.none(),
            scope,
        )
        result = response.result
        extension = {
            "call_id": result.call_id,
            "cost_usd": result.usage.cost_usd,
            "elapsed_s": result.elapsed_s,
            **_cached(response.cache if response.HasField("cache") else None),
            "winner_model": result.winner_model,
            "total_calls": result.total_calls,
            "tie_broken": result.tie_broken,
            "outputs": [
                {"index": o.index, "model": o.model, "output": o.output, "error": o.error}
                for o in result.all_outputs
            ],
            "judge_votes": list(result.judge_votes),
            "judges": [
                {"judge": j.judge, "choice": j.choice, "error": j.error} for j in result.judges
            ],
        }
        return self._whole(
            call, result.call_id, result.winner_model, result.output, result.usage, extension
        )

    async def _vote(self, call: ChatCall, scope: str | None) -> Response:
        question, context = call.question_and_context()
        response = await self.voting.scale(
            gateway_pb2.ScaleRequest(
                question=question,
                context=context,
                k=call.virtual.k,
                answer_patterns=call.answer_patterns,
                message_id=call.message_id,
                options=call.options,
                min_confidence=call.min_confidence,
                abstain_when_unsure=call.abstain_when_unsure,
                vote_rule=call.vote_rule,
            ),
            Deadline.none(),
            scope,
        )
        result = response.result
        extension = {
            "call_id": result.call_id,
            "cost_usd": result.usage.cost_usd,
            "elapsed_s": result.elapsed_s,
            **_cached(response.cache if response.HasField("cache") else None),
            # A tie, all-abstain or no answer is an empty answer, never a made-up one.
            "answer": result.answer,
            "outcome": completion.outcome(result.outcome),
            "confidence": result.confidence,
            "confidence_source": completion.confidence_source(result.confidence_source),
            "confident": result.confident,
            "answer_probability": dict(result.answer_probability),
            "vote_rule": completion.vote_rule(result.vote_rule),
            "calls_made": result.calls_made,
            "short_circuited": result.short_circuited,
            "votes": [_vote(v) for v in result.votes],
            "shadow": _vote(result.shadow) if result.HasField("shadow") else None,
        }
        return self._whole(
            call, result.call_id, call.virtual.id, result.answer, result.usage, extension
        )

    def _whole(
        self,
        call: ChatCall,
        call_id: str,
        model: str,
        content: str,
        spent: voting_pb2.Usage,
        extension: dict,
    ) -> Response:
        headers = _headers(call_id, model, None)
        completion_id = f"chatcmpl-{call_id}"
        created = int(time.time())
        if not call.stream:
            body = completion.completion(
                completion_id, created, model, content, "stop", spent, extension
            )
            return _json(body, headers)

        async def events():
            writer = Chunks(completion_id, created, model)
            yield writer.role()
            if content:
                yield writer.content(content)
            end = writer.finish(model, "stop", extension)
            if call.include_usage:
                end += writer.usage(model, spent)
            yield end + DONE

        return EventStream(events(), headers)


def _vote(vote: voting_pb2.Vote) -> dict:
    return {
        "model": vote.model,
        "parsed_answer": vote.parsed_answer,
        "abstained": vote.abstained,
        "cancelled": vote.cancelled,
        "error": vote.error,
        "latency_s": vote.latency_s,
        "weight": vote.weight,
        "accuracy": vote.accuracy,
        "weight_reason": vote.weight_reason,
    }


def _chat_extension(done: gateway_pb2.ChatDone, routing) -> dict:
    return {
        "call_id": done.call_id,
        "cost_usd": done.usage.cost_usd,
        "elapsed_s": done.elapsed_s,
        "first_token_s": done.first_token_s,
        "routing": completion.routing(routing),
        **_cached(done.cache if done.HasField("cache") else None),
    }


def _cached(hit) -> dict:
    """The `cache` entry of a `freescaling` extension: present only on a cached answer."""
    if hit is None:
        return {}
    return {
        "cache": {
            "original_call_id": hit.original_call_id,
            "match": hit.match,
            "similarity": round(hit.similarity, 4),
            "saved_cost_usd": hit.saved_cost_usd,
        }
    }


def _headers(call_id: str, model: str, method: int | None) -> dict[str, str]:
    headers = {CALL_ID_HEADER: call_id, MODEL_HEADER: model}
    if method is not None:
        headers[ROUTING_HEADER] = completion.routing_method(method)
    return headers
