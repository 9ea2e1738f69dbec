"""The system (learning on PostgreSQL) when parts of it fail: learning stopped mid-run
(answers keep coming, every record arrives once after it returns), the ensemble stopped
(UNAVAILABLE within the deadline), API keys on, and the public API driven through server
reflection as grpcurl would."""

from __future__ import annotations

import json
import re
import signal

import grpc
import pytest

from freescaling.client import Client, Unauthenticated, Unavailable
from freescaling.common.v1 import records_pb2
from freescaling.gateway.v1 import gateway_pb2_grpc
from tests.e2e.conftest import System
from tests.support.grpcurl import Grpcurl
from tests.support.postgres import PostgresDatabase
from tests.support.processes import ServiceProcess, free_port, wait_for


@pytest.fixture(scope="module")
def system(tmp_path_factory, fake, classifier_checkpoint):
    """The system with learning on PostgreSQL (test_gateway.py runs it on SQLite)."""
    database = PostgresDatabase()
    running = System(tmp_path_factory.mktemp("resilience"), fake, database.url).start()
    yield running
    running.stop()
    database.drop()


def _calls(system: System) -> list[str]:
    """Recorded call ids; none while learning is (still) unreachable."""
    stub = gateway_pb2_grpc.GatewayStub(system.gateway.channel())
    try:
        page = stub.ListCalls(records_pb2.ListCallsRequest(page_size=500), timeout=10)
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.UNAVAILABLE:
            raise
        return []
    return [c.call_id for c in page.calls]


def test_learning_stopped_mid_run_loses_and_duplicates_nothing(system):
    with Client(system.gateway.address, timeout_s=30) as client:
        before = client.scale("Is 1 odd?", k=3, answers=["YES", "NO"]).call_id
        wait_for(lambda: before in _calls(system), timeout=20, what="the first record")

        assert system.learning.stop() == 0
        during = [
            client.scale(f"Is {n} odd?", k=3, answers=["YES", "NO"]).call_id for n in (3, 5, 7)
        ]
        assert len(set(during)) == 3  # answers kept coming while learning was away

        system.learning = ServiceProcess(
            "learning", system.workdir, env=system.learning.env, port=system.learning.port
        )
        system.learning.start().wait_serving(timeout=60)
        wait_for(
            lambda: set(during) <= set(_calls(system)), timeout=60, what="the outbox to deliver"
        )
    recorded = _calls(system)
    assert len(recorded) == len(set(recorded))  # none twice
    assert {before, *during} <= set(recorded)


def test_a_gateway_killed_with_records_pending_loses_none(system, tmp_path):
    """`make run`'s gateway spools its outbox under ./data (tests/test_stack.py): records that
    could not reach learning when the gateway is killed (SIGKILL, no drain) arrive after the
    next start, once each."""
    spool = tmp_path / "outbox"
    settings = {"FREESCALING_GATEWAY_OUTBOX_SPOOL_DIR": str(spool)}
    # Learning out of this gateway's reach: every record stays pending.
    crashing = system.gateway_for(
        system.classifier.address, FREESCALING_LEARNING_ADDR=f"127.0.0.1:{free_port()}", **settings
    )
    crashing.start().wait_serving().wait_ready()
    try:
        with Client(crashing.address, timeout_s=30) as client:
            pending = {
                client.scale(f"Is {n} a square?", k=3, answers=["YES", "NO"]).call_id
                for n in (16, 25, 36)
            }
        wait_for(
            lambda: len(list(spool.glob("*.record"))) == 3, timeout=20, what="3 spooled records"
        )
        crashing.send(signal.SIGKILL)
        assert crashing.wait_exit(timeout=20) == -signal.SIGKILL
    finally:
        crashing.stop()
    assert not pending & set(_calls(system))

    restarted = system.gateway_for(system.classifier.address, **settings)
    restarted.start().wait_serving().wait_ready()
    try:
        wait_for(lambda: pending <= set(_calls(system)), timeout=60, what="the spooled records")
        wait_for(lambda: not list(spool.glob("*.record")), timeout=20, what="an empty spool")
    finally:
        assert restarted.stop() == 0
    recorded = _calls(system)
    assert len(recorded) == len(set(recorded))
    # Each call's shadow may have answered before the kill: its late vote is spooled too.
    assert re.search(r"outbox: 3 records and \d+ late shadow votes recovered", restarted.log_text())


def test_api_keys_on(system):
    gateway = (
        system.gateway_for(system.classifier.address, FREESCALING_GATEWAY_API_KEYS="e2e-key-1")
        .start()
        .wait_serving()
        .wait_ready()
    )
    try:
        with Client(gateway.address) as anonymous, pytest.raises(Unauthenticated):
            anonymous.scale("Is 2 even?", k=1)
        with Client(gateway.address, api_key="e2e-key-1") as member:
            assert member.scale("Is 2 even?", k=1, answers=["YES", "NO"]).answer == "YES"
    finally:
        assert gateway.stop() == 0
    assert "e2e-key-1" not in gateway.log_text()


def test_scale_through_reflection_as_grpcurl_would(system):
    curl = Grpcurl(system.gateway.channel())
    reply = json.loads(
        curl.invoke(
            "freescaling.gateway.v1.Gateway/Scale",
            '{"question": "Is 17 prime?", "k": 3, "answer_patterns": ["YES", "NO"]}',
        )
    )
    assert reply["result"]["answer"] == "YES"
    assert reply["result"]["callId"]
    streamed = curl.invoke(
        "freescaling.gateway.v1.Gateway/Chat", '{"messages": [{"role": "user", "content": "Hi"}]}'
    )
    assert "routing" in json.loads(streamed[0]) and "done" in json.loads(streamed[-1])


def test_batch_item_failure_is_that_items_error(system):
    with Client(system.gateway.address, timeout_s=30) as client:
        items = list(
            client.scale_batch(
                ["Is 6 even?", {"question": "Is 8 even?", "answer_patterns": ["YES", "YES"]}],
                k=3,
            )
        )
    by_index = {i.index: i for i in items}
    assert by_index[0].result.answer == "YES"
    assert by_index[1].error is not None and by_index[1].error.code == "INVALID_ARGUMENT"


def test_evolve_dry_run_reports_a_proposal(system):
    # Its own answered votes: three panel members that always all answer (yes1 and no1 split,
    # slowyes decides), so the test needs no earlier test's calls.
    panel = ["yes1", "no1", "slowyes"]
    with Client(system.gateway.address, timeout_s=30) as client:
        client.scale("Is 9 odd?", k=3, answers=["YES", "NO"], models=panel)

        def counted() -> bool:
            answered = {r.model: r.answered for r in client.elo_summary()}
            return all(answered.get(model, 0) >= 1 for model in panel)

        wait_for(counted, timeout=20, what="the votes to be counted")
        result = client.evolve(dry_run=True, min_calls=1)
    assert not result.applied
    assert len(result.proposed) == 3 and result.reason.startswith("top 3 by ELO")


def test_ensemble_stopped_is_unavailable_within_the_deadline(system):
    assert system.ensemble.stop() == 0
    with Client(system.gateway.address) as client, pytest.raises(Unavailable) as err:
        # UNAVAILABLE rather than DEADLINE_EXCEEDED: the gateway answered before the deadline.
        client.scale("Is 10 even?", k=3, answers=["YES", "NO"], timeout_s=5)
    assert "the ensemble service" in err.value.message
