"""The learning service as the classifier's centroid store, so that every replica assigns a
prompt to the same cluster: FitClusters stores the set it fitted there, and each replica asks
for the newest set of its model at start and then every FREESCALING_CLASSIFIER_CENTROIDS_POLL_S
(the centroids travel only when the set changed). The classifier never touches the database:
it only calls learning's StoreCentroids and GetCentroids."""

from __future__ import annotations

import grpc
import numpy as np
from google.protobuf.timestamp_pb2 import Timestamp

from freescaling.common.v1 import routing_pb2
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc
from services.classifier.centroids import CentroidsError, CentroidSet
from services.common.learning_channel import learning_channel

# Both calls are idempotent (a set is stored by its id), so UNAVAILABLE is retried; learning
# may run several replicas (on PostgreSQL), hence round_robin over its addresses.
_IDEMPOTENT = ("StoreCentroids", "GetCentroids")
# k x dim floats: 64 clusters of 768 dimensions are 200 KB; leave room for far more.
_MAX_MESSAGE = 64 * 1024 * 1024


class StoreUnavailable(RuntimeError):
    """Learning could not be reached or refused; the message names it and says what to do."""


class SharedCentroids:
    def __init__(self, target: str, timeout_s: float = 10.0) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self._channel = learning_channel(target, _IDEMPOTENT, _MAX_MESSAGE)
        self._stub = learning_pb2_grpc.LearningStub(self._channel)

    def _unavailable(self, what: str, exc: grpc.aio.AioRpcError) -> StoreUnavailable:
        return StoreUnavailable(
            f"the learning service ({self.target}, FREESCALING_CLASSIFIER_LEARNING_ADDR) could "
            f"not {what}: {exc.code().name}: {exc.details()}"
        )

    async def newest(
        self, model_fingerprint: str, dim: int, known: CentroidSet | None
    ) -> CentroidSet | None:
        """The newest set stored for this embedder: `known` itself when it still is, None when
        none is stored. StoreUnavailable when learning cannot say; CentroidsError when what it
        holds cannot be used with this embedder."""
        request = learning_pb2.GetCentroidsRequest(
            model_fingerprint=model_fingerprint, known_id=known.id if known else ""
        )
        try:
            reply = await self._stub.GetCentroids(request, timeout=self.timeout_s)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise self._unavailable("give the centroids", exc) from None
        meta = reply.cluster_set
        if known is not None and meta.id == known.id:
            return known
        if meta.dim != dim or len(reply.centroids) != meta.k * meta.dim:
            raise CentroidsError(
                f"learning's centroid set {meta.id!r} holds {len(reply.centroids)} values for "
                f"k={meta.k} x dim={meta.dim}; this embedder's embeddings have {dim} dimensions"
            )
        cset = CentroidSet(
            centroids=np.asarray(reply.centroids, dtype=np.float32).reshape(meta.k, meta.dim),
            model_fingerprint=meta.model_fingerprint,
            seed=meta.seed,
            sizes=[int(s) for s in meta.sizes],
            fitted_at=meta.fitted_at.ToNanoseconds() / 1e9,
        )
        # The id is a digest of the fingerprint and the centroids: a set that does not match
        # its id was damaged on the way or in storage, and is not used.
        if cset.id != meta.id:
            raise CentroidsError(
                f"learning's centroid set {meta.id!r} does not match its own digest "
                f"({cset.id!r}); refit with FitClusters"
            )
        return cset

    async def store(self, cset: CentroidSet) -> None:
        """Store `cset` as the newest set of its model."""
        fitted = Timestamp()
        fitted.FromNanoseconds(int(cset.fitted_at * 1e9))
        meta = routing_pb2.ClusterSet(
            id=cset.id,
            k=cset.k,
            dim=cset.dim,
            model_fingerprint=cset.model_fingerprint,
            seed=cset.seed,
            sizes=cset.sizes,
            fitted_at=fitted,
        )
        request = learning_pb2.StoreCentroidsRequest(
            cluster_set=meta, centroids=cset.centroids.reshape(-1).tolist()
        )
        try:
            await self._stub.StoreCentroids(request, timeout=self.timeout_s)
        except grpc.aio.AioRpcError as exc:
            raise self._unavailable("store the fitted centroids", exc) from None

    async def close(self) -> None:
        await self._channel.close()
