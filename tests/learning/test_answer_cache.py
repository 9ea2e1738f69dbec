"""The answer cache through learning's LookupAnswer and StoreAnswer: exact hits, scopes, kinds
and settings that never cross, expiry, replacement, semantic matches (threshold, numbers,
embedder, dimension), refused requests, and GetStats' cache counts. Both databases."""

from __future__ import annotations

import math
import time

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp

from freescaling.common.v1 import records_pb2
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc
from services.learning.db import Database
from services.learning.schema import answer_cache
from tests.learning.helpers import TIMEOUT, expect_error, unique
from tests.support.processes import wait_for

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def keys(**fields) -> dict:
    """Keys of one entry; a fresh scope per test, so that tests never see each other's."""
    return {
        "scope": unique("scope"),
        "kind": "scale",
        "settings_key": "settings-1",
        "text_key": unique("text"),
        **fields,
    }


def store(stub, entry: dict, answer: bytes = b"answer", **fields):
    values = {"call_id": unique("call"), "cost_usd": 0.01, "ttl_s": 3600.0, **fields}
    return stub.StoreAnswer(
        learning_pb2.StoreAnswerRequest(**entry, answer=answer, **values), timeout=TIMEOUT
    )


def lookup(stub, entry: dict, **fields) -> learning_pb2.LookupAnswerResponse:
    return stub.LookupAnswer(learning_pb2.LookupAnswerRequest(**entry, **fields), timeout=TIMEOUT)


def now_us() -> int:
    return time.time_ns() // 1000


def rows(database_url: str, scope: str) -> list:
    db = Database(database_url)
    try:
        return db.read(
            lambda c: c.execute(
                sa.select(answer_cache.c.text_key, answer_cache.c.answer).where(
                    answer_cache.c.scope == scope
                )
            ).all()
        )
    finally:
        db.close()


def test_an_exact_match_is_a_hit_and_any_other_text_a_miss(stub):
    entry = keys()
    before = now_us()
    stored = store(stub, entry, b"\x00\x01serialised", call_id="call-exact", cost_usd=0.125)
    after = now_us()
    assert before + 3_600_000_000 <= stored.expires_at_us <= after + 3_600_000_000

    found = lookup(stub, entry)
    assert found.found and found.answer == b"\x00\x01serialised"
    assert (
        found.hit.original_call_id,
        found.hit.match,
        found.hit.similarity,
        found.hit.saved_cost_usd,
    ) == ("call-exact", "exact", 1.0, 0.125)
    assert before <= found.hit.stored_at_us <= after
    assert stored.expires_at_us - found.hit.stored_at_us == 3_600_000_000

    missed = lookup(stub, {**entry, "text_key": unique("text")})
    assert not missed.found and missed.answer == b"" and not missed.HasField("hit")


def test_scopes_never_cross(stub):
    mine, theirs = keys(), keys()
    theirs["text_key"] = mine["text_key"]
    store(stub, mine, b"mine")
    assert not lookup(stub, theirs).found
    store(stub, theirs, b"theirs")
    assert lookup(stub, mine).answer == b"mine"
    assert lookup(stub, theirs).answer == b"theirs"


def test_kinds_and_settings_never_cross_even_for_the_same_embedding(stub):
    entry = keys()
    store(stub, entry, b"scale", embedding=[1, 0, 0, 0], embedder="e1")
    semantic = {"embedding": [1, 0, 0, 0], "embedder": "e1", "threshold": 0.5}
    for other in ({"kind": "generate"}, {"kind": "chat"}, {"settings_key": "settings-2"}):
        assert not lookup(stub, {**entry, **other}).found, other
        assert not lookup(stub, {**entry, **other, "text_key": "x"}, **semantic).found, other
    assert lookup(stub, entry).answer == b"scale"


def test_an_entry_expires_after_its_ttl_and_a_later_store_purges_it(stub, database_url):
    entry = keys()
    before = now_us()
    stored = store(stub, entry, b"brief", ttl_s=0.3)
    assert before + 300_000 <= stored.expires_at_us <= now_us() + 300_000
    wait_for(lambda: now_us() > stored.expires_at_us, timeout=5, what="the entry's expiry")
    assert not lookup(stub, entry).found
    assert [r.answer for r in rows(database_url, entry["scope"])] == [b"brief"]

    # The next store anywhere deletes expired rows; the same keys stored again are found.
    store(stub, keys(), b"elsewhere")
    assert rows(database_url, entry["scope"]) == []
    store(stub, entry, b"again")
    assert lookup(stub, entry).answer == b"again"


def test_a_newer_store_of_the_same_keys_replaces_the_entry(stub, database_url):
    entry = keys()
    store(stub, entry, b"first", call_id="call-1", cost_usd=0.5)
    store(stub, entry, b"second", call_id="call-2", cost_usd=0.25)
    found = lookup(stub, entry)
    assert (found.answer, found.hit.original_call_id, found.hit.saved_cost_usd) == (
        b"second",
        "call-2",
        0.25,
    )
    assert [r.answer for r in rows(database_url, entry["scope"])] == [b"second"]


def test_a_semantic_lookup_finds_the_most_similar_entry_at_or_above_the_threshold(stub):
    entry = keys()
    near, far = {**entry, "text_key": "near"}, {**entry, "text_key": "far"}
    store(stub, far, b"far", embedding=[1, 0, 0, 0], embedder="e1", call_id="call-far")
    store(stub, near, b"near", embedding=[0, 1, 0, 0], embedder="e1", call_id="call-near")
    question = {**entry, "text_key": "new wording"}
    # [3, 4, 0, 0] has cosine 0.8 with `near` and 0.6 with `far`: exactly, in binary too.
    ask = {"embedding": [3, 4, 0, 0], "embedder": "e1"}

    found = lookup(stub, question, **ask, threshold=0.5)
    assert found.found and found.answer == b"near"
    assert (found.hit.original_call_id, found.hit.match, found.hit.similarity) == (
        "call-near",
        "semantic",
        0.8,
    )
    assert lookup(stub, question, **ask, threshold=0.8).hit.similarity == 0.8
    assert not lookup(stub, question, **ask, threshold=0.8000001).found

    # Without `near`, `far` is the best: a hit at exactly its similarity, a miss just above.
    other = keys()
    store(stub, other, b"only", embedding=[1, 0, 0, 0], embedder="e1")
    alike = {**other, "text_key": "new wording"}
    assert lookup(stub, alike, **ask, threshold=0.6).hit.similarity == 0.6
    assert not lookup(stub, alike, **ask, threshold=0.61).found
    # An exact match wins over any semantic one, and needs no embedding.
    assert lookup(stub, far, **ask, threshold=0.5).hit.match == "exact"


def test_a_semantic_match_needs_the_same_numbers_embedder_and_dimension(stub):
    entry = keys()
    store(stub, entry, b"91 is not prime", embedding=[1, 0, 0, 0], embedder="e1", numbers="91")
    question = {**entry, "text_key": "reworded"}
    same = {"embedding": [1, 0, 0, 0], "embedder": "e1", "threshold": 0.99}

    found = lookup(stub, question, **same, numbers="91")
    assert (found.answer, found.hit.match, found.hit.similarity) == (
        b"91 is not prime",
        "semantic",
        1.0,
    )
    assert not lookup(stub, question, **same, numbers="97").found
    assert not lookup(stub, question, **same).found
    assert not lookup(stub, question, **{**same, "embedder": "e2"}, numbers="91").found
    assert not lookup(stub, question, **{**same, "embedding": [1, 0, 0]}, numbers="91").found
    # An entry stored without an embedding is found exactly, never by meaning.
    plain = keys()
    store(stub, plain, b"plain")
    assert not lookup(stub, {**plain, "text_key": "reworded"}, **same).found
    assert lookup(stub, plain, **same).hit.match == "exact"


LOOKUP_ERRORS = [
    ({"scope": ""}, "scope is empty; send a digest of the caller's API key"),
    ({"scope": "s" * 201}, "scope has 201 characters; at most 200"),
    ({"kind": ""}, "kind is empty; send 'scale', 'generate' or 'chat'"),
    ({"kind": "embed"}, "kind 'embed' is not 'scale', 'generate' or 'chat'"),
    ({"settings_key": ""}, "settings_key is empty; send the digest of everything but"),
    ({"text_key": ""}, "text_key is empty; send the digest of the normalised question"),
    (
        {"embedding": [1, 0], "embedder": "e1", "threshold": 0},
        "threshold is 0.0; a semantic lookup (with an embedding) needs a least cosine "
        "similarity above 0 and at most 1",
    ),
    ({"embedding": [1, 0], "embedder": "e1", "threshold": 1.5}, "threshold is 1.5;"),
    ({"embedding": [1, 0], "embedder": "e1", "threshold": math.nan}, "threshold is nan;"),
    (
        {"embedding": [1, math.nan], "embedder": "e1", "threshold": 0.9},
        "embedding[1] is nan; every value must be a finite number",
    ),
    (
        {"embedding": [math.inf, 0], "embedder": "e1", "threshold": 0.9},
        "embedding[0] is inf; every value must be a finite number",
    ),
    (
        {"embedding": [0, 0], "embedder": "e1", "threshold": 0.9},
        "embedding is all zeros, which has no cosine similarity with anything",
    ),
    (
        {"embedding": [1, 0], "threshold": 0.9},
        "embedder is empty; name the embedder the embedding came from",
    ),
]


@pytest.mark.parametrize(("fields", "message"), LOOKUP_ERRORS)
def test_a_refused_lookup_says_what_to_send(stub, fields, message):
    request = learning_pb2.LookupAnswerRequest(**{**keys(), **fields})
    expect_error(INVALID, message, stub.LookupAnswer, request)


STORE_ERRORS = [
    ({"kind": "Scale"}, "kind 'Scale' is not 'scale', 'generate' or 'chat'"),
    ({"text_key": ""}, "text_key is empty; send the digest of the normalised question"),
    ({"ttl_s": 0}, "ttl_s is 0.0; send the seconds to keep the answer, above 0"),
    ({"ttl_s": -5}, "ttl_s is -5.0;"),
    ({"ttl_s": math.inf}, "ttl_s is inf;"),
    ({"ttl_s": math.nan}, "ttl_s is nan;"),
    ({"ttl_s": 1e12}, "ttl_s is 1000000000000.0; send the seconds to keep the answer"),
    (
        {"answer": b"x" * (4 * 1024 * 1024 + 1)},
        "answer has 4194305 bytes; at most 4194304 (4 MiB) are kept",
    ),
    ({"cost_usd": -0.01}, "cost_usd is -0.01; it must be a number, 0 or more"),
    ({"cost_usd": math.nan}, "cost_usd is nan; it must be a number, 0 or more"),
    ({"embedding": [1, math.inf], "embedder": "e1"}, "embedding[1] is inf;"),
    ({"embedding": [1, 0]}, "embedder is empty; name the embedder the embedding came from"),
    ({"call_id": "c" * 201}, "call_id has 201 characters; at most 200"),
]


@pytest.mark.parametrize(("fields", "message"), STORE_ERRORS)
def test_a_refused_store_says_what_to_send_and_keeps_nothing(stub, fields, message):
    entry = keys()
    values = {**entry, "answer": b"a", "ttl_s": 60.0, **fields}
    expect_error(INVALID, message, stub.StoreAnswer, learning_pb2.StoreAnswerRequest(**values))
    assert not lookup(stub, entry).found


def test_an_answer_of_exactly_4_mib_is_kept(learning):
    # Its reply is a little over 4 MiB, gRPC's default receive limit: the gateway's channels
    # allow FREESCALING_MAX_MESSAGE_MB (16 by default), as this one does.
    options = [("grpc.max_receive_message_length", 16 * 1024 * 1024)]
    with grpc.insecure_channel(learning.address, options=options) as channel:
        stub = learning_pb2_grpc.LearningStub(channel)
        entry = keys()
        store(stub, entry, b"y" * (4 * 1024 * 1024))
        assert lookup(stub, entry).answer == b"y" * (4 * 1024 * 1024)


def _stamp() -> Timestamp:
    ts = Timestamp()
    ts.FromMicroseconds(now_us())
    return ts


def _cache(stub, since: Timestamp, until: Timestamp, kind: int = 0) -> records_pb2.CacheStats:
    request = records_pb2.StatsRequest(since=since, until=until, kind=kind)
    return stub.GetStats(request, timeout=TIMEOUT).cache


def test_stats_count_the_lookups_in_the_range_by_kind(stub):
    scale, chat = keys(kind="scale"), keys(kind="chat")
    store(stub, scale, cost_usd=0.25)
    store(stub, chat, cost_usd=0.5, embedding=[1, 0], embedder="e1")
    lookup(stub, scale)  # before the range

    since = _stamp()
    assert lookup(stub, scale).hit.match == "exact"
    assert not lookup(stub, {**scale, "text_key": "other"}).found
    semantic = {"embedding": [1, 0], "embedder": "e1", "threshold": 0.9}
    assert lookup(stub, {**chat, "text_key": "other"}, **semantic).hit.match == "semantic"
    assert not lookup(stub, {**chat, "text_key": "other"}, **{**semantic, "embedder": "e2"}).found
    assert not lookup(stub, {**chat, "text_key": "third"}).found
    # A refused lookup is not counted.
    refused = learning_pb2.LookupAnswerRequest(**keys(kind=""))
    expect_error(INVALID, "kind is empty", stub.LookupAnswer, refused)
    until = _stamp()
    lookup(stub, chat)  # after the range

    every = _cache(stub, since, until)
    assert (every.hits, every.misses, every.semantic_hits) == (2, 3, 1)
    assert (every.saved_cost_usd, every.hit_rate) == (0.75, 0.4)
    chats = _cache(stub, since, until, records_pb2.CALL_KIND_CHAT)
    assert (chats.hits, chats.misses, chats.semantic_hits, chats.saved_cost_usd) == (1, 2, 1, 0.5)
    assert chats.hit_rate == 1 / 3
    scales = _cache(stub, since, until, records_pb2.CALL_KIND_SCALE)
    assert (scales.hits, scales.misses, scales.semantic_hits, scales.saved_cost_usd) == (
        1,
        1,
        0,
        0.25,
    )
    assert scales.hit_rate == 0.5
    generates = _cache(stub, since, until, records_pb2.CALL_KIND_GENERATE)
    assert generates == records_pb2.CacheStats()
    # Without `until`, the lookup after the range counts too.
    since_only = stub.GetStats(records_pb2.StatsRequest(since=since), timeout=TIMEOUT).cache
    assert (since_only.hits, since_only.misses, since_only.saved_cost_usd) == (3, 3, 1.25)
