"""8 concurrent gRPC clients record 400 calls over overlapping models (with retried duplicates)
through two service processes on one database, so that writers really compete for the same
rows: no lost update, every call and vote stored once, the ratings' sum exactly 1500 x models."""

from __future__ import annotations

import random
import threading

import grpc
import pytest

from freescaling.common.v1 import ratings_pb2, records_pb2
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc
from tests.learning.conftest import start_learning
from tests.learning.helpers import TIMEOUT, scale_record

CLIENTS, CALLS = 8, 400
MODELS = [f"model-{i}" for i in range(6)]


def _calls() -> list[records_pb2.CallRecord]:
    rng = random.Random(5)
    calls = []
    for i in range(CALLS):
        panel = rng.sample(MODELS, rng.choice([3, 5]))
        majority = rng.choice(["YES", "NO"])
        minority = "NO" if majority == "YES" else "YES"
        dissent = rng.randrange(0, len(panel) // 2 + 1)
        votes = {m: (minority if j < dissent else majority) for j, m in enumerate(panel)}
        shadow = next(m for m in MODELS if m not in panel) if len(panel) < 6 else None
        calls.append(
            scale_record(
                votes, majority, call_id=f"conc-{i}", shadow=(shadow, minority) if shadow else None
            )
        )
    return calls


@pytest.fixture(scope="module")
def replica(database_url, learning, tmp_path_factory):
    """A second process on the same database (as a second replica would be)."""
    process = start_learning(tmp_path_factory.mktemp("replica"), database_url)
    yield process
    assert process.stop() == 0


def test_concurrent_writers_lose_no_update(learning, replica):
    calls = _calls()
    errors: list[BaseException] = []
    replies: dict[str, list[bool]] = {}
    lock = threading.Lock()

    def client(index: int) -> None:
        # One channel per client, as separate processes would have.
        target = (learning, replica)[index % 2].address
        with grpc.insecure_channel(target) as channel:
            stub = learning_pb2_grpc.LearningStub(channel)
            mine = calls[index::CLIENTS]
            # Every 10th call of the next client is sent again: a retried record.
            retried = calls[(index + 1) % CLIENTS :: CLIENTS][::10]
            for rec in [*mine, *retried]:
                try:
                    reply = stub.RecordCall(
                        learning_pb2.RecordCallRequest(record=rec, register_models=True),
                        timeout=60,
                    )
                except BaseException as exc:  # the assertion below shows it
                    errors.append(exc)
                    return
                with lock:
                    replies.setdefault(rec.call_id, []).append(reply.duplicate)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert len(replies) == CALLS
    # Exactly one reply per call says "recorded", the other (retried) ones say "duplicate".
    assert all(flags.count(False) == 1 for flags in replies.values())

    stub = learning_pb2_grpc.LearningStub(learning.channel())
    rows = stub.GetRankings(ratings_pb2.RankingsRequest(), timeout=TIMEOUT).ratings
    assert sorted(r.model for r in rows) == MODELS
    assert sum(round(r.rating * 1000) for r in rows) == 1_500_000 * len(MODELS)
    assert sum(r.calls for r in rows) == sum(len(c.votes) for c in calls)
    assert sum(r.wins for r in rows) == sum(r.losses for r in rows)
    expected_games = sum(
        sum(v.parsed_answer == c.answer for v in c.votes)
        * sum(v.parsed_answer != c.answer for v in c.votes)
        for c in calls
    )
    assert sum(r.wins for r in rows) == expected_games

    stored, token = [], ""
    while True:
        page = stub.ListCalls(
            records_pb2.ListCallsRequest(page_size=500, page_token=token), timeout=TIMEOUT
        )
        stored.extend(page.calls)
        token = page.next_page_token
        if not token:
            break
    assert sorted(c.call_id for c in stored) == sorted(c.call_id for c in calls)
    by_id = {c.call_id: c for c in calls}
    assert all(len(s.votes) == len(by_id[s.call_id].votes) for s in stored)
    stats = stub.GetStats(records_pb2.StatsRequest(), timeout=TIMEOUT)
    assert stats.total_calls == CALLS
    assert sum(b.calls for b in stats.by_model) == sum(len(c.votes) for c in calls)
