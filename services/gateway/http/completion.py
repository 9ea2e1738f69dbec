"""OpenAI's chat-completion objects built from what the compositions return: the whole
completion, and the chunks of a stream (role first, content deltas, the finish, a usage chunk
when asked). What OpenAI's shape has no field for (the call id, cost, routing details, votes,
judges) goes in a `freescaling` extension object, which OpenAI SDKs keep and expose."""

from __future__ import annotations

import json

from freescaling.common.v1 import classification_pb2, routing_pb2, voting_pb2
from services.gateway.http.sse import event


def _enum(enum, value: int, prefix: str) -> str:
    return enum.Name(value).removeprefix(prefix).lower()


def usage(u: voting_pb2.Usage) -> dict:
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
    }


def routing_method(method: int) -> str:
    return _enum(routing_pb2.RoutingMethod, method, "ROUTING_METHOD_")


def routing(info: routing_pb2.RoutingInfo) -> dict:
    """How the model was chosen: method, tier, task type, complexity, candidates and why."""
    classified = info.HasField("classification")
    c = info.classification
    return {
        "method": routing_method(info.method),
        "model": info.model,
        "reason": info.reason,
        "tier": _enum(classification_pb2.Tier, c.tier, "TIER_") if classified else None,
        "task_type": c.task_type_1 if classified else None,
        "complexity": c.prompt_complexity_score if classified else None,
        "cluster_id": c.cluster_id if classified and c.HasField("cluster_id") else None,
        "lambda": getattr(info, "lambda"),
        "candidates": [
            {"model": x.model, "psi": x.psi, "cost": x.cost, "score": x.score, "n": x.n}
            for x in info.candidates
        ],
        "routing_latency_ms": round(info.routing_latency_ms, 3),
    }


def outcome(value: int) -> str:
    return _enum(voting_pb2.ScaleOutcome, value, "SCALE_OUTCOME_")


def confidence_source(value: int) -> str:
    return _enum(voting_pb2.ConfidenceSource, value, "CONFIDENCE_SOURCE_")


def vote_rule(value: int) -> str:
    return _enum(voting_pb2.VoteRule, value, "VOTE_RULE_")


def completion(
    completion_id: str,
    created: int,
    model: str,
    content: str,
    finish_reason: str,
    spent: voting_pb2.Usage,
    extension: dict,
    reasoning: str = "",
) -> dict:
    message: dict = {"role": "assistant", "content": content}
    if reasoning:
        # DeepSeek's name for a separate reasoning field, which litellm and others read.
        message["reasoning_content"] = reasoning
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        ],
        "usage": usage(spent),
        "freescaling": extension,
    }


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Chunks:
    """The SSE events of one streamed completion. Content deltas are the hot path: the part
    every chunk shares is encoded once, only the text per delta."""

    def __init__(self, completion_id: str, created: int, model: str) -> None:
        self.completion_id, self.created = completion_id, created
        self._head = (
            f'{{"id":{_dumps(completion_id)},"object":"chat.completion.chunk",'
            f'"created":{created},"model":{_dumps(model)},"choices":[{{"index":0,"delta":'
        )

    def _delta(self, delta: dict) -> bytes:
        return event(f'{self._head}{_dumps(delta)},"finish_reason":null}}]}}')

    def role(self) -> bytes:
        return self._delta({"role": "assistant", "content": ""})

    def content(self, text: str) -> bytes:
        return event(f'{self._head}{{"content":{_dumps(text)}}},"finish_reason":null}}]}}')

    def reasoning(self, text: str) -> bytes:
        return self._delta({"reasoning_content": text})

    def _chunk(self, model: str, choices: list, **extra) -> bytes:
        body = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": model,
            "choices": choices,
            **extra,
        }
        return event(_dumps(body))

    def finish(self, model: str, finish_reason: str, extension: dict) -> bytes:
        """The last choice chunk; `model` is the one that answered (a stand-in's, when the
        routed model was dead), and the extension carries the call id, cost and routing."""
        choices = [{"index": 0, "delta": {}, "finish_reason": finish_reason}]
        return self._chunk(model, choices, freescaling=extension)

    def usage(self, model: str, spent: voting_pb2.Usage) -> bytes:
        """OpenAI's usage chunk (stream_options.include_usage): no choices, the usage."""
        return self._chunk(model, [], usage=usage(spent))

    @staticmethod
    def error(body: dict) -> bytes:
        """An error after the stream began (its status was already sent): OpenAI's SDKs raise
        it as an APIError."""
        return event(_dumps(body))
