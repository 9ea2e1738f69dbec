"""An OpenAI chat-completions request read into what the compositions take: the conversation,
the CallOptions, how to answer (route, a named model, best-of-k, a vote) and how (streamed or
not). What the gateway cannot honour is refused with a 400 that names the field, never dropped
in silence; fields it does not know are refused as OpenAI refuses them."""

from __future__ import annotations

from dataclasses import dataclass, field

from freescaling.common.v1 import calls_pb2
from services.gateway.http import fields
from services.gateway.http.errors import invalid
from services.gateway.http.fields import json_type
from services.gateway.http.models import Virtual, virtual

INT32_MAX = 2**31 - 1
INT64 = 2**63

# OpenAI's "developer" role is its newer name for the system message.
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}

# Fields read below.
HONOURED = {
    "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
    "temperature", "top_p", "stop", "seed", "user",
    # Free Scaling's extensions (OpenAI SDKs send them with extra_body).
    "answer_patterns", "message_id", "candidates", "lambda", "cache", "cache_threshold",
    "min_confidence", "abstain_when_unsure", "vote_rule",
}  # fmt: skip

# The `vote_rule` extension's values (ScaleRequest.vote_rule).
VOTE_RULES = {"weighted": 1, "majority": 2}
# The extensions that apply to votes only.
VOTE_ONLY = ("answer_patterns", "min_confidence", "abstain_when_unsure", "vote_rule")

# The `cache` extension's values (CallOptions.cache).
CACHE_MODES = {
    "skip": calls_pb2.CACHE_MODE_SKIP,
    "fresh": calls_pb2.CACHE_MODE_FRESH,
    "exact": calls_pb2.CACHE_MODE_EXACT,
    "semantic": calls_pb2.CACHE_MODE_SEMANTIC,
}


def _same(value, expected) -> bool:
    """JSON equality: true and 1, false and 0 are different values (in Python they are equal)."""
    if isinstance(value, bool) != isinstance(expected, bool):
        return False
    return value == expected


# OpenAI fields the gateway cannot honour: accepted only at their no-op value, else a 400.
NO_OP = {
    "n": (lambda v: _same(v, 1), "n > 1 is not supported: one answer per request (for several "
          "candidates judged against each other, use model freescaling/best-of-3)"),
    "tools": (lambda v: v == [], "tools are not supported: models answer with text only"),
    "tool_choice": (lambda v: v == "none", "tool_choice is not supported: models answer with "
                    "text only"),
    "functions": (lambda v: v == [], "functions are not supported: models answer with text only"),
    "function_call": (lambda v: v == "none", "function_call is not supported"),
    "parallel_tool_calls": (lambda v: isinstance(v, bool), "parallel_tool_calls must be a boolean"),
    "logprobs": (lambda v: v is False, "logprobs are not supported: the ensemble does not return "
                 "token probabilities"),
    "top_logprobs": (lambda v: _same(v, 0), "top_logprobs is not supported (logprobs are not)"),
    "audio": (lambda v: False, "audio output is not supported: text only"),
    "modalities": (lambda v: v == ["text"], "only the text modality is supported"),
    "response_format": (lambda v: isinstance(v, dict) and v.get("type") == "text",
                        "response_format other than text (JSON mode, JSON schema) is not "
                        "supported"),
    "presence_penalty": (lambda v: _same(v, 0), "presence_penalty is not supported"),
    "frequency_penalty": (lambda v: _same(v, 0), "frequency_penalty is not supported"),
    "logit_bias": (lambda v: v == {}, "logit_bias is not supported"),
    "store": (lambda v: v is False, "store is not supported: the gateway keeps its own records "
              "(GET /stats)"),
    "metadata": (lambda v: v == {}, "metadata is not supported; message_id (an extension "
                 "field) identifies a call for feedback"),
    "service_tier": (lambda v: v in ("auto", "default"), "service_tier is not supported"),
    "prediction": (lambda v: False, "prediction is not supported"),
    "reasoning_effort": (lambda v: False, "reasoning_effort is not supported"),
    "web_search_options": (lambda v: False, "web_search_options is not supported"),
}  # fmt: skip

MESSAGE_FIELDS = {"role", "content"}


@dataclass
class ChatCall:
    """One request, read and checked."""

    model: str
    # The virtual model asked for, or None for a registry alias.
    virtual: Virtual | None
    messages: list[calls_pb2.ChatMessage]
    options: calls_pb2.CallOptions
    stream: bool = False
    include_usage: bool = False
    answer_patterns: list[str] = field(default_factory=list)
    # Votes: the confidence to reach (k=auto) or to be marked confident, abstention under it,
    # and the rule (0 unset, else VOTE_RULES' values).
    min_confidence: float = 0.0
    abstain_when_unsure: bool = False
    vote_rule: int = 0
    message_id: str = ""
    candidates: list[str] = field(default_factory=list)
    lam: float | None = None

    @property
    def kind(self) -> str:
        """ "route", "named", "best_of" or "vote"."""
        return self.virtual.kind if self.virtual else "named"

    def question_and_context(self) -> tuple[str, str]:
        """For best-of-k and votes, which take one question and a context: the last user
        message is the question; system messages, then the conversation before it, form the
        context."""
        last = max(i for i, m in enumerate(self.messages) if m.role == "user")
        system = [m.content for m in self.messages[:last] if m.role == "system"]
        turns = [f"{m.role}: {m.content}" for m in self.messages[:last] if m.role != "system"]
        context = "\n\n".join(system)
        if turns:
            context = (
                (context + "\n\n" if context else "") + "Conversation so far:\n" + "\n".join(turns)
            )
        return self.messages[last].content, context


def _content(value, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = []
        for i, part in enumerate(value):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind != "text" or not isinstance(part.get("text"), str):
                raise invalid(
                    f"{where}[{i}] is a {kind or json_type(part)} part: only text parts are "
                    "supported",
                    param=f"{where}[{i}]",
                )
            texts.append(part["text"])
        return "".join(texts)
    raise invalid(
        f"{where} must be a string or an array of text parts; got {json_type(value)}",
        param=where,
    )


def _messages(body: dict) -> list[calls_pb2.ChatMessage]:
    raw = body.get("messages")
    if raw is None:
        raise invalid("messages is required: at least one user message", param="messages")
    if not isinstance(raw, list) or not raw:
        raise invalid("messages must be a non-empty array of messages", param="messages")
    messages = []
    for i, message in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise invalid(f"{where} must be an object; got {json_type(message)}", param=where)
        role = message.get("role")
        # A role of another JSON type (an array, an object) is as wrong as an unknown name.
        if not isinstance(role, str) or role not in ROLES:
            raise invalid(
                f"{where}.role must be system, developer, user or assistant; got {role!r}"
                + (" (tools are not supported)" if role in ("tool", "function") else ""),
                param=f"{where}.role",
            )
        extra = [k for k, v in message.items() if k not in MESSAGE_FIELDS and v is not None]
        if extra:
            raise invalid(
                f"{where}.{extra[0]} is not supported (messages carry a role and text content)",
                param=f"{where}.{extra[0]}",
            )
        if message.get("content") is None:
            raise invalid(f"{where}.content is required", param=f"{where}.content")
        content = _content(message["content"], f"{where}.content")
        messages.append(calls_pb2.ChatMessage(role=ROLES[role], content=content))
    # What gets classified and answered is the last user message (as in gRPC Chat).
    last = next((m.content for m in reversed(messages) if m.role == "user"), "")
    if not last.strip():
        raise invalid(
            "the conversation has no user message to answer (the last user message is empty)"
            if any(m.role == "user" for m in messages)
            else "the conversation has no user message to answer",
            param="messages",
        )
    return messages


def _options(body: dict) -> calls_pb2.CallOptions:
    options = calls_pb2.CallOptions()
    limits = {
        name: fields.integer(body, name, 1, INT32_MAX)
        for name in ("max_tokens", "max_completion_tokens")
    }
    given = {v for v in limits.values() if v is not None}
    if len(given) > 1:
        raise invalid(
            "max_tokens and max_completion_tokens differ: send one of them",
            param="max_completion_tokens",
        )
    if given:
        options.max_tokens = given.pop()
    if (temperature := fields.number(body, "temperature", 0.0, 2.0)) is not None:
        options.temperature = temperature
    if (top_p := fields.number(body, "top_p", 0.0, 1.0)) is not None:
        options.top_p = top_p
    if (seed := fields.integer(body, "seed", -INT64, INT64 - 1)) is not None:
        options.seed = seed
    stop = body.get("stop")
    if isinstance(stop, str):
        options.stop.append(stop)
    else:
        options.stop.extend(fields.strings(body, "stop", most=4))
    options.user = fields.string(body, "user")
    cache = fields.string(body, "cache")
    if cache:
        if cache not in CACHE_MODES:
            raise invalid(
                f"cache must be one of {', '.join(CACHE_MODES)}; got {cache!r}", param="cache"
            )
        options.cache = CACHE_MODES[cache]
    if (threshold := fields.number(body, "cache_threshold", 0.0, 1.0)) is not None:
        if threshold <= 0:
            raise invalid("cache_threshold must be above 0 and at most 1", param="cache_threshold")
        options.cache_threshold = threshold
    return options


def parse(body: dict) -> ChatCall:
    for name, value in body.items():
        if name in HONOURED or value is None:
            continue
        if name in NO_OP:
            accepted, why = NO_OP[name]
            if not accepted(value):
                raise invalid(why, param=name, code="unsupported_parameter")
            continue
        raise invalid(
            f"unrecognized request argument supplied: {name}",
            param=name,
            code="unknown_parameter",
        )
    model = fields.string(body, "model", required=True)
    if not model.strip():
        raise invalid("model must name a model: GET /v1/models lists them", param="model")
    call = ChatCall(
        model=model,
        virtual=virtual(model),
        messages=_messages(body),
        options=_options(body),
        stream=fields.boolean(body, "stream"),
        answer_patterns=fields.strings(body, "answer_patterns"),
        min_confidence=fields.number(body, "min_confidence", 0.0, 1.0) or 0.0,
        abstain_when_unsure=fields.boolean(body, "abstain_when_unsure"),
        vote_rule=_vote_rule(body),
        message_id=fields.string(body, "message_id"),
        candidates=fields.strings(body, "candidates"),
        lam=fields.number(body, "lambda", 0.0),
    )
    stream_options = body.get("stream_options")
    if stream_options is not None:
        if not isinstance(stream_options, dict):
            raise invalid("stream_options must be an object", param="stream_options")
        if not call.stream:
            raise invalid("stream_options is only allowed when stream is true", "stream_options")
        unknown = [k for k in stream_options if k != "include_usage"]
        if unknown:
            raise invalid(
                f"stream_options.{unknown[0]} is not supported",
                param=f"stream_options.{unknown[0]}",
            )
        call.include_usage = fields.boolean(stream_options, "include_usage")
    _check_extensions(call)
    return call


def _vote_rule(body: dict) -> int:
    rule = fields.string(body, "vote_rule")
    if rule and rule not in VOTE_RULES:
        raise invalid(
            f"vote_rule must be one of {sorted(VOTE_RULES)} (or left out: weighted where the "
            f"models are profiled); got {rule!r}",
            param="vote_rule",
        )
    return VOTE_RULES.get(rule, 0)


def _check_extensions(call: ChatCall) -> None:
    """Extension fields apply to some models only; elsewhere they would be dropped."""
    if call.kind == "vote" and not call.answer_patterns:
        raise invalid(
            f"{call.model} votes among allowed answers: send them in answer_patterns, e.g. "
            '["YES", "NO"] (with an OpenAI SDK: extra_body={"answer_patterns": [...]})',
            param="answer_patterns",
        )
    if call.kind != "vote":
        for name, given in (
            ("answer_patterns", bool(call.answer_patterns)),
            ("min_confidence", bool(call.min_confidence)),
            ("abstain_when_unsure", call.abstain_when_unsure),
            ("vote_rule", bool(call.vote_rule)),
        ):
            if given:
                raise invalid(
                    f"{name} applies to freescaling/vote-3, vote-5 and vote-auto only",
                    param=name,
                )
    if call.kind != "route":
        for name, given in (
            ("candidates", bool(call.candidates)),
            ("lambda", call.lam is not None),
        ):
            if given:
                raise invalid(
                    f"{name} applies to routed models (auto) only, not {call.model}", param=name
                )
