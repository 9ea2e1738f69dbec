"""Centroid sets with their centroids, kept by learning for every classifier replica: stored
by id, the newest per classifier model returned, sent again only when it changed, on both
databases."""

from __future__ import annotations

import grpc

from freescaling.common.v1 import routing_pb2
from freescaling.learning.v1 import learning_pb2
from tests.learning.helpers import TIMEOUT, expect_error, unique

L = learning_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT


def _request(fingerprint: str, values: list[float], k: int = 2, dim: int = 3, set_id=""):
    meta = routing_pb2.ClusterSet(
        id=set_id or unique("set"), k=k, dim=dim, model_fingerprint=fingerprint, sizes=[1] * k
    )
    return L.StoreCentroidsRequest(cluster_set=meta, centroids=values)


def _store(stub, *args, **kwargs) -> routing_pb2.ClusterSet:
    return stub.StoreCentroids(_request(*args, **kwargs), timeout=TIMEOUT)


def test_the_newest_set_of_a_model_comes_back_with_its_centroids(stub):
    model = unique("model")
    first = _store(stub, model, [0.5, 1, 2, 3, 4, 5.25])
    got = stub.GetCentroids(L.GetCentroidsRequest(model_fingerprint=model), timeout=TIMEOUT)
    assert got.cluster_set.id == first.id and got.cluster_set.dim == 3
    assert list(got.centroids) == [0.5, 1, 2, 3, 4, 5.25]
    second = _store(stub, model, [9, 8, 7, 6, 5, 4])
    got = stub.GetCentroids(
        L.GetCentroidsRequest(model_fingerprint=model, known_id=first.id), timeout=TIMEOUT
    )
    assert got.cluster_set.id == second.id and list(got.centroids) == [9, 8, 7, 6, 5, 4]
    # The caller has the newest: only the metadata travels.
    got = stub.GetCentroids(
        L.GetCentroidsRequest(model_fingerprint=model, known_id=second.id), timeout=TIMEOUT
    )
    assert got.cluster_set.id == second.id and not got.centroids
    # Fitted again to the first set's centroids: that set is the one in use again.
    _store(stub, model, [0.5, 1, 2, 3, 4, 5.25], set_id=first.id)
    got = stub.GetCentroids(L.GetCentroidsRequest(model_fingerprint=model), timeout=TIMEOUT)
    assert got.cluster_set.id == first.id
    # Another model's sets are not this one's.
    other = unique("model")
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        f"no centroids are stored for embedder {other!r}; fit them with the "
        "classifier's FitClusters",
        stub.GetCentroids,
        L.GetCentroidsRequest(model_fingerprint=other),
    )


def test_a_set_recorded_by_metadata_only_is_not_a_centroid_set(stub):
    model = unique("model")
    stub.RecordClusterSet(
        routing_pb2.ClusterSet(id=unique("set"), k=2, dim=3, model_fingerprint=model),
        timeout=TIMEOUT,
    )
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        "no centroids are stored",
        stub.GetCentroids,
        L.GetCentroidsRequest(model_fingerprint=model),
    )
    # And the stored set is usable by profiles like any recorded one.
    stored = _store(stub, model, [0.0] * 6)
    stub.RecordClusterSet(stored, timeout=TIMEOUT)


def test_a_set_recorded_by_metadata_then_stored_with_centroids_keeps_its_id(stub):
    model, set_id = unique("model"), unique("set")
    stub.RecordClusterSet(
        routing_pb2.ClusterSet(id=set_id, k=2, model_fingerprint=model, sizes=[4, 5], seed=9),
        timeout=TIMEOUT,
    )
    stored = _store(stub, model, [0.5] * 6, set_id=set_id)
    # The centroids bring the dim; the recorded sizes and seed stay.
    assert (stored.id, stored.dim, list(stored.sizes), stored.seed) == (set_id, 3, [4, 5], 9)
    got = stub.GetCentroids(L.GetCentroidsRequest(model_fingerprint=model), timeout=TIMEOUT)
    assert (got.cluster_set.id, list(got.centroids)) == (set_id, [0.5] * 6)
    # Metadata again changes nothing, and still refuses another k.
    assert stub.RecordClusterSet(stored, timeout=TIMEOUT) == stored
    expect_error(
        INVALID,
        f"cluster set {set_id!r} is already recorded with k=2, not 3",
        stub.RecordClusterSet,
        routing_pb2.ClusterSet(id=set_id, k=3),
    )


def test_bad_centroids_are_refused_naming_what_is_wrong(stub):
    model = unique("model")

    def refused(fragment: str, request) -> None:
        expect_error(INVALID, fragment, stub.StoreCentroids, request)

    refused("5 centroid values for k=2 x dim=3 (expected 6)", _request(model, [0.0] * 5))
    refused("model_fingerprint is empty", _request("", [0.0] * 6))
    refused("both must be 1 or more", _request(model, [], k=0))
    expect_error(INVALID, "model_fingerprint is empty", stub.GetCentroids, L.GetCentroidsRequest())
    stored = _store(stub, model, [0.0] * 6)
    refused(
        f"cluster set {stored.id!r} is already recorded with k=2, dim=3, not k=3, dim=2",
        _request(model, [0.0] * 6, k=3, dim=2, set_id=stored.id),
    )
