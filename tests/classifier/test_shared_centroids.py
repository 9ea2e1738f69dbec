"""Centroids shared by every classifier replica through learning: a set fitted on one replica
is used by the others within the poll interval and by a replica started later, each prompt
lands in the same cluster on every replica, and a fit that learning cannot store is refused
rather than used by one replica alone."""

from __future__ import annotations

import grpc
import pytest

from freescaling.classifier.v1 import classifier_pb2, classifier_pb2_grpc
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc
from tests.classifier.conftest import start_classifier
from tests.classifier.test_clusters import TEXTS
from tests.support.processes import ServiceProcess, wait_for


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, classifier_checkpoint):
    root = tmp_path_factory.mktemp("shared-centroids")
    learning = ServiceProcess("learning", root / "learning").start().wait_serving().wait_ready()

    def classifier(name: str) -> ServiceProcess:
        return start_classifier(
            root / name,
            env={
                "FREESCALING_CLASSIFIER_MODEL": str(classifier_checkpoint),
                "FREESCALING_CLASSIFIER_LEARNING_ADDR": learning.address,
                "FREESCALING_CLASSIFIER_CENTROIDS_POLL_S": "0.3",
                # A file that must stay unused: learning keeps the centroids.
                "FREESCALING_CLASSIFIER_CENTROIDS": str(root / name / "unused.safetensors"),
            },
        )

    started = {"learning": learning, "a": classifier("a"), "b": classifier("b")}
    for name in ("a", "b"):
        started[name].wait_ready(timeout=90)
    started["start"] = classifier  # for a replica started later
    yield started
    for name in ("a", "b", "c"):
        if name in started:
            assert started[name].stop() == 0
    learning.stop()


def _stub(process: ServiceProcess) -> classifier_pb2_grpc.ClassifierStub:
    return classifier_pb2_grpc.ClassifierStub(process.channel())


def _set_id(process: ServiceProcess) -> str:
    try:
        reply = _stub(process).GetClusters(classifier_pb2.GetClustersRequest(), timeout=10)
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.NOT_FOUND, exc.details()
        return ""
    return reply.cluster_set.id


def _clusters(process: ServiceProcess) -> list[int]:
    reply = _stub(process).ClassifyBatch(
        classifier_pb2.ClassifyBatchRequest(texts=TEXTS), timeout=60
    )
    assert all(c.HasField("cluster_id") for c in reply.classifications)
    return [c.cluster_id for c in reply.classifications]


def test_a_set_fitted_on_one_replica_is_used_by_every_replica(replicas):
    a, b = replicas["a"], replicas["b"]
    with pytest.raises(grpc.RpcError) as err:
        _stub(b).GetClusters(classifier_pb2.GetClustersRequest(), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert err.value.details() == (
        "no centroids for this embedder in learning yet: fit them with FitClusters"
    )

    fit = _stub(a).FitClusters(
        classifier_pb2.FitClustersRequest(texts=TEXTS, k=3, seed=7), timeout=60
    )
    assert fit.path == ""  # kept by learning, not in a file
    assert not (a.workdir / "unused.safetensors").exists()
    wait_for(lambda: _set_id(b) == fit.cluster_set.id, timeout=15, what="b to load a's set")
    assert _clusters(a) == _clusters(b) == list(fit.assignments)

    # Learning has the centroids themselves, as fitted.
    stored = learning_pb2_grpc.LearningStub(replicas["learning"].channel()).GetCentroids(
        learning_pb2.GetCentroidsRequest(model_fingerprint=fit.cluster_set.model_fingerprint),
        timeout=10,
    )
    assert stored.cluster_set.id == fit.cluster_set.id
    mine = _stub(a).GetClusters(
        classifier_pb2.GetClustersRequest(include_centroids=True), timeout=10
    )
    assert list(stored.centroids) == list(mine.centroids)

    # A refit on the other replica (another k) replaces the set everywhere.
    refit = _stub(b).FitClusters(
        classifier_pb2.FitClustersRequest(texts=TEXTS, k=2, seed=1), timeout=60
    )
    assert refit.cluster_set.id != fit.cluster_set.id
    wait_for(lambda: _set_id(a) == refit.cluster_set.id, timeout=15, what="a to load b's set")
    assert _clusters(a) == _clusters(b) == list(refit.assignments)


def test_a_replica_started_later_loads_the_set_at_start(replicas):
    in_use = _set_id(replicas["a"])
    assert in_use
    replicas["c"] = replicas["start"]("c").wait_ready(timeout=90)
    # Loaded before it turned ready, not at its first poll.
    assert _set_id(replicas["c"]) == in_use
    assert any(
        f"centroids {in_use} (k=2) loaded from learning" in r["message"]
        for r in replicas["c"].log_records()
    )


def test_without_learning_a_fit_is_refused_and_the_set_in_use_stays(replicas):
    a = replicas["a"]
    in_use = _set_id(a)
    assert replicas["learning"].stop() == 0
    with pytest.raises(grpc.RpcError) as err:
        _stub(a).FitClusters(
            classifier_pb2.FitClustersRequest(texts=TEXTS, k=3, seed=2), timeout=60
        )
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    details = err.value.details()
    assert f"the learning service ({replicas['learning'].address}, " in details
    assert "FREESCALING_CLASSIFIER_LEARNING_ADDR) could not store the fitted centroids" in details
    assert details.endswith("the fitted centroids are not in use, retry FitClusters")
    # Polls fail now; the replica keeps the set it had, so cluster ids do not change.
    assert _set_id(a) == in_use
    assert (
        _stub(a)
        .Classify(classifier_pb2.ClassifyRequest(text="hi"), timeout=30)
        .classification.HasField("cluster_id")
    )
