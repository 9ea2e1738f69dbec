"""No provider call waits on a download: with the internet unreachable (every route to it a
black hole that accepts and never answers, as in an air-gapped cluster), the ensemble's first
calls, streamed ones included, answer from a local OpenAI-compatible server at once, and
nothing in the process even tries to reach the hub or litellm's price map. Models of the
packaged registry are used: litellm looks for a Hugging Face tokenizer for Llama names."""

from __future__ import annotations

import pytest

from freescaling.ensemble.v1 import ensemble_pb2, ensemble_pb2_grpc
from tests.ensemble.conftest import FAKE_KEY
from tests.support.processes import ServiceProcess
from tests.support.unreachable import Unreachable


@pytest.fixture
def hole():
    unreachable = Unreachable()
    yield unreachable
    unreachable.close()


def test_first_calls_answer_with_the_hub_unreachable_and_nothing_tries_it(tmp_path, fake, hole):
    process = ServiceProcess(
        "ensemble",
        tmp_path,
        env={
            **hole.env(),
            "NVIDIA_API_KEY": FAKE_KEY,
            "FREESCALING_ENSEMBLE_API_BASE": fake.base_url,
            "FREESCALING_ENSEMBLE_RATE_LIMIT_RPM": "0",
        },
    )
    process.start().wait_serving(timeout=60).wait_ready()
    try:
        stub = ensemble_pb2_grpc.EnsembleStub(process.channel())
        # The routed chat's path: a streamed completion from a Llama model (its token count
        # is where litellm would fetch the tokenizer), then a vote. Deadlines far below the
        # hub client's retries (minutes) and far above an answer from loopback.
        chunks = list(
            stub.Complete(
                ensemble_pb2.CompleteRequest(
                    model="llama-3.3", messages=[{"role": "user", "content": "Hello?"}]
                ),
                timeout=15,
            )
        )
        assert "".join(c.delta for c in chunks) == "Answer: YES"
        assert chunks[-1].HasField("done")
        voted = stub.Scale(
            ensemble_pb2.ScaleRequest(question="Is 7 prime?", k=3, answer_patterns=["YES", "NO"]),
            timeout=15,
        )
        assert voted.answer == "YES"
    finally:
        # A download litellm starts after an answer (its usage and cost bookkeeping) would hold
        # up the shutdown too.
        assert process.stop() == 0
    assert hole.attempts == 0, "something in the ensemble tried to reach the internet"
