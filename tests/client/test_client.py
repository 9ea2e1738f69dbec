"""The Python client and the CLI against a real gateway: plain results, typed errors (with the
request id to quote), sync and asyncio alike."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from freescaling.client import AsyncClient, Client, Unauthenticated, Unavailable
from freescaling.client.results import Classification, Routing, ScaleResult, from_proto
from freescaling.common.v1 import classification_pb2, routing_pb2, voting_pb2
from tests.support.processes import ROOT, ServiceProcess, free_port


@pytest.fixture(scope="module")
def lonely_gateway(tmp_path_factory):
    """A gateway whose downstreams are all down."""
    service = ServiceProcess(
        "gateway",
        tmp_path_factory.mktemp("lonely"),
        env={
            "FREESCALING_ENSEMBLE_ADDR": f"127.0.0.1:{free_port()}",
            "FREESCALING_LEARNING_ADDR": f"127.0.0.1:{free_port()}",
            "FREESCALING_CLASSIFIER_ADDR": f"127.0.0.1:{free_port()}",
            "FREESCALING_GATEWAY_API_KEYS": "k-123",
        },
    )
    service.start().wait_serving()
    yield service
    assert service.stop() == 0


def test_results_use_the_api_field_names_with_readable_enums():
    message = voting_pb2.ScaleResult(
        call_id="c1",
        answer="NO",
        confidence=2 / 3,
        outcome=voting_pb2.SCALE_OUTCOME_MAJORITY,
        votes=[
            voting_pb2.Vote(model="a", parsed_answer="NO"),
            voting_pb2.Vote(model="b", abstained=True),
        ],
    )
    result = from_proto(ScaleResult, message)
    assert (result.answer, result.outcome, result.votes[1].abstained) == ("NO", "majority", True)
    assert result.shadow is None  # unset message
    routing = from_proto(
        Routing,
        routing_pb2.RoutingInfo(
            method=routing_pb2.ROUTING_METHOD_FALLBACK,
            classification=classification_pb2.Classification(tier=classification_pb2.TIER_COMPLEX),
            **{"lambda": 0.25},
        ),
    )
    assert (routing.method, routing.classification.tier, routing.lambda_) == (
        "fallback",
        "complex",
        0.25,
    )
    assert routing.classification.cluster_id is None  # unset optional, not 0
    assert (
        from_proto(Classification, classification_pb2.Classification(cluster_id=0)).cluster_id == 0
    )


def test_info_and_typed_errors_sync(lonely_gateway):
    with Client(lonely_gateway.address, api_key="k-123") as client:
        info = client.info(probe_downstreams=True)
        assert info.service == "gateway" and not info.ready
        with pytest.raises(Unavailable) as err:
            client.models()
        assert "the ensemble service" in err.value.message
        assert len(err.value.request_id) == 32
    with Client(lonely_gateway.address) as anonymous, pytest.raises(Unauthenticated):
        anonymous.info()


def test_typed_errors_async(lonely_gateway):
    async def scenario():
        async with AsyncClient(lonely_gateway.address, api_key="k-123") as client:
            assert (await client.info()).service == "gateway"
            with pytest.raises(Unavailable) as err:
                await client.elo_summary()
            assert "the learning service" in err.value.message

    asyncio.run(scenario())


def test_bad_arguments_are_refused_before_any_call(lonely_gateway):
    with Client(lonely_gateway.address, api_key="k-123") as client:
        with pytest.raises(ValueError, match="k must be 1, 3, 5 or 'auto'"):
            client.scale("q", k=2)
        with pytest.raises(ValueError, match="exactly one of call_id and message_id"):
            client.feedback("", "👍")
        with pytest.raises(ValueError, match="source must be one of elo, profiles; got 'votes'"):
            client.evolve(source="votes")
        with pytest.raises(ValueError, match="models must be a list of aliases, not one string"):
            list(client.profile_models("a,b", [{"question": "q", "label": "YES"}]))
        with pytest.raises(ValueError, match=r"item 0 has unknown fields \['answer'\]"):
            list(client.profile_models(["a"], [{"question": "q", "answer": "YES"}]))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "freescaling", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_reports_errors_with_their_code_and_exit_status(lonely_gateway):
    done = _cli("--target", lonely_gateway.address, "--api-key", "k-123", "models")
    assert done.returncode == 1
    assert "freescaling models: UNAVAILABLE: the ensemble service" in done.stderr
    done = _cli("--target", lonely_gateway.address, "models")
    assert done.returncode == 1
    assert "UNAUTHENTICATED" in done.stderr


def test_cli_json_and_table_output(stack):
    done = _cli("--target", stack.gateway.address, "--json", "panels")
    assert done.returncode == 0, done.stderr
    panels = {p["name"]: p for p in json.loads(done.stdout)}
    assert panels["default-k3"]["models"]
    done = _cli("--target", stack.gateway.address, "models")
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["alias", "tier", "cost", "thinking", "status", "model"]
    (llama,) = [row for row in rows if row.startswith("llama-3.3 ")]
    assert llama.split()[4] == "available"
