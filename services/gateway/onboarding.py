"""UniRoute onboarding and the capability map: models join the routable pool without retraining.
The labelled items are classified and embedded by the classifier once (centroids are fitted on
those embeddings when none exist), answered by each model through the ensemble `trials` times,
graded with the ensemble's answer parser (its parsed answer against the label; an abstention or
a failure is wrong), and each model's graded answers, with the items' embeddings, are stored in
learning as its profile. A model is never graded on another model's answers: when the ensemble
substitutes a dead model, the onboarding of that model stops with FAILED_PRECONDITION and
nothing of it is stored. Progress streams back; the last message carries the profile (one model)
or the capability map (several)."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc

from freescaling.classifier.v1 import classifier_pb2
from freescaling.common.v1 import models_pb2, routing_pb2
from freescaling.ensemble.v1 import ensemble_pb2
from freescaling.gateway.v1 import gateway_pb2
from freescaling.learning.v1 import learning_pb2
from services.gateway.deadline import Deadline
from services.gateway.downstream import DownstreamError, Downstreams

# Texts per ClassifyBatch call: well under the classifier's batch limit.
CLASSIFY_CHUNK = 64
# Items per ensemble ScaleBatch: under the ensemble's batch limit
# (FREESCALING_ENSEMBLE_MAX_BATCH_ITEMS, 1000 by default).
ENSEMBLE_CHUNK = 500
# Embeddings per RecordValidation request (768 floats each: about 3 KB), under the message limit.
EMBEDDINGS_CHUNK = 1000


@dataclass
class _Grades:
    alias: str
    progress: gateway_pb2.ModelProgress
    graded: list[learning_pb2.GradedItem] = field(default_factory=list)


class Onboarding:
    def __init__(self, downstreams: Downstreams, clusters_k: int, concurrency: int) -> None:
        self.downstreams, self.clusters_k, self.concurrency = downstreams, clusters_k, concurrency

    async def _register(self, request: gateway_pb2.OnboardModelRequest, deadline: Deadline) -> None:
        if not request.model.litellm_model:
            return  # the registry knows it already (ScaleBatch says NOT_FOUND otherwise)
        model = models_pb2.ModelInfo()
        model.CopyFrom(request.model)
        model.alias = request.alias
        # The same entry again is a no-op; another definition under a known alias is refused
        # (ALREADY_EXISTS reaches the caller): profiling it would grade a different model.
        await self.downstreams.call(
            "ensemble", "RegisterModel", ensemble_pb2.RegisterModelRequest(model=model), deadline
        )

    async def _current_set(self, deadline: Deadline):
        """The centroid set in use; None while the classifier has none."""
        try:
            reply = await self.downstreams.call(
                "classifier", "GetClusters", classifier_pb2.GetClustersRequest(), deadline
            )
        except DownstreamError as exc:
            if exc.code != grpc.StatusCode.NOT_FOUND:
                raise
            return None
        return reply.cluster_set

    async def _fit(self, classified, embedder: str, deadline: Deadline):
        """A centroid set fitted on the classified questions' own embeddings (no second
        embedding pass), and its assignments: another classifier replica may not have loaded
        the new set yet when the questions were classified."""
        fitted = await self.downstreams.call(
            "classifier",
            "FitClusters",
            classifier_pb2.FitClustersRequest(
                embeddings=[classifier_pb2.Embedding(values=c.embedding) for c in classified],
                model_fingerprint=embedder,
                k=min(self.clusters_k, len(classified)),
                seed=0,
            ),
            deadline,
        )
        return fitted.cluster_set, list(fitted.assignments)

    async def _classify(self, questions: list[str], deadline: Deadline):
        """The questions' classifications (with embeddings) and the embedder's id."""
        classifications, embedder = [], ""
        for start in range(0, len(questions), CLASSIFY_CHUNK):
            reply = await self.downstreams.call(
                "classifier",
                "ClassifyBatch",
                classifier_pb2.ClassifyBatchRequest(
                    texts=questions[start : start + CLASSIFY_CHUNK], include_embedding=True
                ),
                deadline,
            )
            classifications.extend(reply.classifications)
            if embedder and reply.model_fingerprint != embedder:
                raise DownstreamError(
                    grpc.StatusCode.UNAVAILABLE,
                    "classifier replicas embed with different embedders "
                    f"({embedder} and {reply.model_fingerprint}); retry once the rollout ends",
                )
            embedder = reply.model_fingerprint
        return classifications, embedder

    async def _routing_costs(self, deadline: Deadline) -> dict[str, float]:
        listed = await self.downstreams.call(
            "ensemble", "ListModels", models_pb2.ListModelsRequest(), deadline
        )
        return {m.alias: m.routing_cost for m in listed.models}

    async def _answers(
        self, grades: _Grades, items, patterns, trials, concurrency, classified, deadline: Deadline
    ):
        """Ask the model every item `trials` times; yields after each graded answer."""
        alias = grades.alias
        asked = [
            ensemble_pb2.ScaleItem(
                question=i.question,
                context=i.context,
                answer_patterns=list(i.answer_patterns or patterns),
            )
            for i in items
        ]
        for trial in range(trials):
            for first in range(0, len(asked), ENSEMBLE_CHUNK):
                batch = ensemble_pb2.ScaleBatchRequest(
                    items=asked[first : first + ENSEMBLE_CHUNK],
                    k=1,
                    models=[alias],
                    max_concurrency=concurrency or self.concurrency,
                    no_shadow=True,
                )
                async for answer in self.downstreams.stream(
                    "ensemble", "ScaleBatch", batch, deadline
                ):
                    self._grade(grades, items, first + answer.index, answer, trial, classified)
                    yield

    @staticmethod
    def _grade(grades: _Grades, items, index: int, answer, trial: int, classified) -> None:
        """Grade one answer of the model onboarded: its parsed answer against the label."""
        alias = grades.alias
        item = items[index]
        result = answer.result if answer.HasField("result") else None
        vote = result.votes[0] if result is not None and result.votes else None
        if vote is not None and (vote.model != alias or vote.substituted_for):
            raise DownstreamError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"{alias} is dead: {vote.model} answered in its place, so its answers "
                f"would not be {alias}'s; onboarding of {alias} stopped and nothing of "
                "it was stored (probe it with Health, retry once it answers)",
            )
        failed = result is None or vote is None or bool(vote.error)
        correct = result is not None and result.answer.casefold() == item.label.casefold()
        grades.progress.done += 1
        grades.progress.correct += int(correct)
        grades.progress.errors += int(failed)
        grades.graded.append(
            learning_pb2.GradedItem(
                item_id=item.item_id or str(index),
                cluster_id=classified[index].cluster_id,
                task_type=classified[index].task_type_1,
                correct=correct,
                trial=trial,
                answer=result.answer if result is not None else "",
            )
        )

    async def _store(
        self, grades: _Grades, cluster_set, embeddings, cost, replace, deadline: Deadline
    ):
        """The model's graded answers and the items' embeddings, in requests under the message
        limit (the first one replaces an earlier profile when asked)."""
        profile = None
        chunks = [
            embeddings[i : i + EMBEDDINGS_CHUNK]
            for i in range(0, len(embeddings), EMBEDDINGS_CHUNK)
        ]
        for n, chunk in enumerate(chunks or [[]]):
            profile = await self.downstreams.call(
                "learning",
                "RecordValidation",
                learning_pb2.RecordValidationRequest(
                    model=grades.alias,
                    cluster_set_id=cluster_set.id,
                    items=grades.graded if n == 0 else [],
                    routing_cost=cost,
                    replace=replace and n == 0,
                    embeddings=chunk,
                ),
                deadline,
            )
        return profile

    async def _run(
        self, aliases, items, patterns, trials, concurrency, replace, deadline: Deadline
    ):
        """Yields (grades per model) after each graded answer, then (grades, profiles, set)."""
        questions = [i.question for i in items]
        cluster_set, assignments = await self._current_set(deadline), None
        classified, embedder = await self._classify(questions, deadline)
        if cluster_set is None:
            cluster_set, assignments = await self._fit(classified, embedder, deadline)
        # Learning must know the set the profile's cluster ids refer to (idempotent by id).
        await self.downstreams.call("learning", "RecordClusterSet", cluster_set, deadline)
        if assignments is None:
            if not all(c.HasField("cluster_id") for c in classified):
                raise DownstreamError(
                    grpc.StatusCode.UNAVAILABLE,
                    f"a classifier replica has no centroids loaded yet (set {cluster_set.id} "
                    "is in use elsewhere); retry after FREESCALING_CLASSIFIER_CENTROIDS_POLL_S",
                )
        else:
            # The fit's own assignments: another replica may not have loaded the new set yet.
            for c, cluster in zip(classified, assignments, strict=True):
                c.cluster_id = cluster
        embeddings = [
            learning_pb2.ItemEmbedding(
                item_id=item.item_id or str(i), embedding=classified[i].embedding
            )
            for i, item in enumerate(items)
            if classified[i].embedding
        ]
        # Only the ids and labels travel on; the embeddings are stored once per set.
        for c in classified:
            c.ClearField("embedding")
        costs = await self._routing_costs(deadline)
        everyone = [_Grades(a, gateway_pb2.ModelProgress(model=a)) for a in aliases]
        profiles = []
        for grades in everyone:
            async for _ in self._answers(
                grades, items, patterns, trials, concurrency, classified, deadline
            ):
                yield everyone, None, None
            profiles.append(
                await self._store(
                    grades, cluster_set, embeddings, costs.get(grades.alias, 0.0), replace, deadline
                )
            )
        yield everyone, profiles, cluster_set

    async def onboard(self, request: gateway_pb2.OnboardModelRequest, deadline: Deadline):
        await self._register(request, deadline)
        trials = request.trials or 1
        progress = gateway_pb2.OnboardProgress(total=len(request.items) * trials)
        async for everyone, profiles, _ in self._run(
            [request.alias],
            list(request.items),
            list(request.answer_patterns),
            trials,
            request.max_concurrency,
            request.replace,
            deadline,
        ):
            mine = everyone[0].progress
            progress.done, progress.correct, progress.errors = mine.done, mine.correct, mine.errors
            if profiles is None:
                yield progress
                continue
            final = gateway_pb2.OnboardProgress()
            final.CopyFrom(progress)
            final.profile.CopyFrom(profiles[0])
            yield final

    async def profile(self, request: gateway_pb2.ProfileModelsRequest, deadline: Deadline):
        trials = request.trials or 1
        total = len(request.models) * len(request.items) * trials
        # About 200 progress messages however large the set.
        every = max(1, total // 200)
        async for everyone, profiles, cluster_set in self._run(
            list(request.models),
            list(request.items),
            list(request.answer_patterns),
            trials,
            request.max_concurrency,
            request.replace,
            deadline,
        ):
            done = sum(g.progress.done for g in everyone)
            if profiles is None and done % every and done != total:
                continue
            progress = gateway_pb2.ProfileProgress(
                done=done,
                total=total,
                models=[g.progress for g in everyone],
            )
            if profiles is not None:
                atlas = await self.downstreams.call(
                    "learning",
                    "GetCapabilityMap",
                    routing_pb2.GetCapabilityMapRequest(cluster_set_id=cluster_set.id),
                    deadline,
                )
                progress.capability_map.CopyFrom(atlas)
            yield progress
