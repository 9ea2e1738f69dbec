"""UniRoute onboarding: a new model joins the routable pool without retraining. Its labelled
items are clustered by the classifier (fitting centroids first when none exist), answered by the
model through the ensemble, graded with the ensemble's answer parser (its parsed answer against
the label; an abstention or a failure is wrong), and the per-cluster results are stored in
learning as the model's profile. Progress streams back; the last message carries the profile."""

from __future__ import annotations

import grpc

from freescaling.classifier.v1 import classifier_pb2
from freescaling.common.v1 import models_pb2
from freescaling.ensemble.v1 import ensemble_pb2
from freescaling.gateway.v1 import gateway_pb2
from freescaling.learning.v1 import learning_pb2
from services.gateway.downstream import DownstreamError, Downstreams

# Texts per ClassifyBatch call: well under the classifier's batch limit.
CLASSIFY_CHUNK = 64


class Onboarding:
    def __init__(self, downstreams: Downstreams, clusters_k: int, concurrency: int) -> None:
        self.downstreams, self.clusters_k, self.concurrency = downstreams, clusters_k, concurrency

    async def _register(self, request: gateway_pb2.OnboardModelRequest, context) -> None:
        if not request.model.litellm_model:
            return  # the registry knows it already (ScaleBatch says NOT_FOUND otherwise)
        model = models_pb2.ModelInfo()
        model.CopyFrom(request.model)
        model.alias = request.alias
        try:
            await self.downstreams.call(
                "ensemble", "RegisterModel", ensemble_pb2.RegisterModelRequest(model=model), context
            )
        except DownstreamError as exc:
            if exc.code != grpc.StatusCode.ALREADY_EXISTS:
                raise

    async def _cluster_set(self, questions: list[str], context):
        """The centroid set in use and, when it was fitted here on these questions, their
        cluster ids (the fit's own assignments: another classifier replica may not have
        loaded the new set yet when the questions are classified)."""
        assignments = None
        try:
            reply = await self.downstreams.call(
                "classifier", "GetClusters", classifier_pb2.GetClustersRequest(), context
            )
            cluster_set = reply.cluster_set
        except DownstreamError as exc:
            if exc.code != grpc.StatusCode.NOT_FOUND:
                raise
            fitted = await self.downstreams.call(
                "classifier",
                "FitClusters",
                classifier_pb2.FitClustersRequest(
                    texts=questions, k=min(self.clusters_k, len(questions)), seed=0
                ),
                context,
            )
            cluster_set, assignments = fitted.cluster_set, list(fitted.assignments)
        # Learning must know the set the profile's cluster ids refer to (idempotent by id).
        await self.downstreams.call("learning", "RecordClusterSet", cluster_set, context)
        return cluster_set, assignments

    async def _classify(self, questions: list[str], context):
        classifications = []
        for start in range(0, len(questions), CLASSIFY_CHUNK):
            reply = await self.downstreams.call(
                "classifier",
                "ClassifyBatch",
                classifier_pb2.ClassifyBatchRequest(
                    texts=questions[start : start + CLASSIFY_CHUNK]
                ),
                context,
            )
            classifications.extend(reply.classifications)
        return classifications

    async def _routing_cost(self, alias: str, context) -> float:
        listed = await self.downstreams.call(
            "ensemble", "ListModels", models_pb2.ListModelsRequest(), context
        )
        return next((m.routing_cost for m in listed.models if m.alias == alias), 0.0)

    async def onboard(self, request: gateway_pb2.OnboardModelRequest, context):
        items = list(request.items)
        trials = request.trials or 1
        questions = [i.question for i in items]
        await self._register(request, context)
        cluster_set, assignments = await self._cluster_set(questions, context)
        classifications = await self._classify(questions, context)
        if assignments is None:
            if not all(c.HasField("cluster_id") for c in classifications):
                raise DownstreamError(
                    grpc.StatusCode.UNAVAILABLE,
                    f"a classifier replica has no centroids loaded yet (set {cluster_set.id} "
                    "is in use elsewhere); retry after FREESCALING_CLASSIFIER_CENTROIDS_POLL_S",
                )
            assignments = [c.cluster_id for c in classifications]
        total = len(items) * trials
        progress = gateway_pb2.OnboardProgress(total=total)
        graded: list[learning_pb2.GradedItem] = []
        batch = ensemble_pb2.ScaleBatchRequest(
            items=[
                ensemble_pb2.ScaleItem(
                    question=i.question,
                    context=i.context,
                    answer_patterns=list(i.answer_patterns or request.answer_patterns),
                )
                for i in items
            ],
            k=1,
            models=[request.alias],
            max_concurrency=request.max_concurrency or self.concurrency,
            no_shadow=True,
        )
        for trial in range(trials):
            async for answer in self.downstreams.stream("ensemble", "ScaleBatch", batch, context):
                item = items[answer.index]
                result = answer.result if answer.HasField("result") else None
                failed = result is None or bool(result.votes and result.votes[0].error)
                correct = result is not None and result.answer.casefold() == item.label.casefold()
                progress.done += 1
                progress.correct += int(correct)
                progress.errors += int(failed)
                graded.append(
                    learning_pb2.GradedItem(
                        item_id=item.item_id or str(answer.index),
                        cluster_id=assignments[answer.index],
                        task_type=classifications[answer.index].task_type_1,
                        correct=correct,
                        trial=trial,
                    )
                )
                yield progress
        profile = await self.downstreams.call(
            "learning",
            "RecordValidation",
            learning_pb2.RecordValidationRequest(
                model=request.alias,
                cluster_set_id=cluster_set.id,
                items=graded,
                routing_cost=await self._routing_cost(request.alias, context),
                replace=request.replace,
            ),
            context,
        )
        final = gateway_pb2.OnboardProgress()
        final.CopyFrom(progress)
        final.profile.CopyFrom(profile)
        yield final
