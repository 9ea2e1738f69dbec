"""`GET /openapi.json`: the HTTP API as an OpenAPI 3.1 document, built from the same tables the
routes read (the honoured and no-op fields, roles, cache modes, verdicts, /stats' parameters),
so that it cannot drift from what they accept; tests/gateway/test_openapi.py checks the two
against each other and schemathesis fuzzes the gateway from it (tests/e2e/test_fuzz.py,
bench/fuzz.py). It covers the OpenAI-compatible subset served plus the freescaling extensions;
503 and 504 are the only server errors it documents (a downstream down or late)."""

from __future__ import annotations

from services.gateway.http import chat_request, feedback, stats
from services.gateway.http.chat_request import INT32_MAX, INT64
from services.gateway.http.models import VIRTUAL

VERSION = "3.1.0"


def _nullable(schema: dict) -> dict:
    """`null` counts as absent, as in OpenAI's API: every optional field also takes null."""
    return schema if schema == {"type": "null"} else {"anyOf": [schema, {"type": "null"}]}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


STRING_LIST = {"type": "array", "items": {"type": "string"}}

# What each field of a chat completion request accepts (chat_request.py reads them).
_HONOURED: dict[str, dict] = {
    "model": {
        "type": "string",
        "pattern": r"\S",
        "description": "auto, a registry alias, or a freescaling/* virtual model "
        "(GET /v1/models lists them)",
        "examples": sorted(VIRTUAL),
    },
    "messages": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Message"}},
    "stream": {"type": "boolean"},
    "stream_options": {
        "type": "object",
        "properties": {"include_usage": _nullable({"type": "boolean"})},
        "additionalProperties": False,
        "description": "only with stream: true",
    },
    "max_tokens": {"type": "integer", "minimum": 1, "maximum": INT32_MAX},
    "max_completion_tokens": {"type": "integer", "minimum": 1, "maximum": INT32_MAX},
    "temperature": {"type": "number", "minimum": 0, "maximum": 2},
    "top_p": {"type": "number", "minimum": 0, "maximum": 1},
    "stop": {"anyOf": [{"type": "string"}, {**STRING_LIST, "maxItems": 4}]},
    "seed": {"type": "integer", "minimum": -INT64, "maximum": INT64 - 1},
    "user": {"type": "string"},
    # The freescaling extensions (OpenAI SDKs: extra_body).
    "answer_patterns": {**STRING_LIST, "description": "the allowed answers of a vote"},
    "message_id": {"type": "string", "description": "an id of yours that feedback may name"},
    "candidates": {**STRING_LIST, "description": "routing's candidate models (auto only)"},
    "lambda": {"type": "number", "minimum": 0, "description": "routing's cost weight"},
    "cache": {"type": "string", "enum": ["", *chat_request.CACHE_MODES]},
    "cache_threshold": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    "min_confidence": {
        "type": "number",
        "minimum": 0,
        "maximum": 1,
        "description": "votes: the calibrated confidence to reach (vote-auto) or be confident at",
    },
    "abstain_when_unsure": {
        "type": "boolean",
        "description": "votes: no answer (outcome unsure) when under min_confidence",
    },
    "vote_rule": {"type": "string", "enum": ["", *chat_request.VOTE_RULES]},
}

# OpenAI fields the gateway cannot honour: the one (no-op) value each accepts.
_NO_OP: dict[str, dict] = {
    "n": {"const": 1},
    "tools": {"type": "array", "maxItems": 0},
    "tool_choice": {"const": "none"},
    "functions": {"type": "array", "maxItems": 0},
    "function_call": {"const": "none"},
    "parallel_tool_calls": {"type": "boolean"},
    "logprobs": {"const": False},
    "top_logprobs": {"const": 0},
    "audio": {"type": "null"},
    "modalities": {"const": ["text"]},
    "response_format": {
        "type": "object",
        "properties": {"type": {"const": "text"}},
        "required": ["type"],
    },
    "presence_penalty": {"const": 0},
    "frequency_penalty": {"const": 0},
    "logit_bias": {"type": "object", "maxProperties": 0},
    "store": {"const": False},
    "metadata": {"type": "object", "maxProperties": 0},
    "service_tier": {"enum": ["auto", "default"]},
    "prediction": {"type": "null"},
    "reasoning_effort": {"type": "null"},
    "web_search_options": {"type": "null"},
}


def _chat_request() -> dict:
    # model and messages are required: null is not absent there but missing.
    properties = {
        name: schema if name in ("model", "messages") else _nullable(schema)
        for name, schema in {**_HONOURED, **_NO_OP}.items()
    }
    return {
        "type": "object",
        "required": ["model", "messages"],
        "properties": properties,
        # An unknown field is refused ("unrecognized request argument supplied") unless null.
        "additionalProperties": {"type": "null"},
    }


MESSAGE = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"enum": sorted(chat_request.ROLES)},
        "content": {
            "anyOf": [
                {"type": "string"},
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["type", "text"],
                        "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
                    },
                },
            ]
        },
    },
    # A message carries a role and text content; another field is refused unless null.
    "additionalProperties": {"type": "null"},
}

FEEDBACK = {
    "type": "object",
    "properties": {
        **{name: _nullable({"type": "string"}) for name in sorted(feedback.FIELDS)},
        "verdict": _nullable({"enum": ["", *feedback.VERDICTS]}),
    },
    "additionalProperties": False,
    "description": "exactly one of call_id and message_id, and of reaction and verdict",
}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}

OBJECT = {"type": "object"}

# Statuses every route may answer besides its own: no key or a wrong one, the key's concurrency,
# a downstream down or late. 503 and 504 are the only server errors documented.
_COMMON = {
    "401": _error("no API key, or a wrong one (with keys configured)"),
    "429": _error("the key's concurrency limit, or a downstream's RESOURCE_EXHAUSTED"),
    "503": _error("a downstream service is down (UNAVAILABLE, naming it)"),
    "504": _error("a downstream did not answer in time (DEADLINE_EXCEEDED)"),
}


def _operation(summary: str, responses: dict, **more) -> dict:
    return {"summary": summary, "responses": {**responses, **_COMMON}, **more}


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def document() -> dict:
    """The OpenAPI 3.1 document of the HTTP API."""
    body_errors = {
        "400": _error("malformed JSON, or a bad or unsupported field (param names it)"),
        "413": _error("a body over FREESCALING_MAX_MESSAGE_MB"),
    }
    return {
        "openapi": VERSION,
        "info": {
            "title": "Free Scaling gateway: OpenAI-compatible HTTP API",
            "version": "1",
            "description": "The OpenAI chat-completions subset the gateway serves, with the "
            "freescaling extensions (docs/http.md).",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "ChatCompletionRequest": _chat_request(),
                "Message": MESSAGE,
                "FeedbackRequest": FEEDBACK,
                "Error": ERROR,
            },
        },
        # Only where API keys are configured (FREESCALING_GATEWAY_API_KEYS).
        "security": [{"bearer": []}, {}],
        "paths": {
            "/v1/chat/completions": {
                "post": _operation(
                    "A chat completion, streamed (SSE) or not",
                    {
                        "200": {
                            "description": "chat.completion, or chat.completion.chunk events",
                            "content": {
                                "application/json": {"schema": OBJECT},
                                "text/event-stream": {"schema": {"type": "string"}},
                            },
                        },
                        **body_errors,
                        "404": _error("an unknown model"),
                        "501": _error("a capability a downstream does not have"),
                    },
                    requestBody=_body({"$ref": "#/components/schemas/ChatCompletionRequest"}),
                )
            },
            "/v1/models": {
                "get": _operation(
                    "The registry's aliases and the freescaling/* virtual models",
                    {"200": _json("a list of models", OBJECT)},
                )
            },
            "/v1/models/{model_id}": {
                "get": _operation(
                    "One model (ids may contain /)",
                    {"200": _json("the model", OBJECT), "404": _error("an unknown model")},
                    parameters=[
                        {
                            "name": "model_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1},
                        }
                    ],
                )
            },
            "/stats": {
                "get": _operation(
                    "The figures of learning's call records",
                    {
                        "200": _json("freescaling.stats", OBJECT),
                        "400": _error("a bad or unknown query parameter"),
                    },
                    parameters=[
                        *(
                            {
                                "name": name,
                                "in": "query",
                                "required": False,
                                "schema": {"type": "string", "format": "date-time"},
                            }
                            for name in ("since", "until")
                        ),
                        {
                            "name": "kind",
                            "in": "query",
                            "required": False,
                            "schema": {"enum": sorted(stats.KINDS)},
                        },
                    ],
                )
            },
            "/v1/feedback": {
                "post": _operation(
                    "A reaction or verdict on a call",
                    {
                        "200": _json("freescaling.feedback", OBJECT),
                        **body_errors,
                        "404": _error("an unknown call or message id"),
                    },
                    requestBody=_body({"$ref": "#/components/schemas/FeedbackRequest"}),
                )
            },
            "/openapi.json": {
                "get": _operation("This document", {"200": _json("OpenAPI 3.1", OBJECT)})
            },
        },
    }
