"""The OpenAI-compatible HTTP API end to end, with the clients people point at it: the official
OpenAI SDK (sync, async, streamed), LiteLLM as a client, curl and raw HTTP, against the gateway
and the four services (scripted models behind the fake provider). Every call is recorded in
learning as its gRPC twin is, and feeds stats, feedback and ELO."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading

import grpc
import httpx
import openai
import pytest

from freescaling.common.v1 import calls_pb2, ratings_pb2, records_pb2
from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc
from tests.support.processes import ROOT, free_port, wait_for

QUESTION = "Is 17 a prime number?"


@pytest.fixture(scope="module")
def base(system) -> str:
    return system.gateway.http_url()


@pytest.fixture(scope="module")
def client(base):
    # No keys on this gateway: any key is accepted. No retries: a failure must show.
    with openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def learning(system):
    return learning_pb2_grpc.LearningStub(system.learning.channel())


def _record(learning, call_id: str) -> records_pb2.CallRecord:
    def found():
        try:
            return learning.GetCall(learning_pb2.GetCallRequest(call_id=call_id), timeout=5)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return None

    return wait_for(found, timeout=20, what=f"the record of {call_id}")


def _user(text: str = QUESTION) -> list[dict]:
    return [{"role": "user", "content": text}]


# --- the OpenAI SDK ---------------------------------------------------------------------------


def test_sdk_auto_is_routed_with_the_details_in_the_extension_and_headers(client, learning):
    raw = client.chat.completions.with_raw_response.create(
        model="auto",
        messages=[{"role": "system", "content": "Answer briefly."}, *_user()],
    )
    reply = raw.parse()
    assert "Answer: YES" in reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"
    routing = reply.freescaling["routing"]
    assert routing["method"] in ("tier", "profile")
    assert routing["tier"] in ("simple", "medium", "complex") and routing["task_type"]
    assert isinstance(routing["complexity"], float) and routing["reason"]
    assert reply.model == routing["model"] in ("yes1", "yes4", "deep1")
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens > 0
    call_id = reply.freescaling["call_id"]
    assert reply.id == f"chatcmpl-{call_id}"
    assert reply.freescaling["cost_usd"] > 0
    assert raw.headers["x-freescaling-call-id"] == call_id
    assert raw.headers["x-freescaling-model"] == reply.model
    assert raw.headers["x-freescaling-routing-method"] == routing["method"]
    record = _record(learning, call_id)
    assert (record.kind, record.model) == (records_pb2.CALL_KIND_CHAT, reply.model)
    assert record.request_id == raw.headers["x-request-id"]


def test_an_http_chat_is_recorded_exactly_like_its_grpc_twin(system, client, learning):
    question = "Name a prime between 10 and 20."
    options = {"max_tokens": 50, "temperature": 0.0}
    # Both run (temperature 0 would let the second be answered from the first's cached answer).
    reply = client.chat.completions.create(
        model="yes3",
        messages=_user(question),
        extra_body={"message_id": "http-twin-1", "cache": "skip"},
        **options,
    )
    stub = gateway_pb2_grpc.GatewayStub(system.gateway.channel())
    chunks = list(
        stub.Chat(
            gateway_pb2.ChatRequest(
                model="yes3",
                messages=[calls_pb2.ChatMessage(role="user", content=question)],
                message_id="grpc-twin-1",
                options=calls_pb2.CallOptions(
                    max_tokens=50, temperature=0.0, cache=calls_pb2.CACHE_MODE_SKIP
                ),
            ),
            timeout=30,
        )
    )
    via_http = _record(learning, reply.freescaling["call_id"])
    via_grpc = _record(learning, chunks[-1].done.call_id)
    differ = {"call_id", "request_id", "created_at", "latency_s", "message_id"}
    for name in records_pb2.CallRecord.DESCRIPTOR.fields_by_name:
        if name in differ:
            continue
        if name == "routing":
            assert via_http.routing.method == via_grpc.routing.method == 1  # named
            assert via_http.routing.model == via_grpc.routing.model == "yes3"
            continue
        assert getattr(via_http, name) == getattr(via_grpc, name), name
    assert (via_http.message_id, via_grpc.message_id) == ("http-twin-1", "grpc-twin-1")


def test_sdk_passes_the_sampling_options_to_the_provider(client, fake):
    fake.reset()
    client.chat.completions.create(
        model="yes2",
        messages=_user("Pass the options on."),
        max_completion_tokens=33,
        temperature=0.3,
        top_p=0.9,
        stop=["END"],
        seed=7,
        user="team-a",
    )
    (request,) = fake.requests_for("e2e/yes2")
    sent = {k: request.body.get(k) for k in ("max_tokens", "temperature", "top_p", "stop", "seed")}
    assert sent == {"max_tokens": 33, "temperature": 0.3, "top_p": 0.9, "stop": ["END"], "seed": 7}
    # `user` reaches providers that take it (tests/ensemble: an OpenAI model); litellm leaves
    # it out for NIM, whose API has none.


def test_sdk_streams_role_then_deltas_then_the_finish_and_usage(client, learning):
    stream = client.chat.completions.create(
        model="auto", messages=_user(), stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Thinking it over.\nAnswer: YES"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finish] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    assert len({c.id for c in chunks}) == 1
    call_id = finish[0].freescaling["call_id"]
    assert chunks[0].id == f"chatcmpl-{call_id}"
    assert finish[0].freescaling["routing"]["method"] in ("tier", "profile")
    assert _record(learning, call_id).answer == text


def test_async_sdk_answers_concurrent_calls(base):
    async def main():
        async with openai.AsyncOpenAI(base_url=f"{base}/v1", api_key="x", max_retries=0) as sdk:
            replies = await asyncio.gather(
                *(
                    sdk.chat.completions.create(model="yes1", messages=_user(f"{i}?"))
                    for i in range(4)
                )
            )
            stream = await sdk.chat.completions.create(model="yes1", messages=_user(), stream=True)
            pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
            return replies, "".join(pieces)

    replies, streamed = asyncio.run(main())
    assert len({r.freescaling["call_id"] for r in replies}) == 4
    assert all(r.model == "yes1" and "YES" in r.choices[0].message.content for r in replies)
    assert streamed == "Thinking it over.\nAnswer: YES"


def test_best_of_3_answers_with_the_judged_winner(client, learning):
    reply = client.chat.completions.create(
        model="freescaling/best-of-3", messages=_user("Write a haiku about queues")
    )
    extension = reply.freescaling
    assert reply.model == extension["winner_model"]
    assert reply.choices[0].message.content == next(
        o["output"] for o in extension["outputs"] if o["model"] == reply.model
    )
    generators = {o["model"] for o in extension["outputs"]}
    assert len(generators) == 3 and {j["judge"] for j in extension["judges"]}.isdisjoint(generators)
    assert extension["total_calls"] == 6
    record = _record(learning, extension["call_id"])
    assert (record.kind, record.model) == (records_pb2.CALL_KIND_GENERATE, reply.model)


def test_vote_3_answers_the_majority_and_feedback_moves_elo(system, base, client, learning):
    reply = client.chat.completions.create(
        model="freescaling/vote-3",
        messages=[{"role": "system", "content": "Arithmetic."}, *_user("Is 23 prime?")],
        extra_body={"answer_patterns": ["YES", "NO"], "message_id": "vote-msg-1"},
    )
    extension = reply.freescaling
    assert reply.model == "freescaling/vote-3"
    assert reply.choices[0].message.content == extension["answer"] == "YES"
    assert extension["outcome"] == "majority"
    assert sorted(v["model"] for v in extension["votes"]) == ["no1", "yes1", "yes2"]
    record = _record(learning, extension["call_id"])
    assert record.kind == records_pb2.CALL_KIND_SCALE and record.question == "Is 23 prime?"
    stub = gateway_pb2_grpc.GatewayStub(system.gateway.channel())
    before = {r.model: r.rating for r in stub.Rankings(ratings_pb2.RankingsRequest()).ratings}
    with httpx.Client(base_url=base, timeout=30) as http:
        # Override with NO: the models that said YES lose, no1 wins.
        given = {"message_id": "vote-msg-1", "verdict": "override", "label": "NO"}
        applied = http.post("/v1/feedback", json=given)
        assert applied.status_code == 200, applied.text
        body = applied.json()
        assert (body["call_id"], body["verdict"], body["label"]) == (
            extension["call_id"],
            "override",
            "NO",
        )
        assert not body["duplicate"] and body["changes"]
        assert http.post("/v1/feedback", json=given).json()["duplicate"] is True
    after = {r.model: r.rating for r in stub.Rankings(ratings_pb2.RankingsRequest()).ratings}
    assert after["no1"] > before["no1"] and after["yes1"] < before["yes1"]


def test_a_vote_streams_its_answer_whole(client):
    stream = client.chat.completions.create(
        model="freescaling/vote-3",
        messages=_user(),
        stream=True,
        extra_body={"answer_patterns": ["YES", "NO"]},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "YES"
    assert chunks[-1].freescaling["outcome"] == "majority"


def test_an_unknown_model_is_404_naming_the_model_list(client):
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="gpt-4o", messages=_user())
    assert "GET /v1/models" in err.value.message
    assert err.value.body["param"] == "model" and err.value.code == "model_not_found"


def test_a_bad_request_is_the_sdks_bad_request_error(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="auto", messages=_user(), n=3)
    assert err.value.body["param"] == "n"
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="freescaling/vote-5", messages=_user())
    assert "answer_patterns" in err.value.message


def test_sdk_lists_and_retrieves_models_with_tier_and_costs(client):
    listed = {m.id: m for m in client.models.list()}
    assert {"freescaling/auto", "freescaling/best-of-3", "freescaling/best-of-5",
            "freescaling/vote-3", "freescaling/vote-5"} <= set(listed)  # fmt: skip
    assert {"yes1", "no1", "deep1", "slowyes"} <= set(listed)
    yes1 = client.models.retrieve("yes1")
    assert (yes1.id, yes1.owned_by) == ("yes1", "nvidia_nim")
    extension = yes1.freescaling
    assert (extension["tier"], extension["virtual"], extension["routing_cost"]) == (
        "fast",
        False,
        1.0,
    )
    assert (extension["input_cost_per_mtok"], extension["output_cost_per_mtok"]) == (1.0, 2.0)
    assert client.models.retrieve("deep1").freescaling["tier"] == "thinking"
    assert client.models.retrieve("freescaling/vote-3").freescaling["k"] == 3
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_stats_count_http_calls_with_routing_latency(base, client):
    client.chat.completions.create(model="auto", messages=_user("Count me."))
    with httpx.Client(base_url=base, timeout=30) as http:

        def counted():
            stats = http.get("/stats").json()
            return stats if stats["by_kind"].get("chat", {}).get("calls", 0) >= 2 else None

        stats = wait_for(counted, timeout=20, what="chat calls in /stats")
        assert stats["object"] == "freescaling.stats"
        assert stats["total_calls"] >= 2 and stats["total_cost_usd"] > 0
        assert stats["routed_calls"] >= 1 and stats["mean_routing_latency_ms"] > 0
        assert stats["mean_latency_ms"] > 0 and stats["p95_latency_ms"] >= stats["p50_latency_ms"]
        assert set(stats["by_tier"]) <= {"simple", "medium", "complex"} and stats["by_tier"]
        assert stats["by_task_type"] and stats["by_model"]
        only_scale = http.get("/stats", params={"kind": "scale"}).json()
        assert set(only_scale["by_kind"]) <= {"scale"}


# --- LiteLLM as a client ----------------------------------------------------------------------


def test_litellm_as_a_client(base, monkeypatch):
    # Its bundled price map: nothing here may reach the internet (as the ensemble does).
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    reply = litellm.completion(
        model="openai/auto", api_base=f"{base}/v1", api_key="unused", messages=_user()
    )
    assert "Answer: YES" in reply.choices[0].message.content
    assert reply.model.endswith(("yes1", "yes4", "deep1"))
    pieces = [
        c.choices[0].delta.content or ""
        for c in litellm.completion(
            model="openai/freescaling/vote-3",
            api_base=f"{base}/v1",
            api_key="unused",
            messages=_user(),
            stream=True,
            answer_patterns=["YES", "NO"],
        )
    ]
    assert "".join(pieces) == "YES"


# --- raw HTTP: a client that goes away, a slow provider, the drain ------------------------------


def test_a_client_that_disconnects_mid_stream_cancels_the_provider_request(base, fake, learning):
    fake.reset()
    words = " ".join(f"w{i}" for i in range(30))
    prompt = f"Stream slowly [[chunk_delay=0.3]] [[answer={words}]]"
    body = {"model": "yes5", "stream": True, "messages": _user(prompt)}
    with (
        httpx.Client(base_url=base, timeout=30) as http,
        http.stream("POST", "/v1/chat/completions", json=body) as reply,
    ):
        assert reply.status_code == 200
        call_id = reply.headers["x-freescaling-call-id"]
        lines = reply.iter_lines()
        first = next(line for line in lines if line.startswith("data: "))
        assert json.loads(first[6:])["choices"][0]["delta"]["role"] == "assistant"
        # Gone after the first piece, with the rest of the answer still coming.
    (request,) = wait_for(lambda: fake.requests_for("e2e/yes5") or None, what="the request")
    wait_for(lambda: request.closed_early, timeout=10, what="the provider request to be closed")
    assert request.finished - request.started < 5  # long before its 30 pieces were all sent
    record = _record(learning, call_id)
    assert record.error == "the caller went away before the end"


def test_a_slow_provider_is_504(system, fake):
    gateway = (
        system.gateway_for(system.classifier.address, FREESCALING_GATEWAY_STREAM_TIMEOUT_S="1")
        .start()
        .wait_serving()
        .wait_ready()
    )
    try:
        with httpx.Client(base_url=gateway.http_url(), timeout=30) as http:
            for stream in (False, True):
                body = {"model": "yes1", "stream": stream, "messages": _user("Slow [[delay=3]]")}
                reply = http.post("/v1/chat/completions", json=body)
                assert reply.status_code == 504, reply.text
                error = reply.json()["error"]
                assert (error["type"], error["code"]) == ("timeout", "deadline_exceeded")
                assert (
                    "did not answer within 1.00 s (the gateway's downstream timeout)"
                    in error["message"]
                )
    finally:
        assert gateway.stop() == 0


def test_sigterm_lets_a_stream_finish_and_refuses_new_connections(system):
    gateway = system.gateway_for(system.classifier.address, FREESCALING_GRACE_S="20")
    gateway.start().wait_serving().wait_ready()
    url = gateway.http_url()
    words = " ".join(f"w{i}" for i in range(20))
    prompt = f"Take your time [[chunk_delay=0.1]] [[answer={words}]]"
    body = {"model": "yes4", "stream": True, "messages": _user(prompt)}
    try:
        with (
            httpx.Client(base_url=url, timeout=30) as http,
            http.stream("POST", "/v1/chat/completions", json=body) as reply,
        ):
            lines = reply.iter_lines()
            assert next(lines).startswith("data: ")
            gateway.send(signal.SIGTERM)
            refused = threading.Event()

            def knock() -> None:
                for _ in range(100):
                    try:
                        httpx.get(f"{url}/v1/models/auto", timeout=2)
                    except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
                        # Refused, or reset unanswered: a connection the kernel had queued
                        # when the gateway closed its listening socket.
                        refused.set()
                        return
                    threading.Event().wait(0.05)

            knocker = threading.Thread(target=knock)
            knocker.start()
            rest = [line for line in lines if line]
            knocker.join(10)
        assert rest[-1] == "data: [DONE]"
        text = "".join(
            json.loads(line[6:])["choices"][0]["delta"].get("content", "")
            for line in rest[:-1]
            if json.loads(line[6:])["choices"]
        )
        assert text == words  # all of it, after the SIGTERM
        assert refused.is_set()
        assert gateway.wait_exit(timeout=30) == 0
    finally:
        gateway.stop()


# --- the README's examples --------------------------------------------------------------------


def _readme_http_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Using it over HTTP")
    return text[start : text.index("\n## ", start + 1)]


def test_readme_openai_sdk_example_runs(base):
    code = re.search(r"```python\n(.*?)```", _readme_http_section(), re.S).group(1)
    assert "http://localhost:8080/v1" in code
    done = subprocess.run(
        [sys.executable, "-c", code.replace("http://localhost:8080", base)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "YES" in done.stdout


def test_readme_curl_examples_run(base, client):
    block = re.search(r"```sh\n(.*?)```", _readme_http_section(), re.S).group(1)
    commands = [line for line in block.splitlines() if line.startswith("curl ")]
    assert len(commands) >= 4
    call_id = client.chat.completions.create(model="yes1", messages=_user()).freescaling["call_id"]
    env = {**os.environ, "FREESCALING_API_KEY": "unused"}
    for command in commands:
        line = command.replace("http://localhost:8080", base).replace("CALL_ID", call_id)
        done = subprocess.run(
            ["bash", "-c", line], capture_output=True, text=True, timeout=60, env=env
        )
        assert done.returncode == 0, (command, done.stderr)
        out = done.stdout.strip()
        if out.startswith("data: "):
            assert out.endswith("data: [DONE]"), command
        else:
            assert "error" not in json.loads(out), (command, out)


def test_routing_falls_back_visibly_over_http_when_the_classifier_is_down(system):
    gateway = system.gateway_for(f"127.0.0.1:{free_port()}").start().wait_serving().wait_ready()
    try:
        with openai.OpenAI(base_url=f"{gateway.http_url()}/v1", api_key="x", max_retries=0) as sdk:
            reply = sdk.chat.completions.create(model="auto", messages=_user())
        routing = reply.freescaling["routing"]
        assert (routing["method"], reply.model) == ("fallback", "yes2")
        assert "classifier" in routing["reason"] and routing["tier"] is None
    finally:
        assert gateway.stop() == 0
