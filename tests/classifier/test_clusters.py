"""Embeddings and clusters through gRPC: FitClusters is deterministic for a seed, saves its
centroids, and every classification carries its cluster from then on; centroids of another
model are refused at load."""

from __future__ import annotations

import grpc
import pytest

from freescaling.classifier.v1 import classifier_pb2, classifier_pb2_grpc
from tests.classifier.conftest import start_classifier

TEXTS = [
    "Write a Python function that sorts a list.",
    "Write a JavaScript function that reverses a string.",
    "Write a SQL query that counts the orders per customer.",
    "Compose a haiku about autumn leaves.",
    "Compose a short poem about the sea at night.",
    "Compose a limerick about a cat who likes coffee.",
    "What is the capital of France?",
    "What is the boiling point of water at sea level?",
    "What year did the Second World War end?",
]


def test_no_clusters_before_a_fit(stub):
    with pytest.raises(grpc.RpcError) as err:
        stub.GetClusters(classifier_pb2.GetClustersRequest(), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert err.value.details() == "no centroids yet: fit them with FitClusters"


def test_fit_is_deterministic_and_classifications_carry_the_cluster(stub, classifier):
    fit = lambda seed: stub.FitClusters(  # noqa: E731
        classifier_pb2.FitClustersRequest(texts=TEXTS, k=3, seed=seed), timeout=60
    )
    first, again, other = fit(7), fit(7), fit(8)
    assert first.cluster_set.id == again.cluster_set.id
    assert list(first.assignments) == list(again.assignments)
    assert first.inertia == pytest.approx(again.inertia)
    assert first.cluster_set.k == 3 and first.cluster_set.dim == 32  # the embedder's
    assert sum(first.cluster_set.sizes) == len(TEXTS)
    assert len(set(first.assignments)) == 3
    assert first.iterations >= 1
    assert other.cluster_set.seed == 8

    latest = fit(7)  # the set in use is the last one fitted
    current = stub.GetClusters(classifier_pb2.GetClustersRequest(include_centroids=True))
    assert current.cluster_set.id == latest.cluster_set.id
    assert len(current.centroids) == 3 * 32
    assert (
        current.cluster_set.model_fingerprint
        == stub.Embed(classifier_pb2.EmbedRequest(texts=["x"]), timeout=10).model_fingerprint
    )
    for text, cluster in zip(TEXTS, latest.assignments, strict=True):
        c = stub.Classify(classifier_pb2.ClassifyRequest(text=text), timeout=30).classification
        assert c.HasField("cluster_id")
        assert c.cluster_id == cluster
    assert latest.path.endswith("centroids.safetensors")


@pytest.mark.parametrize(
    ("k", "texts", "message"),
    [
        (0, TEXTS, "k must be at least 1, got 0"),
        (4, TEXTS[:3], "3 texts cannot make 4 clusters; send at least k"),
        (2, ["a", " "], "texts[1] is empty; send the prompt to classify"),
    ],
)
def test_bad_fits_are_invalid_argument(stub, k, texts, message):
    with pytest.raises(grpc.RpcError) as err:
        stub.FitClusters(classifier_pb2.FitClustersRequest(texts=texts, k=k), timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == message


def test_centroids_of_another_model_are_refused(stub, classifier, tmp_path):
    """A second process, another embedder, the first one's centroid file: refused, no
    cluster ids, and the log says why."""
    import subprocess
    import sys

    from tests.support.processes import ROOT

    stub.FitClusters(classifier_pb2.FitClustersRequest(texts=TEXTS, k=2, seed=1), timeout=60)
    other = tmp_path / "other"
    subprocess.run(
        [sys.executable, "-m", "services.classifier.tiny_embedder", str(other), "--seed", "5"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    centroids = classifier.env["FREESCALING_CLASSIFIER_CENTROIDS"]
    second = start_classifier(
        tmp_path,
        env={
            "FREESCALING_CLASSIFIER_EMBEDDER": str(other),
            "FREESCALING_CLASSIFIER_CENTROIDS": centroids,
        },
    ).wait_ready(timeout=90)
    try:
        other_stub = classifier_pb2_grpc.ClassifierStub(second.channel())
        with pytest.raises(grpc.RpcError) as err:
            other_stub.GetClusters(classifier_pb2.GetClustersRequest(), timeout=10)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        assert "was fitted with a different embedder" in err.value.details()
        assert centroids in err.value.details()
        c = other_stub.Classify(classifier_pb2.ClassifyRequest(text="hi"), timeout=30)
        assert not c.classification.HasField("cluster_id")
        assert any(
            "was fitted with a different embedder" in r["message"] for r in second.log_records()
        )
    finally:
        assert second.stop() == 0


def test_a_fit_over_embeddings_already_computed_is_the_fit_over_their_texts(stub):
    """Onboarding classifies its items once (with embeddings) and clusters those vectors."""
    batch = stub.ClassifyBatch(
        classifier_pb2.ClassifyBatchRequest(texts=TEXTS, include_embedding=True), timeout=30
    )
    assert batch.model_fingerprint.startswith("tiny-embedder:")
    vectors = [classifier_pb2.Embedding(values=c.embedding) for c in batch.classifications]
    from_texts = stub.FitClusters(
        classifier_pb2.FitClustersRequest(texts=TEXTS, k=3, seed=4), timeout=60
    )
    from_vectors = stub.FitClusters(
        classifier_pb2.FitClustersRequest(
            embeddings=vectors, model_fingerprint=batch.model_fingerprint, k=3, seed=4
        ),
        timeout=60,
    )
    assert list(from_vectors.assignments) == list(from_texts.assignments)
    assert from_vectors.cluster_set.model_fingerprint == batch.model_fingerprint


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (
            {"model_fingerprint": "other-embedder:0123"},
            grpc.StatusCode.FAILED_PRECONDITION,
            "the embeddings come from embedder 'other-embedder:0123'; this classifier embeds "
            "with 'tiny-embedder:",
        ),
        (
            {"short": True},
            grpc.StatusCode.INVALID_ARGUMENT,
            "embeddings[1] has 31 values; the embedder's have 32",
        ),
        ({"texts": TEXTS}, grpc.StatusCode.INVALID_ARGUMENT, "send texts or embeddings, not both"),
        ({"nan": True}, grpc.StatusCode.INVALID_ARGUMENT, "embeddings hold a NaN"),
    ],
    ids=["another embedder", "wrong width", "both", "nan"],
)
def test_a_fit_over_bad_embeddings_is_refused_saying_why(stub, change, code, message):
    reply = stub.Embed(classifier_pb2.EmbedRequest(texts=TEXTS[:3]), timeout=30)
    vectors = [list(e.values) for e in reply.embeddings]
    if change.get("short"):
        vectors[1] = vectors[1][:-1]
    if change.get("nan"):
        vectors[2][0] = float("nan")
    request = classifier_pb2.FitClustersRequest(
        embeddings=[classifier_pb2.Embedding(values=v) for v in vectors],
        model_fingerprint=change.get("model_fingerprint", reply.model_fingerprint),
        texts=change.get("texts", []),
        k=2,
    )
    with pytest.raises(grpc.RpcError) as err:
        stub.FitClusters(request, timeout=30)
    assert err.value.code() == code
    assert message in err.value.details()
