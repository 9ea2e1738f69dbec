"""The `freescaling` command reads right: its tables against a gateway that answers with known
figures (an in-process fake of the public API, so every figure is known in advance), and its
messages when the gateway cannot be reached, when a message is too large, and when the reader
of its output leaves early."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent import futures

import grpc
import pytest

from freescaling import cli
from freescaling.common.v1 import models_pb2, ratings_pb2, records_pb2, routing_pb2
from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from tests.support.processes import ROOT, free_port

# The fake gateway refuses requests over 1 MiB (the real one's FREESCALING_MAX_MESSAGE_MB).
SERVER_LIMIT = 1024 * 1024


def _bucket(key: str, calls: int, errors: int = 0) -> records_pb2.StatsBucket:
    return records_pb2.StatsBucket(key=key, calls=calls, errors=errors, cost_usd=0.01 * calls)


class FakeGateway(gateway_pb2_grpc.GatewayServicer):
    """Known answers: 10 calls (2 failed), a scale panel of three, a pair of models whose
    correlation is undefined, a profile of 2 models x 2 items, and as many models as asked."""

    def __init__(self) -> None:
        self.models = 3

    def Stats(self, request, context):
        return records_pb2.Stats(
            total_calls=10,
            by_kind=[_bucket("scale", 6, 1), _bucket("chat", 4, 1)],
            # Six scale calls count for each of three panel models, four chats for one model.
            by_model=[_bucket("a", 6, 2), _bucket("b", 6), _bucket("c", 6), _bucket("d", 4, 1)],
            # Six calls were never classified (fixed-k scale calls): no tier.
            by_tier=[_bucket("simple", 3), _bucket("complex", 1, 1)],
        )

    def Rankings(self, request, context):
        return ratings_pb2.Rankings(
            ratings=[
                ratings_pb2.ModelRating(
                    model="a", rating=1510, calls=10, answered=5, abstained=1, failed=1,
                    cancelled=3,
                )
            ]
        )  # fmt: skip

    def ErrorCorrelations(self, request, context):
        return routing_pb2.ErrorCorrelations(cluster_set_id="cs", pairs=_pairs())

    def ListModels(self, request, context):
        return models_pb2.ModelList(
            models=[
                models_pb2.ModelInfo(alias=f"model-{n}", litellm_model="nim/" + "x" * 100)
                for n in range(self.models)
            ]
        )

    def ProfileModels(self, request, context):
        models = list(request.models)
        each = len(request.items)
        total = each * len(models)
        for done in range(1, total + 1):
            progress = [
                gateway_pb2.ModelProgress(model=m, done=min(max(done - i * each, 0), each))
                for i, m in enumerate(models)
            ]
            step = gateway_pb2.ProfileProgress(done=done, total=total, models=progress)
            if done == total:
                step.capability_map.CopyFrom(
                    routing_pb2.CapabilityMap(
                        cluster_set_id="cs",
                        models=[
                            routing_pb2.ModelCapability(model=m, items=each, trials=1)
                            for m in models
                        ],
                        correlations=_pairs()[:1],
                    )
                )
            yield step

    def Scale(self, request, context):
        return gateway_pb2.ScaleResponse()


def _pairs() -> list[routing_pb2.ModelPairCorrelation]:
    # a was right on every item both answered: no variance, so no correlation.
    return [
        routing_pb2.ModelPairCorrelation(model_a="a", model_b="b", shared_items=4, both_wrong=0),
        routing_pb2.ModelPairCorrelation(
            model_a="b", model_b="c", correlation=0.5, shared_items=4, both_wrong=1
        ),
    ]


@pytest.fixture(scope="module")
def fake():
    servicer = FakeGateway()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        options=[("grpc.max_receive_message_length", SERVER_LIMIT)],
    )
    gateway_pb2_grpc.add_GatewayServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    servicer.address = f"127.0.0.1:{port}"
    yield servicer
    server.stop(0)


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = cli.main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def _shares(block: str) -> list[float]:
    header, *rows = block.splitlines()
    at = header.index("share")
    return [float(row[at:].split()[0]) for row in rows]


def test_stats_shows_errors_and_shares_that_add_up_to_one(fake, capsys):
    status, out, err = run(capsys, "--target", fake.address, "stats")
    assert status == 0, err
    assert out.startswith("calls: 10  errors: 2  ")
    tables = [b for b in out.split("\n\n") if "share" in b]
    assert len(tables) == 3  # model, kind, tier (no task type recorded)
    # The model table has a caption: a scale call counts there for each model of its panel.
    tables = [b.split(":\n", 1)[-1] for b in tables]
    for block in tables:
        assert block.split()[1:4] == ["calls", "share", "errors"], block
        assert sum(_shares(block)) == pytest.approx(1, abs=1e-3), block
    model, kind, tier = ([row.split() for row in t.splitlines()[1:]] for t in tables)
    assert model[0][:4] == ["a", "6", "0.2727", "2"]  # 6 of 22 model calls
    assert [row[:4] for row in kind] == [
        ["scale", "6", "0.6000", "1"],
        ["chat", "4", "0.4000", "1"],
    ]
    assert [row[:4] for row in tier] == [
        ["simple", "3", "0.3000", "0"],
        ["complex", "1", "0.1000", "1"],
        ["(none)", "6", "0.6000", "-"],  # never classified
    ]


def test_elo_shows_cancelled_votes(fake, capsys):
    status, out, err = run(capsys, "--target", fake.address, "elo")
    assert status == 0, err
    header, row = out.splitlines()
    assert header.split()[6:] == ["answered", "abstained", "failed", "cancelled"]
    assert row.split()[6:] == ["5", "1", "1", "3"]


def test_correlation_says_na_where_it_is_undefined(fake, capsys):
    status, out, err = run(capsys, "--target", fake.address, "correlation")
    assert status == 0, err
    rows = {tuple(line.split()[:2]): line.split()[2] for line in out.splitlines()[1:3]}
    assert rows == {("a", "b"): "n/a", ("b", "c"): "0.5000"}
    assert "n/a: undefined, one of the two was right on every shared item" in out
    status, out, _ = run(capsys, "--target", fake.address, "--json", "correlation")
    assert [p["correlation"] for p in json.loads(out)] == [None, 0.5]


def test_profile_shows_the_time_left_and_na_in_the_map(fake, capsys, tmp_path):
    data = tmp_path / "items.jsonl"
    data.write_text('{"question": "Is 2 prime?", "label": "YES"}\n' * 2)
    status, out, err = run(
        capsys, "--target", fake.address, "profile", "--models", "a", "b", "--data", str(data)
    )
    assert status == 0, err
    steps = err.strip().split("\r")
    assert all("left)" in s for s in steps[:-1]), steps
    assert steps[0].startswith("1/4 graded (about ") and " s left): a 1/2" in steps[0]
    assert steps[-1].startswith("4/4 graded: a 2/2")  # done: nothing left to estimate
    assert "n/a" in out and "n/a: undefined" in out


def test_a_refused_connection_names_the_address_and_target(capsys):
    address = f"127.0.0.1:{free_port()}"
    status, out, err = run(capsys, "--target", address, "models")
    assert (status, out) == (1, "")
    assert err.strip() == (
        f"freescaling models: no gateway answers at {address} (connection refused): start it, "
        "or give its host:port with --target (or FREESCALING_TARGET)"
    )


def test_a_request_over_the_limit_names_the_setting(fake, capsys, tmp_path):
    context = tmp_path / "context.txt"
    context.write_text("x" * (SERVER_LIMIT + 1))
    status, _, err = run(
        capsys, "--target", fake.address, "scale", "Is 2 prime?", "--context-file", str(context)
    )
    assert status == 1
    assert err.startswith("freescaling scale: RESOURCE_EXHAUSTED: the message is larger than")
    assert "FREESCALING_MAX_MESSAGE_MB" in err and "send less, or raise the limit" in err


def test_an_answer_over_the_clients_limit_names_the_setting(fake, capsys, monkeypatch):
    monkeypatch.setenv("FREESCALING_MAX_MESSAGE_MB", "0.0001")  # 104 bytes: 3 models are more
    status, _, err = run(capsys, "--target", fake.address, "models")
    assert status == 1 and "FREESCALING_MAX_MESSAGE_MB" in err, err
    monkeypatch.setenv("FREESCALING_MAX_MESSAGE_MB", "lots")
    status, _, err = run(capsys, "--target", fake.address, "models")
    assert status == 2
    assert "FREESCALING_MAX_MESSAGE_MB='lots' is not a positive number of MiB" in err


def test_json_into_head_ends_quietly(fake):
    # Far more than a pipe holds (64 KiB), so the command is still writing when head leaves.
    fake.models = 2000
    try:
        done = subprocess.run(
            [
                "bash",
                "-c",
                'set -o pipefail; "$0" -m freescaling --target "$1" --json models | head -1',
                sys.executable,
                fake.address,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        fake.models = 3
    assert (done.returncode, done.stdout, done.stderr) == (0, "[\n", "")
