"""`GET /openapi.json` against what the routes accept: the same paths and methods as the app,
the same fields, enums and parameters as the parsers, and for every request field, generated
values (hypothesis) that the document and the parser judge alike: the parser accepts a value
exactly when the document's schema does. (tests/e2e/test_fuzz.py fuzzes the running gateway
from the document.)"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.routing import Route

from services.gateway.http import chat_request, feedback, openapi, stats
from services.gateway.http.app import build_app
from services.gateway.http.errors import ApiError

DOC = openapi.document()
SCHEMAS = DOC["components"]["schemas"]
REGISTRY = Registry().with_resource(
    "urn:doc", Resource.from_contents(DOC, default_specification=DRAFT202012)
)


def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"urn:doc#/components/schemas/{name}"}, registry=REGISTRY)


CHAT, FEEDBACK = _validator("ChatCompletionRequest"), _validator("FeedbackRequest")
BASE = {"model": "auto", "messages": [{"role": "user", "content": "Is 2 even?"}]}

# Any JSON value, nested a little (finite numbers: JSON has no NaN; see test_http's NaN test).
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0, 1, 0.0, 1.0, 2, 4, -1, 2**31, 2**63, ""])
    | st.text(max_size=8)
    | st.sampled_from(["text", "none", "auto", "default", "skip", "semantic", "confirm"]),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(
            st.sampled_from(["type", "text", "include_usage", "x"]), inner, max_size=3
        )
    ),
    max_leaves=8,
)
FAST = settings(
    max_examples=60, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_the_document_is_openapi_3_1_with_every_route_and_method():
    assert DOC["openapi"] == "3.1.0"
    app = build_app(api=None).app  # inside the request-context middleware
    # The dashboard (/ui) is a page and its views' JSON, not part of the API.
    served = {
        (route.path.replace(":path}", "}"), method.lower())
        for route in app.routes
        if isinstance(route, Route) and not route.path.startswith("/ui")
        for method in route.methods - {"HEAD"}
    }
    documented = {(path, method) for path, item in DOC["paths"].items() for method in item}
    assert documented == served
    # The only server errors documented: a downstream down or late.
    for item in DOC["paths"].values():
        for operation in item.values():
            assert {s for s in operation["responses"] if s.startswith("5")} <= {"501", "503", "504"}


def test_the_documented_fields_are_the_parsers_fields():
    chat = set(SCHEMAS["ChatCompletionRequest"]["properties"])
    assert chat == chat_request.HONOURED | set(chat_request.NO_OP)
    assert set(SCHEMAS["FeedbackRequest"]["properties"]) == feedback.FIELDS
    assert set(SCHEMAS["Message"]["properties"]) == chat_request.MESSAGE_FIELDS
    assert set(SCHEMAS["Message"]["properties"]["role"]["enum"]) == set(chat_request.ROLES)
    parameters = DOC["paths"]["/stats"]["get"]["parameters"]
    assert {p["name"] for p in parameters} == stats.PARAMS
    kind = next(p for p in parameters if p["name"] == "kind")
    assert set(kind["schema"]["enum"]) == set(stats.KINDS)


def _parser_accepts(parse, body: dict) -> bool:
    try:
        parse(body)
    except ApiError as exc:
        assert exc.status == 400, exc.message
        return False
    return True


# Fields whose acceptance depends on other fields (stream_options needs stream; the extensions
# apply to some models; max_tokens and max_completion_tokens must agree) are judged with them.
CONTEXT = {
    "stream_options": {"stream": True},
    "answer_patterns": {"model": "freescaling/vote-3"},
}


@pytest.mark.parametrize("name", sorted(chat_request.HONOURED - {"model", "messages"}))
@FAST
@given(value=JSON)
def test_each_chat_field_is_accepted_exactly_when_the_document_says(name, value):
    body = {**BASE, **CONTEXT.get(name, {}), name: value}
    if name == "answer_patterns" and not value:
        return  # a vote needs its answers: a rule across fields, not of one field's values
    assert _parser_accepts(chat_request.parse, body) == CHAT.is_valid(body), body


@pytest.mark.parametrize("name", sorted(chat_request.NO_OP))
@FAST
@given(value=JSON)
def test_each_unsupported_field_is_accepted_only_at_its_no_op_value(name, value):
    body = {**BASE, name: value}
    assert _parser_accepts(chat_request.parse, body) == CHAT.is_valid(body), body


@FAST
@given(role=JSON, content=JSON, extra=JSON)
def test_a_message_is_accepted_exactly_when_the_document_says(role, content, extra):
    message = {"role": role, "content": content, "name": extra}
    body = {**BASE, "messages": [message, {"role": "user", "content": "Is 3 odd?"}]}
    assert _parser_accepts(chat_request.parse, body) == CHAT.is_valid(body), body


@FAST
@given(value=JSON, name=st.sampled_from(sorted(feedback.FIELDS)))
def test_each_feedback_field_is_accepted_exactly_when_the_document_says(value, name):
    body = {"call_id": "c-1", "reaction": "👍", name: value}
    if name in ("call_id", "message_id", "reaction", "verdict"):
        return  # exactly one of two: a rule across fields (the e2e fuzz run covers them)
    assert _parser_accepts(feedback.request, body) == FEEDBACK.is_valid(body), body


def test_the_temperature_bounds_are_the_parsers():
    for value, ok in ((0, True), (2, True), (2.0001, False), (-0.0001, False), (True, False)):
        body = {**BASE, "temperature": value}
        assert _parser_accepts(chat_request.parse, body) is ok is CHAT.is_valid(body), value
