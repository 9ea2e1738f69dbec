"""The classifier's output cache (FREESCALING_CLASSIFIER_OUTPUT_CACHE): a text classified again
is answered exactly as before without a forward pass; the least recently used text goes first."""

from __future__ import annotations

import pytest

from freescaling.classifier.v1 import classifier_pb2, classifier_pb2_grpc
from tests.classifier.conftest import start_classifier
from tests.support.metrics import scrape, total


@pytest.fixture(scope="module")
def cached(tmp_path_factory, classifier_checkpoint):
    workdir = tmp_path_factory.mktemp("classifier-cache")
    service = start_classifier(
        workdir,
        env={
            "FREESCALING_CLASSIFIER_MODEL": str(classifier_checkpoint),
            "FREESCALING_CLASSIFIER_CENTROIDS": str(workdir / "centroids.safetensors"),
            "FREESCALING_CLASSIFIER_OUTPUT_CACHE": "2",
        },
    ).wait_ready(timeout=90)
    yield service
    assert service.stop() == 0


def passes(service) -> float:
    return total(scrape(service), "freescaling_classifier_batch_size_count")


def classify(stub, text: str) -> classifier_pb2.ClassifyResponse:
    request = classifier_pb2.ClassifyRequest(text=text, include_embedding=True)
    return stub.Classify(request, timeout=30)


def test_a_repeat_is_answered_as_before_without_a_pass_and_the_oldest_goes_first(cached):
    stub = classifier_pb2_grpc.ClassifierStub(cached.channel())
    first = classify(stub, "Is 91 a prime number?")
    before = passes(cached)
    again = classify(stub, "Is 91 a prime number?")
    assert passes(cached) == before
    assert again.classification == first.classification
    # Two more texts push the first out (the cache keeps two): it takes a pass again.
    classify(stub, "Write a haiku about queues.")
    classify(stub, "Summarise the meeting notes.")
    before = passes(cached)
    third = classify(stub, "Is 91 a prime number?")
    assert passes(cached) > before
    assert third.classification == first.classification
