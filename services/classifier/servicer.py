"""The classifier's RPC surface: validates requests, maps the runtime's errors to status codes
with actionable messages, and turns results into protobuf."""

from __future__ import annotations

import logging

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from freescaling.classifier.v1 import classifier_pb2, classifier_pb2_grpc
from freescaling.common.v1 import classification_pb2, info_pb2, routing_pb2
from services.classifier.config import ClassifierSettings
from services.classifier.runtime import (
    ClassifierRuntime,
    InvalidInput,
    NotReady,
    TooMany,
    WrongSpace,
)
from services.classifier.shared_centroids import StoreUnavailable
from services.common.capabilities import with_capabilities
from services.common.health import Health
from services.common.info import service_info

logger = logging.getLogger(__name__)

SERVICE = classifier_pb2.DESCRIPTOR.services_by_name["Classifier"]
NOT_BUILT: dict[str, str] = {}

_TIERS = {
    "": classification_pb2.TIER_UNSPECIFIED,  # no checkpoint: no tier
    "simple": classification_pb2.TIER_SIMPLE,
    "medium": classification_pb2.TIER_MEDIUM,
    "complex": classification_pb2.TIER_COMPLEX,
}
_SCORINGS = {
    classification_pb2.TIER_SCORING_UNSPECIFIED: None,
    classification_pb2.TIER_SCORING_COMPLEXITY: "complexity",
    classification_pb2.TIER_SCORING_COMPASS: "compass",
}
_SCORING_ENUM = {
    "complexity": classification_pb2.TIER_SCORING_COMPLEXITY,
    "compass": classification_pb2.TIER_SCORING_COMPASS,
}


# What a classification without the checkpoint's heads says: unknown, never a guess.
UNKNOWN_TASK = "Unknown"


def _classification(
    item, include_embedding: bool, unscored_reason: str = ""
) -> classification_pb2.Classification:
    out, s = item.output, item.output.scores
    if s is None:
        message = classification_pb2.Classification(
            task_type_1=UNKNOWN_TASK,
            task_type_2="NA",
            scoring=_SCORING_ENUM[item.scoring],
            truncated=out.truncated,
            token_count=out.token_count,
            unscored_reason=unscored_reason or "the classifier checkpoint is not loaded",
        )
        if out.cluster_id is not None:
            message.cluster_id = out.cluster_id
        if include_embedding:
            message.embedding.extend(out.embedding.tolist())
        return message
    message = classification_pb2.Classification(
        task_type_1=s.task_type_1,
        task_type_2=s.task_type_2,
        task_type_prob=s.task_type_prob,
        creativity_scope=s.creativity_scope,
        reasoning=s.reasoning,
        contextual_knowledge=s.contextual_knowledge,
        number_of_few_shots=s.number_of_few_shots,
        domain_knowledge=s.domain_knowledge,
        no_label_reason=s.no_label_reason,
        constraint_ct=s.constraint_ct,
        prompt_complexity_score=s.prompt_complexity_score,
        tier=_TIERS[item.tier],
        tier_score=item.tier_score,
        scoring=_SCORING_ENUM[item.scoring],
        tier_model=item.tier_model,
        truncated=out.truncated,
        token_count=out.token_count,
    )
    if out.cluster_id is not None:
        message.cluster_id = out.cluster_id
    if include_embedding:
        message.embedding.extend(out.embedding.tolist())
    return message


def _cluster_set(cset) -> routing_pb2.ClusterSet:
    fitted = Timestamp()
    fitted.FromNanoseconds(int(cset.fitted_at * 1e9))
    return routing_pb2.ClusterSet(
        id=cset.id,
        k=cset.k,
        dim=cset.dim,
        model_fingerprint=cset.model_fingerprint,
        seed=cset.seed,
        sizes=cset.sizes,
        fitted_at=fitted,
    )


async def _abort_for(exc: Exception, context) -> None:
    from services.classifier.batcher import BatcherClosed, QueueFull

    if isinstance(exc, InvalidInput):
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
    if isinstance(exc, WrongSpace):
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
    if isinstance(exc, QueueFull | TooMany):
        await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
    if isinstance(exc, NotReady | BatcherClosed | StoreUnavailable):
        await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
    raise exc


def _scoring(value: int) -> str | None:
    if value not in _SCORINGS:
        raise InvalidInput(f"unknown scoring {value}; use TIER_SCORING_COMPLEXITY or _COMPASS")
    return _SCORINGS[value]


@with_capabilities(SERVICE, NOT_BUILT)
class ClassifierServicer(classifier_pb2_grpc.ClassifierServicer):
    def __init__(
        self, settings: ClassifierSettings, health: Health, runtime: ClassifierRuntime
    ) -> None:
        self.settings, self.health, self.runtime = settings, health, runtime

    async def Classify(self, request, context):
        try:
            (item,) = await self.runtime.classify([request.text], _scoring(request.scoring))
        except Exception as exc:
            await _abort_for(exc, context)
        return classifier_pb2.ClassifyResponse(
            classification=_classification(item, request.include_embedding, self.runtime.status)
        )

    async def ClassifyBatch(self, request, context):
        try:
            items = await self.runtime.classify(list(request.texts), _scoring(request.scoring))
        except Exception as exc:
            await _abort_for(exc, context)
        reply = classifier_pb2.ClassifyBatchResponse(
            classifications=[
                _classification(i, request.include_embedding, self.runtime.status) for i in items
            ]
        )
        if request.include_embedding:
            reply.model_fingerprint = self.runtime.space.id
        return reply

    async def Embed(self, request, context):
        try:
            outputs = await self.runtime.embed(list(request.texts))
        except Exception as exc:
            await _abort_for(exc, context)
        space = self.runtime.space
        return classifier_pb2.EmbedResponse(
            embeddings=[
                classifier_pb2.Embedding(values=o.embedding.tolist(), truncated=o.truncated)
                for o in outputs
            ],
            dim=space.dim,
            model_fingerprint=space.id,
        )

    async def FitClusters(self, request, context):
        try:
            fit = await self.runtime.fit_clusters(
                list(request.texts),
                request.k,
                request.seed,
                request.max_iter,
                vectors=[list(e.values) for e in request.embeddings],
                embedder=request.model_fingerprint,
            )
        except Exception as exc:
            await _abort_for(exc, context)
        return classifier_pb2.FitClustersResponse(
            cluster_set=_cluster_set(fit.cluster_set),
            assignments=fit.assignments,
            inertia=fit.inertia,
            iterations=fit.iterations,
            path=str(fit.path) if fit.path else "",
        )

    async def GetClusters(self, request, context):
        try:
            cset = self.runtime.clusters()
        except LookupError as exc:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(exc.args[0]))
        except Exception as exc:
            await _abort_for(exc, context)
        reply = classifier_pb2.GetClustersResponse(cluster_set=_cluster_set(cset))
        if request.include_centroids:
            reply.centroids.extend(cset.centroids.reshape(-1).tolist())
        return reply

    async def GetInfo(self, request, context) -> info_pb2.ServiceInfo:
        info = service_info("classifier", SERVICE, NOT_BUILT, self.health, self.settings)
        # What the settings alone cannot say: where the model runs and why it is not ready.
        info.settings["effective_device"] = self.runtime.device or "(not loaded)"
        runtime = self.runtime
        info.settings["model_status"] = runtime.status
        info.settings["embedder_status"] = runtime.embedder_status
        if runtime.engine is not None:
            info.settings["model_fingerprint"] = runtime.engine.fingerprint
        if runtime.space is not None:
            info.settings["embedder_id"] = runtime.space.id
            info.settings["embedding_dim"] = str(runtime.space.dim)
        if runtime.degraded:
            info.settings["degraded"] = runtime.degraded
        return info
