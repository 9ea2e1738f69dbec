"""Which single model answers a prompt: the classifier names its tier, task type and cluster;
learning's profiles rank candidates for that cluster (psi + lambda * cost) when profiles exist;
otherwise the classifier's tier map names the model. When the classifier cannot be reached the
configured fallback model answers, and the routing details say so. Only models the ensemble can
call now are routed to: a tier-map or fallback model that is dead or without its credentials
gives way to a live model of the same latency class (else the cheapest live one)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence

from freescaling.classifier.v1 import classifier_pb2
from freescaling.common.v1 import (
    classification_pb2,
    models_pb2,
    ratings_pb2,
    records_pb2,
    routing_pb2,
    voting_pb2,
)
from freescaling.learning.v1 import learning_pb2
from services.common.standing import standing
from services.common.weighing import Standing
from services.gateway.deadline import Deadline
from services.gateway.downstream import DownstreamError, Downstreams

logger = logging.getLogger(__name__)


# How long the ensemble's list of live models is reused (a model's death shows within this).
LIVE_TTL_S = 2.0

# The registry's latency class that serves each prompt tier.
MODEL_TIER_FOR = {
    classification_pb2.TIER_SIMPLE: models_pb2.MODEL_TIER_FAST,
    classification_pb2.TIER_MEDIUM: models_pb2.MODEL_TIER_MEDIUM,
    classification_pb2.TIER_COMPLEX: models_pb2.MODEL_TIER_THINKING,
}


def requested_lambda(request) -> float | None:
    """A Route or Chat request's cost weight, None when unset. ValueError (its message for
    the caller) when negative or not finite: a negative weight would prefer dearer models."""
    if not request.HasField("lambda"):
        return None
    lam = getattr(request, "lambda")  # a Python keyword
    if not math.isfinite(lam) or lam < 0:
        raise ValueError(
            f"lambda must be a finite number, 0 or more (0 routes on error rate alone); got {lam}"
        )
    return lam


# How long a record waits for its classification after the answer (below the 5 s feedback
# waits for a record, so that a user reacting at once still finds the call).
CLASSIFY_AFTER_S = 2.0


class Router:
    def __init__(
        self,
        downstreams: Downstreams,
        fallback_model: str,
        default_lambda: float,
        elo_min_calls: int = 30,
    ) -> None:
        self.downstreams = downstreams
        self.fallback_model = fallback_model
        self.default_lambda = default_lambda
        self.elo_min_calls = elo_min_calls
        # (when listed, live aliases, routing cost of every live model)
        self._live: tuple[float, frozenset[str], dict[str, float]] | None = None
        # The latency class of every live model, in registry order (from the same listing).
        self._tiers: dict[str, int] = {}

    async def _listed(self, deadline: Deadline) -> tuple[frozenset[str], dict[str, float]] | None:
        now = time.monotonic()
        if self._live is not None and now - self._live[0] < LIVE_TTL_S:
            return self._live[1], self._live[2]
        try:
            listed = await self.downstreams.call(
                "ensemble", "ListModels", models_pb2.ListModelsRequest(live_only=True), deadline
            )
        except DownstreamError as exc:
            logger.info("no live-model list for routing (%s)", exc.message)
            return None
        live = frozenset(m.alias for m in listed.models)
        self._live = (now, live, {m.alias: m.routing_cost for m in listed.models})
        self._tiers = {m.alias: m.tier for m in listed.models}
        return live, self._live[2]

    async def live_models(self, deadline: Deadline) -> frozenset[str] | None:
        """The registry's models the ensemble does not hold dead, cached for LIVE_TTL_S; None
        when the ensemble cannot say (routing then goes on without the filter)."""
        listed = await self._listed(deadline)
        return None if listed is None else listed[0]

    async def callable_instead(self, model: str, deadline: Deadline, tier: int = 0) -> str:
        """`model` when the ensemble can call it (or cannot say); otherwise a live model of
        `tier` (the latency class), else the cheapest live one; empty when none is live."""
        listed = await self._listed(deadline)
        if listed is None or model in listed[0]:
            return model
        live, costs = listed
        same = [a for a, t in self._tiers.items() if tier and t == tier and a in live]
        if same:
            return same[0]
        return min(live, key=lambda a: (costs.get(a, 0.0), a)) if live else ""

    async def _answerable(
        self, info: routing_pb2.RoutingInfo, deadline: Deadline, tier: int = 0
    ) -> None:
        """Replace `info.model` by a model the ensemble can call, saying so in the reason."""
        instead = await self.callable_instead(info.model, deadline, tier)
        if instead and instead != info.model:
            info.reason += (
                f"; {info.model} cannot be called now (dead, or no credentials: see "
                f"`freescaling models`), {instead} instead"
            )
            info.model = instead

    async def classify(
        self, text: str, deadline: Deadline, scoring: int = 0
    ) -> tuple[classification_pb2.Classification | None, str]:
        """The classification, or None and why not."""
        try:
            reply = await self.downstreams.call(
                "classifier",
                "Classify",
                # The embedding lets learning compare the prompt with its nearest validation
                # items; it is dropped from the routing details once used.
                classifier_pb2.ClassifyRequest(text=text, scoring=scoring, include_embedding=True),
                deadline,
            )
        except DownstreamError as exc:
            logger.warning("classifier unavailable for routing: %s", exc.message)
            return None, exc.message
        return reply.classification, ""

    async def classify_into(self, record: records_pb2.CallRecord, text: str) -> None:
        """Put the prompt's classification in `record` (statistics by tier and task type count
        fixed-k calls too), after the answer went out and bounded by its own timeout;
        `record` stays as it is when the classifier cannot say in time."""
        try:
            reply = await self.downstreams.send(
                "classifier",
                "Classify",
                classifier_pb2.ClassifyRequest(text=text),
                CLASSIFY_AFTER_S,
            )
        except DownstreamError as exc:
            logger.info("call %s left unclassified: %s", record.call_id, exc.message)
            return
        record.routing.classification.CopyFrom(reply.classification)
        if not record.routing.reason:
            record.routing.reason = "classified after the answer, for statistics (not routed)"

    async def by_profile(
        self,
        classification: classification_pb2.Classification,
        candidates: Sequence[str],
        lam: float,
        deadline: Deadline,
    ) -> learning_pb2.RouteResponse:
        """Candidates ranked by learning's profiles; none when no profile exists or learning is
        away."""
        request = learning_pb2.RouteRequest(
            cluster_id=classification.cluster_id,
            candidates=list(candidates),
            embedding=classification.embedding,
            task_type=classification.task_type_1,
        )
        setattr(request, "lambda", lam)
        try:
            return await self.downstreams.call("learning", "Route", request, deadline)
        except DownstreamError as exc:
            logger.info("no profile routing (%s)", exc.message)
            return learning_pb2.RouteResponse()

    async def route(
        self,
        text: str,
        deadline: Deadline,
        *,
        candidates: Sequence[str] = (),
        lam: float | None = None,
        scoring: int = 0,
        keep_embedding: bool = False,
    ) -> routing_pb2.RoutingInfo:
        """How `text` is routed; `keep_embedding` leaves the prompt's embedding in the
        classification (the k=auto cascade asks learning with it, then drops it)."""
        started = time.perf_counter()
        lam = self.default_lambda if lam is None else lam
        classification, why_not = await self.classify(text, deadline, scoring)
        info = routing_pb2.RoutingInfo(**{"lambda": lam})
        if classification is None:
            info.method = routing_pb2.ROUTING_METHOD_FALLBACK
            info.model = candidates[0] if candidates else self.fallback_model
            info.reason = f"classifier unavailable ({why_not}); fallback model {info.model}"
            if not candidates:
                await self._answerable(info, deadline)
        else:
            ranked = learning_pb2.RouteResponse()
            dead: list[str] = []
            if classification.HasField("cluster_id"):
                # Dead models are skipped: only live ones are offered to profile routing.
                live = await self.live_models(deadline)
                allowed = list(candidates) if candidates else sorted(live or ())
                if live is not None:
                    dead = [c for c in allowed if c not in live]
                    allowed = [c for c in allowed if c in live]
                if allowed or live is None:
                    ranked = await self.by_profile(classification, allowed, lam, deadline)
            if not keep_embedding:
                classification.ClearField("embedding")
            info.classification.CopyFrom(classification)
            if ranked.candidates:
                best = ranked.candidates[0]
                info.method = routing_pb2.ROUTING_METHOD_PROFILE
                info.model = best.model
                info.candidates.extend(ranked.candidates)
                info.reason = (
                    f"cluster {classification.cluster_id}, psi by "
                    f"{ranked.estimator.description or 'profile'}: lowest psi + lambda*cost = "
                    f"{best.psi:.3f} + {lam:g}*{best.cost:g}"
                )
                if candidates and ranked.unprofiled:
                    info.reason += f"; not profiled, left out: {', '.join(ranked.unprofiled)}"
                if dead:
                    info.reason += f"; dead, skipped: {', '.join(dead)}"
            else:
                tier = (
                    classification_pb2.Tier.Name(classification.tier).removeprefix("TIER_").lower()
                )
                model = classification.tier_model
                if candidates and model not in candidates:
                    model = candidates[0]
                info.method = routing_pb2.ROUTING_METHOD_TIER
                info.model = model or self.fallback_model
                info.reason = f"tier {tier} -> {info.model}"
                if not candidates:
                    await self._answerable(
                        info, deadline, MODEL_TIER_FOR.get(classification.tier, 0)
                    )
        info.routing_latency_ms = (time.perf_counter() - started) * 1000
        return info

    async def prefer_elo(self, info: routing_pb2.RoutingInfo, deadline: Deadline) -> None:
        """For the k=auto cascade: replace a tier-map choice by the best-rated live model of the
        tier's latency class, among models with at least `elo_min_calls` calls; unchanged when
        none qualifies or a service cannot say."""
        if info.method != routing_pb2.ROUTING_METHOD_TIER:
            return
        tier = MODEL_TIER_FOR.get(info.classification.tier)
        if tier is None:
            return
        try:
            listed = await self.downstreams.call(
                "ensemble",
                "ListModels",
                models_pb2.ListModelsRequest(tier=tier, live_only=True),
                deadline,
            )
            ranked = await self.downstreams.call(
                "learning",
                "GetRankings",
                ratings_pb2.RankingsRequest(
                    sort_by=ratings_pb2.RANKING_SORT_RATING, min_calls=self.elo_min_calls
                ),
                deadline,
            )
        except DownstreamError as exc:
            logger.info("no ELO preference (%s)", exc.message)
            return
        live = {m.alias for m in listed.models}
        best = next((r for r in ranked.ratings if r.model in live), None)
        if best is None:
            return
        info.method = routing_pb2.ROUTING_METHOD_ELO
        tier_name = models_pb2.ModelTier.Name(tier).removeprefix("MODEL_TIER_").lower()
        info.reason = (
            f"{info.reason}; best ELO among live {tier_name} models: {best.model} "
            f"({best.rating:.0f} over {best.answered} answered votes)"
        )
        info.model = best.model

    async def experts(
        self,
        routing: routing_pb2.RoutingInfo,
        candidates: Sequence[str],
        asked: Sequence[str],
        count: int,
        deadline: Deadline,
    ) -> list[learning_pb2.Expert] | None:
        """Learning's choice of `count` models for the prompt `routing` classified, among
        `candidates` and apart from `asked` (its expert rule); None when learning cannot say."""
        classification = routing.classification
        listed = await self._listed(deadline)
        request = learning_pb2.ExpertsRequest(
            candidates=list(candidates),
            asked=list(asked),
            count=count,
            embedding=classification.embedding,
            task_type=classification.task_type_1,
            min_calls=self.elo_min_calls,
            # The registry's routing costs: a model is never free for want of a profile.
            costs=listed[1] if listed else {},
            **{"lambda": getattr(routing, "lambda")},  # the routing decision's lambda
        )
        if classification.HasField("cluster_id"):
            request.cluster_id = classification.cluster_id
        try:
            reply = await self.downstreams.call("learning", "Experts", request, deadline)
        except DownstreamError as exc:
            logger.info("no expert choice from learning (%s)", exc.message)
            return None
        return list(reply.chosen)

    async def weigh(
        self,
        classification: classification_pb2.Classification,
        candidates: Sequence[str],
        deadline: Deadline,
    ) -> tuple[voting_pb2.Weighing, Standing | None] | None:
        """Learning's standing of the `candidates` (every profiled model when empty) on the
        prompt `classification` describes (its embedding kept), with the registry's routing
        costs where it has them, and the same as the weighing rule reads it (None when no
        candidate is profiled); None when learning cannot say, or says what a vote would
        refuse."""
        request = learning_pb2.WeighVotersRequest(
            candidates=list(candidates),
            embedding=classification.embedding,
            task_type=classification.task_type_1,
        )
        if classification.HasField("cluster_id"):
            request.cluster_id = classification.cluster_id
        try:
            reply = await self.downstreams.call("learning", "WeighVoters", request, deadline)
        except DownstreamError as exc:
            logger.info("no voter weights from learning (%s)", exc.message)
            return None
        try:
            found = standing(reply)
        except ValueError as exc:
            # The ensemble would refuse the vote; voting by count beats not voting.
            logger.warning("learning's voter weights are unusable, voting by count: %s", exc)
            return None
        listed = await self._listed(deadline)
        costs = listed[1] if listed else {}
        for voter in reply.voters:
            if costs.get(voter.model, 0.0) > 0:
                voter.cost = costs[voter.model]
        return reply, found
