"""The gateway's HTTP API where no model needs to answer, over raw HTTP: API keys (401), the
per-key limit shared with gRPC (429), the body limit (413), malformed JSON and fields (400 naming
the field), a downstream that is down (503), unknown routes, request ids, metrics by route and
status, the switch that turns HTTP off, a taken port, and the drain on SIGTERM. Every error is
in OpenAI's shape and carries no key."""

from __future__ import annotations

import signal
import socket
import threading

import grpc
import httpx
import openai
import pytest

from freescaling.common.v1 import info_pb2
from freescaling.gateway.v1 import gateway_pb2_grpc
from tests.support.held_learning import HeldLearning
from tests.support.metrics import scrape, total
from tests.support.processes import ServiceProcess, free_port

KEY = "fs-http-3141-secret"
OTHER_KEY = "fs-http-2718-secret"
USER = {"role": "user", "content": "Is 17 prime?"}
# FREESCALING_MAX_MESSAGE_MB for these gateways: 64 KiB.
LIMIT_MB = "0.0625"
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def held():
    learning = HeldLearning().start()
    yield learning
    learning.stop()


def _gateway(workdir, held: HeldLearning, **env: str) -> ServiceProcess:
    return ServiceProcess(
        "gateway",
        workdir,
        env={
            "FREESCALING_GATEWAY_API_KEYS": f"{KEY},{OTHER_KEY}",
            "FREESCALING_GATEWAY_KEY_CONCURRENCY": "1",
            "FREESCALING_LEARNING_ADDR": held.address,
            # Nothing listens there: the ensemble and the classifier are down.
            "FREESCALING_ENSEMBLE_ADDR": f"127.0.0.1:{free_port()}",
            "FREESCALING_CLASSIFIER_ADDR": f"127.0.0.1:{free_port()}",
            "FREESCALING_GATEWAY_REQUIRED": "",
            "FREESCALING_MAX_MESSAGE_MB": LIMIT_MB,
            **env,
        },
    )


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, held):
    service = _gateway(tmp_path_factory.mktemp("http"), held).start().wait_serving()
    yield service
    assert service.stop() == 0
    log = service.log_text()
    assert KEY not in log and OTHER_KEY not in log


@pytest.fixture(scope="module")
def http(gateway):
    with httpx.Client(base_url=gateway.http_url(), timeout=30) as client:
        yield client


def _auth(key: str = KEY) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def _error(reply: httpx.Response, status: int) -> dict:
    """The OpenAI-shaped error of a reply with this status, checked for leaks."""
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/json"
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "Traceback" not in error["message"]
    assert KEY not in reply.text and OTHER_KEY not in reply.text
    return error


# --- keys -------------------------------------------------------------------------------------


def test_without_a_key_the_answer_is_401_and_says_how(http):
    reply = http.post("/v1/chat/completions", json={"model": "auto", "messages": [USER]})
    error = _error(reply, 401)
    assert "authorization: Bearer <your key>" in error["message"]
    assert (error["type"], error["code"]) == ("authentication_error", "invalid_api_key")
    assert reply.headers["www-authenticate"] == "Bearer"
    assert _error(http.get("/v1/models"), 401)["code"] == "invalid_api_key"


def test_a_wrong_key_is_401_and_is_not_echoed(http):
    reply = http.get("/stats", headers=_auth("not-a-key-9999"))
    error = _error(reply, 401)
    assert "not valid" in error["message"]
    assert "not-a-key-9999" not in reply.text


def test_the_openai_sdk_raises_its_authentication_error(gateway):
    client = openai.OpenAI(base_url=f"{gateway.http_url()}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        client.models.list()
    assert err.value.status_code == 401
    assert "not valid" in err.value.message


def test_the_per_key_limit_counts_http_and_grpc_calls_together(gateway, http, held):
    held.release.clear()
    first: dict[str, httpx.Response] = {}

    def hold() -> None:
        first["reply"] = http.get("/stats", headers=_auth())

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait_arrivals(1)
    try:
        busy = _error(http.get("/stats", headers=_auth()), 429)
        assert "too many concurrent calls for this API key (1 at most" in busy["message"]
        assert (busy["type"], busy["code"]) == ("rate_limit_error", "rate_limit_exceeded")
        stub = gateway_pb2_grpc.GatewayStub(gateway.channel())
        with pytest.raises(grpc.RpcError) as err:
            stub.GetInfo(info_pb2.GetInfoRequest(), timeout=5, metadata=tuple(_auth().items()))
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        # Another key is not affected.
        assert http.get("/v1/models/auto", headers=_auth(OTHER_KEY)).status_code == 200
    finally:
        held.release.set()
        holder.join(10)
    assert first["reply"].status_code == 200
    assert first["reply"].json()["total_calls"] == 7
    assert http.get("/v1/models/auto", headers=_auth()).status_code == 200  # the slot came back


# --- bad requests -----------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413(http):
    big = {"model": "auto", "messages": [{"role": "user", "content": "x" * (LIMIT + 1)}]}
    error = _error(http.post("/v1/chat/completions", json=big, headers=_auth()), 413)
    assert f"larger than {LIMIT} bytes (FREESCALING_MAX_MESSAGE_MB)" in error["message"]
    assert error["code"] == "request_too_large"

    def chunks():  # no content-length: the limit holds as the body arrives
        yield b'{"model": "auto", "messages": [{"role": "user", "content": "'
        for _ in range(LIMIT // 1024 + 1):
            yield b"y" * 1024
        yield b'"}]}'

    reply = http.post("/v1/chat/completions", content=chunks(), headers=_auth())
    assert "content-length" not in reply.request.headers
    assert _error(reply, 413)["code"] == "request_too_large"


def test_malformed_json_is_400_saying_where(http):
    reply = http.post(
        "/v1/chat/completions",
        content=b'{"model": "auto", "messages": [',
        headers={**_auth(), "content-type": "application/json"},
    )
    error = _error(reply, 400)
    assert error["message"].startswith("the request body is not valid JSON: ")
    assert "line 1 column" in error["message"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_json")
    reply = http.post("/v1/chat/completions", json=[1, 2], headers=_auth())
    assert "must be a JSON object; got an array" in _error(reply, 400)["message"]


TEXT = [USER]
BAD_FIELDS = [
    ({"messages": TEXT}, "model", "model is required"),
    ({"model": 7, "messages": TEXT}, "model", "model must be a string; got a number"),
    ({"model": "auto"}, "messages", "messages is required"),
    ({"model": "auto", "messages": []}, "messages", "messages must be a non-empty array"),
    ({"model": "auto", "messages": "hi"}, "messages", "messages must be a non-empty array"),
    ({"model": "auto", "messages": [{"role": "tool", "content": "x"}]}, "messages[0].role",
     "tools are not supported"),
    ({"model": "auto", "messages": [{"role": "user"}]}, "messages[0].content",
     "messages[0].content is required"),
    ({"model": "auto", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
     "messages[0].content[0]", "only text parts are supported"),
    ({"model": "auto", "messages": [{"role": "user", "content": "x", "name": "bob"}]},
     "messages[0].name", "messages[0].name is not supported"),
    ({"model": "auto", "messages": [{"role": "system", "content": "Be brief."}]}, "messages",
     "the conversation has no user message to answer"),
    ({"model": "auto", "messages": TEXT, "temperature": 3}, "temperature",
     "temperature must be between 0 and 2; got 3"),
    ({"model": "auto", "messages": TEXT, "temperature": "hot"}, "temperature",
     "temperature must be a number; got a string"),
    ({"model": "auto", "messages": TEXT, "top_p": 1.5}, "top_p", "top_p must be between 0 and 1"),
    ({"model": "auto", "messages": TEXT, "max_tokens": 0}, "max_tokens",
     "max_tokens must be between 1 and"),
    ({"model": "auto", "messages": TEXT, "max_tokens": 10, "max_completion_tokens": 20},
     "max_completion_tokens", "max_tokens and max_completion_tokens differ"),
    ({"model": "auto", "messages": TEXT, "seed": 1.5}, "seed", "seed must be an integer"),
    ({"model": "auto", "messages": TEXT, "stop": ["a", "b", "c", "d", "e"]}, "stop",
     "stop takes at most 4 entries; got 5"),
    ({"model": "auto", "messages": TEXT, "stream": "yes"}, "stream", "stream must be a boolean"),
    ({"model": "auto", "messages": TEXT, "stream_options": {"include_usage": True}},
     "stream_options", "stream_options is only allowed when stream is true"),
    ({"model": "auto", "messages": TEXT, "n": 2}, "n", "n > 1 is not supported"),
    ({"model": "auto", "messages": TEXT, "tools": [{"type": "function"}]}, "tools",
     "tools are not supported"),
    ({"model": "auto", "messages": TEXT, "logprobs": True}, "logprobs",
     "logprobs are not supported"),
    ({"model": "auto", "messages": TEXT, "audio": {"voice": "alloy"}}, "audio",
     "audio output is not supported"),
    ({"model": "auto", "messages": TEXT, "response_format": {"type": "json_object"}},
     "response_format", "JSON mode, JSON schema) is not supported"),
    ({"model": "auto", "messages": TEXT, "frobnicate": 1}, "frobnicate",
     "unrecognized request argument supplied: frobnicate"),
    ({"model": "freescaling/vote-3", "messages": TEXT}, "answer_patterns",
     "freescaling/vote-3 votes among allowed answers: send them in answer_patterns"),
    ({"model": "auto", "messages": TEXT, "answer_patterns": ["YES", "NO"]}, "answer_patterns",
     "answer_patterns applies to freescaling/vote-3, vote-5 and vote-auto only"),
    ({"model": "auto", "messages": TEXT, "min_confidence": 0.9}, "min_confidence",
     "min_confidence applies to freescaling/vote-3, vote-5 and vote-auto only"),
    ({"model": "freescaling/vote-auto", "messages": TEXT, "answer_patterns": ["A", "B"],
      "min_confidence": 1.5}, "min_confidence", "min_confidence must be between 0 and 1"),
    ({"model": "freescaling/vote-3", "messages": TEXT, "answer_patterns": ["A", "B"],
      "vote_rule": "loudest"}, "vote_rule", "vote_rule must be one of ['majority', 'weighted']"),
    ({"model": "freescaling/best-of-3", "messages": TEXT, "lambda": 0.1}, "lambda",
     "lambda applies to routed models (auto) only"),
    ({"model": "auto", "messages": TEXT, "lambda": -1}, "lambda", "lambda must be at least 0"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "param", "message"), BAD_FIELDS)
def test_a_bad_field_is_400_naming_it(http, body, param, message):
    error = _error(http.post("/v1/chat/completions", json=body, headers=_auth()), 400)
    assert error["param"] == param
    assert message in error["message"]
    assert error["type"] == "invalid_request_error"


def test_what_cannot_be_honoured_is_accepted_at_its_no_op_value(http):
    # n=1, logprobs=false, tools=[]... change nothing: the request goes on (and finds the
    # ensemble down: 503, not 400).
    body = {"model": "auto", "messages": TEXT, "n": 1, "logprobs": False, "tools": [],
            "presence_penalty": 0, "response_format": {"type": "text"}, "user": "u1"}  # fmt: skip
    assert http.post("/v1/chat/completions", json=body, headers=_auth()).status_code == 503


def test_feedback_and_stats_refuse_bad_input(http):
    reply = http.post("/v1/feedback", json={"reaction": "👍"}, headers=_auth())
    assert "send exactly one of call_id" in _error(reply, 400)["message"]
    reply = http.post("/v1/feedback", json={"call_id": "c", "verdict": "maybe"}, headers=_auth())
    assert _error(reply, 400)["param"] == "verdict"
    reply = http.get("/stats", params={"since": "yesterday"}, headers=_auth())
    assert "since must be an RFC 3339 time" in _error(reply, 400)["message"]
    reply = http.get("/stats", params={"kind": "vote"}, headers=_auth())
    assert _error(reply, 400)["param"] == "kind"


# --- downstreams, routes, ids, metrics --------------------------------------------------------


def test_a_downstream_that_is_down_is_503_naming_it(http):
    named = {"model": "yes1", "messages": TEXT}
    error = _error(http.post("/v1/chat/completions", json=named, headers=_auth()), 503)
    assert "the ensemble service (127.0.0.1:" in error["message"]
    assert (error["type"], error["code"]) == ("service_unavailable", "unavailable")
    # Routed: the classifier is down too, so routing falls back, and the ensemble is still down.
    routed = {"model": "auto", "messages": TEXT, "stream": True}
    error = _error(http.post("/v1/chat/completions", json=routed, headers=_auth()), 503)
    assert "ensemble" in error["message"]
    assert _error(http.get("/v1/models", headers=_auth()), 503)["code"] == "unavailable"


def test_unknown_routes_and_methods_answer_in_openai_shape(http):
    assert "no route /v1/completions" in _error(http.get("/v1/completions"), 404)["message"]
    error = _error(http.get("/v1/chat/completions", headers=_auth()), 405)
    assert error["message"] == "GET is not allowed on /v1/chat/completions"


def test_virtual_models_are_listed_without_the_ensemble(http):
    for name in ("auto", "freescaling/auto", "freescaling/best-of-5", "freescaling/vote-3"):
        entry = http.get(f"/v1/models/{name}", headers=_auth()).json()
        assert (entry["id"], entry["object"], entry["owned_by"]) == (name, "model", "freescaling")
        assert entry["freescaling"]["virtual"] is True


def test_the_request_id_comes_back_and_goes_downstream(http, held):
    held.release.set()
    reply = http.get("/stats", headers={**_auth(), "x-request-id": "http-req-42"})
    assert reply.status_code == 200
    assert reply.headers["x-request-id"] == "http-req-42"
    assert held.seen[-1].metadata["x-request-id"] == "http-req-42"
    made = http.get("/stats", headers=_auth()).headers["x-request-id"]
    assert len(made) == 32 and made != "http-req-42"
    # An error carries it too.
    assert http.get("/stats", headers={"x-request-id": "no-key-1"}).headers["x-request-id"] == (
        "no-key-1"
    )


def test_requests_are_counted_by_route_and_status(gateway, http):
    http.get("/v1/models/auto", headers=_auth())
    http.get("/v1/models/auto")
    samples = scrape(gateway)
    route = 'route="/v1/models/{model_id}"'
    assert total(samples, "freescaling_http_requests_total", status="200") >= 1
    assert samples[f'freescaling_http_requests_total{{{route},status="200"}}'] >= 1
    assert samples[f'freescaling_http_requests_total{{{route},status="401"}}'] >= 1
    assert samples[f"freescaling_http_request_duration_seconds_count{{{route}}}"] >= 2
    assert samples["freescaling_http_requests_in_flight"] == 0


# --- the listener -----------------------------------------------------------------------------


def test_http_can_be_turned_off(tmp_path, held):
    service = _gateway(tmp_path, held, FREESCALING_GATEWAY_HTTP="false").start().wait_serving()
    try:
        served = next(r for r in service.log_records() if "serving on" in r.get("message", ""))
        assert served["http_port"] is None
        assert "HTTP API" not in served["message"]
    finally:
        assert service.stop() == 0


def test_a_taken_http_port_stops_the_gateway_with_a_clear_message(tmp_path, held):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        service = _gateway(tmp_path, held, FREESCALING_GATEWAY_HTTP_PORT=str(taken)).start()
        assert service.wait_exit(timeout=30) == 2
    log = service.log_text()
    assert f"gateway cannot serve HTTP on 127.0.0.1:{taken}" in log
    assert "FREESCALING_GATEWAY_HTTP_PORT" in log


def test_sigterm_finishes_requests_in_flight_and_refuses_new_ones(tmp_path):
    held = HeldLearning().start()
    service = _gateway(tmp_path, held, FREESCALING_GRACE_S="20").start().wait_serving()
    base = service.http_url()
    outcome: dict[str, httpx.Response] = {}

    def hold() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            outcome["reply"] = client.get("/stats", headers=_auth())

    holder = threading.Thread(target=hold)
    try:
        holder.start()
        held.wait_arrivals(1)
        service.send(signal.SIGTERM)
        # The listener stops accepting at once, while the held request is still in flight.
        refused = False
        for _ in range(100):
            try:
                httpx.get(f"{base}/v1/models/auto", headers=_auth(OTHER_KEY), timeout=2)
            except httpx.ConnectError:
                refused = True
                break
            threading.Event().wait(0.05)
        assert refused
        assert service.process.poll() is None  # still draining
        held.release.set()
        holder.join(20)
        assert outcome["reply"].status_code == 200
        assert outcome["reply"].json()["total_calls"] == 7
        assert service.wait_exit(timeout=20) == 0
    finally:
        held.stop()
        service.stop()
