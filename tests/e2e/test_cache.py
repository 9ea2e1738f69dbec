"""The answer cache end to end: Scale, Generate and Chat over gRPC and the HTTP API answered from
learning's cache (exact by default for deterministic requests, semantic when asked), never
across API keys, bypassed when asked, and counted in Stats."""

from __future__ import annotations

import grpc
import httpx
import pytest

from freescaling.common.v1 import calls_pb2, records_pb2
from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from tests.learning.helpers import unique
from tests.support.processes import wait_for

TIMEOUT = 60
PATTERNS = ["YES", "NO"]
PANEL = ["yes1", "yes2", "no1"]


def _options(**fields) -> calls_pb2.CallOptions:
    return calls_pb2.CallOptions(**fields)


COLD = _options(temperature=0)


@pytest.fixture(scope="module")
def stub(system):
    return gateway_pb2_grpc.GatewayStub(system.gateway.channel())


def _scale(stub, question, options=COLD, metadata=()):
    request = gateway_pb2.ScaleRequest(
        question=question, k=3, answer_patterns=PATTERNS, models=PANEL, options=options
    )
    return stub.Scale(request, timeout=TIMEOUT, metadata=metadata)


def _asked(fake) -> int:
    return sum(len(fake.requests_for(f"e2e/{m}")) for m in PANEL)


def _kept(stub, question, options=COLD, metadata=()):
    """The first answer, once the cache answers, with the id of the call the cache answers from.
    Stores happen after an answer is sent, so a miss while the first store is on its way runs
    and keeps its own answer: the cached call is one of the misses, not always the first."""
    first = _scale(stub, question, options, metadata)
    missed = {first.result.call_id}

    def cached():
        reply = _scale(stub, question, options, metadata)
        if reply.HasField("cache"):
            return reply.cache.original_call_id
        missed.add(reply.result.call_id)
        return None

    original = wait_for(cached, timeout=20, what="the answer in the cache")
    assert original in missed
    return first, original


def test_a_deterministic_vote_is_answered_from_the_cache_the_second_time(stub, fake):
    question = f"Is 17 prime? ({unique('q')})"
    first, original = _kept(stub, question)
    assert not first.HasField("cache") and first.result.calls_made == 3
    asked = _asked(fake)
    again = _scale(stub, "  " + question.replace(" ", "  ") + " ")  # whitespace is normalised
    assert _asked(fake) == asked  # no model was called
    assert again.cache.original_call_id == original == again.result.call_id
    assert (again.cache.match, again.cache.similarity) == ("exact", 1.0)
    assert again.cache.saved_cost_usd == pytest.approx(first.result.usage.cost_usd)
    assert again.result.answer == first.result.answer == "YES"
    assert again.result.calls_made == 0 and again.result.usage.cost_usd == 0
    assert [v.model for v in again.result.votes] == [v.model for v in first.result.votes]


def test_other_settings_or_sampling_are_another_entry(stub, fake):
    question = f"Is 23 prime? ({unique('q')})"
    _kept(stub, question)
    other_panel = stub.Scale(
        gateway_pb2.ScaleRequest(
            question=question, k=3, answer_patterns=PATTERNS, models=["yes1", "yes2", "yes3"],
            options=COLD,
        ),
        timeout=TIMEOUT,
    )  # fmt: skip
    assert not other_panel.HasField("cache")
    assert not _scale(stub, question, _options(temperature=0, max_tokens=50)).HasField("cache")


def test_a_request_that_is_not_deterministic_is_not_cached_unless_it_asks(stub):
    question = f"Is 29 prime? ({unique('q')})"
    warm = _options(temperature=0.7)
    first = _scale(stub, question, warm)
    second = _scale(stub, question, warm)
    assert not first.HasField("cache") and not second.HasField("cache")
    assert second.result.call_id != first.result.call_id
    exact = _options(temperature=0.7, cache=calls_pb2.CACHE_MODE_EXACT)
    _kept(stub, question, exact)


def test_skip_neither_reads_nor_keeps_and_fresh_runs_then_replaces(stub):
    question = f"Is 31 prime? ({unique('q')})"
    skip = _options(temperature=0, cache=calls_pb2.CACHE_MODE_SKIP)
    _scale(stub, question, skip)
    for _ in range(2):
        assert not _scale(stub, question, skip).HasField("cache")
    _, original = _kept(stub, question)
    fresh = _scale(stub, question, _options(temperature=0, cache=calls_pb2.CACHE_MODE_FRESH))
    assert not fresh.HasField("cache") and fresh.result.calls_made == 3
    wait_for(
        lambda: _scale(stub, question).cache.original_call_id == fresh.result.call_id,
        timeout=20,
        what="the fresh answer to replace the cached one",
    )
    assert fresh.result.call_id != original


def test_a_semantic_lookup_matches_a_question_alike_but_never_other_numbers(stub):
    tag = unique("q")
    semantic = _options(temperature=0, cache=calls_pb2.CACHE_MODE_SEMANTIC, cache_threshold=0.05)
    _, original = _kept(stub, f"Is 37 a prime number? {tag}", semantic)
    alike = _scale(stub, f"Is 37 prime? {tag}", semantic)
    assert alike.cache.original_call_id == original
    assert alike.cache.match == "semantic" and 0.05 <= alike.cache.similarity < 1.0
    # The same words with another number: never the cached answer, whatever the threshold.
    assert not _scale(stub, f"Is 41 a prime number? {tag}", semantic).HasField("cache")
    # Exact only (the default) does not match by meaning.
    assert not _scale(stub, f"Is 37 prime? {tag} !").HasField("cache")


def test_entries_never_cross_api_keys(system, fake):
    gateway = system.gateway_for(
        system.classifier.address, FREESCALING_GATEWAY_API_KEYS="key-one,key-two"
    ).start().wait_serving().wait_ready()  # fmt: skip
    try:
        keyed = gateway_pb2_grpc.GatewayStub(gateway.channel())
        one = (("authorization", "Bearer key-one"),)
        two = (("authorization", "Bearer key-two"),)
        question = f"Is 43 prime? ({unique('q')})"
        _, original = _kept(keyed, question, metadata=one)
        other = _scale(keyed, question, metadata=two)
        assert not other.HasField("cache") and other.result.call_id != original
        assert _scale(keyed, question, metadata=one).cache.original_call_id == original
    finally:
        assert gateway.stop() == 0


def test_chat_streamed_and_whole_is_answered_from_the_cache(stub, fake):
    question = f"Say hello. ({unique('q')})"
    request = gateway_pb2.ChatRequest(
        messages=[calls_pb2.ChatMessage(role="user", content=question)],
        model="yes1",
        options=COLD,
    )

    def chat():
        chunks = list(stub.Chat(request, timeout=TIMEOUT))
        text = "".join(c.delta for c in chunks if c.WhichOneof("chunk") == "delta")
        return chunks[0], text, chunks[-1].done

    _, text, done = chat()
    assert not done.HasField("cache")
    # Misses while the first answer's store is on its way keep their own (see _kept).
    missed = {done.call_id}

    def cached():
        end = chat()[2]
        missed.add("" if end.HasField("cache") else end.call_id)
        return end.cache.original_call_id

    original = wait_for(cached, timeout=20, what="the chat in the cache")
    assert original in missed
    asked = len(fake.requests_for("e2e/yes1"))
    routing, again, end = chat()
    assert len(fake.requests_for("e2e/yes1")) == asked
    assert routing.WhichOneof("chunk") == "routing" and routing.routing.model == "yes1"
    assert again == text and end.call_id == original == end.cache.original_call_id
    assert end.usage.cost_usd == 0 and end.cache.saved_cost_usd == pytest.approx(
        done.usage.cost_usd
    )
    whole_request = gateway_pb2.ChatRequest()
    whole_request.CopyFrom(request)
    whole_request.stream = False
    (chunk,) = stub.Chat(whole_request, timeout=TIMEOUT)
    assert chunk.response.text == text
    assert chunk.response.done.cache.original_call_id == original


def test_generate_is_answered_from_the_cache(stub):
    request = gateway_pb2.GenerateRequest(
        question=f"Write a haiku. ({unique('q')})", k=1, models=["yes1"], judges=["yes4"],
        options=COLD,
    )  # fmt: skip
    first = stub.Generate(request, timeout=TIMEOUT)
    missed = {first.result.call_id}

    def cached():
        reply = stub.Generate(request, timeout=TIMEOUT)
        missed.add("" if reply.HasField("cache") else reply.result.call_id)
        return reply.cache.original_call_id

    original = wait_for(cached, timeout=20, what="the generation in the cache")
    assert original in missed
    again = stub.Generate(request, timeout=TIMEOUT)
    assert again.cache.original_call_id == original == again.result.call_id
    assert again.result.output == first.result.output and again.result.total_calls == 0


def test_the_http_api_answers_from_the_cache_and_takes_the_extension(system):
    body = {
        "model": "yes1",
        "messages": [{"role": "user", "content": f"Say hi. ({unique('q')})"}],
        "temperature": 0,
    }
    with httpx.Client(base_url=system.gateway.http_url(), timeout=30) as http:
        first = http.post("/v1/chat/completions", json=body).json()
        assert "cache" not in first["freescaling"]
        missed = {first["freescaling"]["call_id"]}

        def cached():
            extension = http.post("/v1/chat/completions", json=body).json()["freescaling"]
            missed.add("" if "cache" in extension else extension["call_id"])
            return extension.get("cache", {}).get("original_call_id")

        original = wait_for(cached, timeout=20, what="the HTTP answer in the cache")
        assert original in missed
        again = http.post("/v1/chat/completions", json=body)
        hit = again.json()["freescaling"]["cache"]
        assert hit["original_call_id"] == original == again.json()["freescaling"]["call_id"]
        assert again.headers["x-freescaling-call-id"] == hit["original_call_id"]
        streamed = http.post("/v1/chat/completions", json={**body, "stream": True})
        assert streamed.headers["x-freescaling-call-id"] == hit["original_call_id"]
        skipped = http.post("/v1/chat/completions", json={**body, "cache": "skip"}).json()
        assert "cache" not in skipped["freescaling"]
        stats = http.get("/stats").json()["cache"]
        assert stats["hits"] >= 3 and stats["saved_cost_usd"] > 0
        bad = http.post("/v1/chat/completions", json={**body, "cache": "always"})
        assert bad.status_code == 400
        assert bad.json()["error"]["param"] == "cache"
        assert "cache must be one of skip, fresh, exact, semantic" in bad.json()["error"]["message"]


def test_stats_count_hits_misses_and_money_saved(stub):
    before = stub.Stats(records_pb2.StatsRequest(), timeout=TIMEOUT).cache
    question = f"Is 47 prime? ({unique('q')})"
    _kept(stub, question)
    _scale(stub, question)
    after = stub.Stats(records_pb2.StatsRequest(), timeout=TIMEOUT).cache
    assert after.hits >= before.hits + 2 and after.misses >= before.misses + 1
    assert after.saved_cost_usd > before.saved_cost_usd
    assert 0 < after.hit_rate < 1


def test_a_bad_threshold_is_refused_by_learning_with_a_clear_message(stub):
    with pytest.raises(grpc.RpcError) as err:
        _scale(
            stub,
            f"Is 53 prime? ({unique('q')})",
            _options(temperature=0, cache=calls_pb2.CACHE_MODE_SEMANTIC, cache_threshold=1.5),
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "cache_threshold" in err.value.details()
