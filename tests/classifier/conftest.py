"""Fixtures for the classifier's tests: the session's small checkpoint (tests/conftest.py) and a
real classifier process serving it."""

from __future__ import annotations

import pytest

from freescaling.classifier.v1 import classifier_pb2_grpc
from tests.support.processes import ServiceProcess


def start_classifier(workdir, env: dict[str, str] | None = None) -> ServiceProcess:
    service = ServiceProcess("classifier", workdir, env=env)
    return service.start().wait_serving()


@pytest.fixture(scope="module")
def classifier(tmp_path_factory, classifier_checkpoint):
    """A classifier process on the small checkpoint, ready, with its own centroid file."""
    workdir = tmp_path_factory.mktemp("classifier-service")
    service = start_classifier(
        workdir,
        env={
            "FREESCALING_CLASSIFIER_MODEL": str(classifier_checkpoint),
            "FREESCALING_CLASSIFIER_CENTROIDS": str(workdir / "centroids.safetensors"),
            "FREESCALING_CLASSIFIER_BATCH_LIMIT": "16",
        },
    ).wait_ready(timeout=90)
    yield service
    assert service.stop() == 0


@pytest.fixture(scope="module")
def stub(classifier):
    return classifier_pb2_grpc.ClassifierStub(classifier.channel())
