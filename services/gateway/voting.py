"""Scale as the public API offers it: a fixed k on the champion (or default) panel, or k=auto,
the smart cascade: the expert learning's rule names (else the routed model) answers alone, and
the question goes to 3 votes when that model abstains, is not trusted enough, or the prompt is
complex, then to 5 when the 3 disagree, each escalation adding models that err apart from those
asked and carrying the votes already had. Every outcome is recorded through the outbox; the
answer never waits for learning, nor for a shadow challenger slower than the panel: the
ensemble's ScaleStream sends that one's vote later, and LateShadows records it with the call."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import grpc

from freescaling.common.v1 import classification_pb2, routing_pb2, voting_pb2
from freescaling.ensemble.v1 import ensemble_pb2
from freescaling.gateway.v1 import gateway_pb2
from services.common.weighing import Standing
from services.gateway import cascade as rule
from services.gateway.answer_cache import NO_CACHE, AnswerCache, Hit
from services.gateway.deadline import Deadline
from services.gateway.downstream import DownstreamError, Downstreams
from services.gateway.outbox import Outbox
from services.gateway.panels import Panels
from services.gateway.records import scale_record
from services.gateway.routing import Router
from services.gateway.shadows import LateShadows

MAJORITY = voting_pb2.SCALE_OUTCOME_MAJORITY


def _outcome(result: voting_pb2.ScaleResult) -> str:
    return voting_pb2.ScaleOutcome.Name(result.outcome).removeprefix("SCALE_OUTCOME_").lower()


def _fixed_response(k: int, result: voting_pb2.ScaleResult) -> gateway_pb2.ScaleResponse:
    """A fixed-k answer: one step, path "fixed"."""
    step = gateway_pb2.CascadeStep(
        k=k,
        models=[v.model for v in result.votes],
        answer=result.answer,
        outcome=result.outcome,
        reason=f"k={k} asked",
    )
    return gateway_pb2.ScaleResponse(
        result=result, cascade=gateway_pb2.Cascade(path="fixed", steps=[step])
    )


def _counted(votes) -> list[voting_pb2.Vote]:
    """The votes a later step carries: those that answered or abstained (a failed or cancelled
    call is not a vote, and its model may be asked again by no one)."""
    return [v for v in votes if not v.error and not v.cancelled]


def _has_evidence(expert) -> bool:
    return bool(expert.profile_n or expert.task_n or expert.agreement_n)


# The rest of a ScaleStream: the late shadow's vote, when one is pending.
Late = AsyncIterator | None


async def _close(streams) -> None:
    for stream in streams:
        if stream is not None:
            await stream.aclose()


def _cache_settings(request: gateway_pb2.ScaleRequest) -> list:
    """What shapes a vote's answer besides the question's wording (sampling is the cache's)."""
    return [
        request.context,
        request.k,
        list(request.answer_patterns),
        list(request.models),
        request.panel,
    ]


def _from_cache(hit: Hit, elapsed_s: float) -> gateway_pb2.ScaleResponse:
    """The cached vote as this call's answer: the original's answer and votes under its call
    id, no model called, nothing spent."""
    response = gateway_pb2.ScaleResponse.FromString(hit.answer)
    response.result.calls_made = 0
    response.result.ClearField("usage")
    response.result.elapsed_s = elapsed_s
    response.cache.CopyFrom(hit.info)
    return response


def _mean_correlation(found: Standing, model: str, asked: list[str]) -> float:
    """`model`'s mean error correlation with those `asked` (0 for none)."""
    if not asked:
        return 0.0
    return sum(found.correlation.get(frozenset((model, a)), 0.0) for a in asked) / len(asked)


class _Steps:
    """One k=auto call's steps as they are asked: each step's vote through the ensemble (its
    late shadow kept in `lates`), the cascade's record of them, and the merged result."""

    def __init__(
        self, voting: Voting, request, deadline: Deadline, lates: list[Late], routing
    ) -> None:
        self.voting, self.request, self.deadline, self.lates = voting, request, deadline, lates
        self.call_id = uuid.uuid4().hex
        self.cascade = gateway_pb2.Cascade(routing=routing)
        self.results: list[voting_pb2.ScaleResult] = []
        self.names: list[str] = []

    async def ask(
        self,
        name: str,
        added: list[gateway_pb2.CascadeChoice],
        carried: list[voting_pb2.Vote],
        *,
        weighing: voting_pb2.Weighing | None = None,
        target: float | None = None,
    ) -> voting_pb2.ScaleResult:
        models = [c.model for c in added]
        result, late = await self.voting._ask(
            self.request,
            len(models),
            models,
            self.call_id,
            self.deadline,
            carried=carried,
            weighing=weighing,
            target=self.request.min_confidence if target is None else target,
        )
        self.lates.append(late)
        self.results.append(result)
        self.names.append(name)
        self.cascade.steps.append(
            gateway_pb2.CascadeStep(
                k=len(result.votes),
                models=[v.model for v in result.votes],
                answer=result.answer,
                outcome=result.outcome,
                added=added,
                confidence=result.confidence,
            )
        )
        return result

    def merged(self, final: voting_pb2.ScaleResult | None = None) -> gateway_pb2.ScaleResponse:
        """The deciding step's vote (the last), with calls, usage and time over every step."""
        results = self.results
        self.cascade.path = ">".join(self.names)
        merged = voting_pb2.ScaleResult()
        merged.CopyFrom(final if final is not None else results[-1])
        merged.calls_made = sum(r.calls_made for r in results)
        merged.shadow_calls_made = sum(r.shadow_calls_made for r in results)
        merged.usage.prompt_tokens = sum(r.usage.prompt_tokens for r in results)
        merged.usage.completion_tokens = sum(r.usage.completion_tokens for r in results)
        merged.usage.total_tokens = sum(r.usage.total_tokens for r in results)
        merged.usage.cost_usd = sum(r.usage.cost_usd for r in results)
        routing_s = self.cascade.routing.routing_latency_ms / 1000
        merged.elapsed_s = sum(r.elapsed_s for r in results) + routing_s
        # `confident` is the last step's: it was asked with the cascade's target.
        return gateway_pb2.ScaleResponse(result=merged, cascade=self.cascade)


class Voting:
    def __init__(
        self,
        downstreams: Downstreams,
        panels: Panels,
        router: Router,
        outbox: Outbox,
        batch_concurrency: int = 8,
        late: LateShadows | None = None,
        shadow_wait_s: float = 65.0,
        auto_min_accuracy: float = 0.7,
        auto_min_confidence: float = 0.8,
    ) -> None:
        self.downstreams, self.panels, self.router, self.outbox = (
            downstreams,
            panels,
            router,
            outbox,
        )
        self.batch_concurrency = batch_concurrency
        self.late = late or LateShadows(outbox)
        # How long the ensemble's stream stays open after the answer for a late shadow; 0
        # gives late shadows up (the ensemble cancels them).
        self.shadow_wait_s = shadow_wait_s
        # k=auto: a clear single answer from an expert expected to be less accurate escalates.
        self.auto_min_accuracy = auto_min_accuracy
        # k=auto with profiled models: the calibrated confidence to reach.
        self.auto_min_confidence = auto_min_confidence
        self.cache: AnswerCache | None = None

    async def _ask(
        self,
        request: gateway_pb2.ScaleRequest,
        k: int,
        models: list[str],
        call_id: str,
        deadline: Deadline,
        carried: list[voting_pb2.Vote] = (),
        weighing: voting_pb2.Weighing | None = None,
        target: float = 0.0,
    ) -> tuple[voting_pb2.ScaleResult, Late]:
        """The vote, as soon as it is decided, and the rest of its stream when its shadow is
        still answering (the caller closes it or hands it to LateShadows)."""
        timeout, why = self.downstreams.caller_timeout("ensemble", deadline)
        events = self.downstreams.stream_for(
            "ensemble",
            "ScaleStream",
            ensemble_pb2.ScaleRequest(
                question=request.question,
                context=request.context,
                k=k,
                answer_patterns=list(request.answer_patterns),
                models=models,
                panel="" if models else request.panel,
                no_shadow=request.no_shadow,
                call_id=call_id,
                options=request.options,
                answer_within_s=timeout,
                carried_votes=list(carried),
                weighing=weighing,
                vote_rule=request.vote_rule,
                min_confidence=target,
                abstain_when_unsure=request.abstain_when_unsure and bool(target),
            ),
            timeout + self.shadow_wait_s,
            why,
        )
        try:
            async with asyncio.timeout(timeout):
                first = await anext(events, None)
        except TimeoutError:
            await events.aclose()
            raise DownstreamError(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"the ensemble service did not decide the vote within {timeout:.2f} s ({why})",
            ) from None
        except BaseException:
            await events.aclose()
            raise
        if first is None or not first.HasField("result"):
            await events.aclose()
            raise DownstreamError(
                grpc.StatusCode.UNAVAILABLE, "the ensemble service ended the vote without a result"
            )
        if first.result.pending_shadow and self.shadow_wait_s > 0:
            return first.result, events
        await events.aclose()
        return first.result, None

    async def _panel(
        self, request: gateway_pb2.ScaleRequest, k: int, deadline: Deadline
    ) -> list[str]:
        if request.models:
            return list(request.models)
        if request.panel:
            return []  # the ensemble resolves a named panel
        return await self.panels.for_k(k, deadline)

    async def scale(
        self, request: gateway_pb2.ScaleRequest, deadline: Deadline, scope: str | None = None
    ) -> gateway_pb2.ScaleResponse:
        """One vote (fixed k or the k=auto cascade), recorded; answered from the answer cache
        when `scope` (the caller's) and the request allow it and it holds the answer."""
        started = time.time()
        found = NO_CACHE
        if self.cache is not None:
            found = await self.cache.find(
                "scale", request.question, _cache_settings(request), request.options, scope,
                deadline,
            )  # fmt: skip
            if found.hit is not None:
                return _from_cache(found.hit, time.time() - started)
        response = await self._answer(request, deadline, started)
        result = response.result
        if self.cache is not None and result.answer:
            kept = gateway_pb2.ScaleResponse()
            kept.CopyFrom(response)
            kept.result.pending_shadow = ""
            self.cache.keep(found, kept.SerializeToString(), result.call_id, result.usage.cost_usd)
        return response

    async def _answer(
        self, request, deadline: Deadline, started: float
    ) -> gateway_pb2.ScaleResponse:
        if request.min_confidence < 0 or request.min_confidence > 1:
            raise DownstreamError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"min_confidence is {request.min_confidence}; it must be within 0 to 1",
            )
        if request.k:
            response, late, classified = await self._fixed(request, deadline)
            routing = None
        else:
            response, late = await self._cascade(request, deadline)
            routing, classified = response.cascade.routing, None
        try:
            record = scale_record(
                response.result,
                question=request.question,
                message_id=request.message_id,
                started_at=started,
                cascade_path=response.cascade.path,
                routing=routing,
                steps=response.cascade.steps,
            )
            if classified is not None:
                # Fixed k, weighed: classified before the vote, which the record keeps.
                record.routing.classification.CopyFrom(classified)
                record.routing.classification.ClearField("embedding")
                record.routing.reason = "classified before the vote, to weigh it (not routed)"
                self.outbox.put(record)
            elif routing is None:
                # Fixed k: classified for the statistics after the answer, not before.
                self.outbox.put_later(record, self.router.classify_into(record, request.question))
            else:
                self.outbox.put(record)
        except BaseException:
            await _close([late])
            raise
        if late is not None:
            self.late.follow({response.result.call_id: response.result.pending_shadow}, late)
        return response

    async def _fixed(self, request, deadline: Deadline):
        """A fixed-k vote, weighed by the panel's standing on the prompt unless the request asks
        for the majority rule (or nothing is profiled, or a service cannot say)."""
        models = await self._panel(request, request.k, deadline)
        weighing, classified = None, None
        if request.vote_rule != voting_pb2.VOTE_RULE_MAJORITY:
            classified, _ = await self.router.classify(request.question, deadline)
            if classified is not None:
                weighed = await self.router.weigh(classified, models, deadline)
                weighing = weighed[0] if weighed else None
        self._check_rule(request, weighing)
        result, late = await self._ask(
            request,
            request.k,
            models,
            uuid.uuid4().hex,
            deadline,
            weighing=weighing,
            target=request.min_confidence,
        )
        return _fixed_response(request.k, result), late, classified

    @staticmethod
    def _check_rule(request, weighing: voting_pb2.Weighing | None) -> None:
        if request.vote_rule == voting_pb2.VOTE_RULE_WEIGHTED and not (
            weighing is not None and weighing.voters
        ):
            raise DownstreamError(
                grpc.StatusCode.FAILED_PRECONDITION,
                "vote_rule is WEIGHTED but no model of this vote is profiled (or learning "
                "cannot say now): profile the models first (`freescaling profile ...`), or "
                "leave vote_rule unset to vote by majority until then",
            )

    async def _cascade(self, request, deadline: Deadline) -> tuple[gateway_pb2.ScaleResponse, Late]:
        lates: list[Late] = []
        try:
            response = await self._steps(request, deadline, lates)
        except BaseException:
            await _close(lates)
            raise
        # Only the deciding step's shadow belongs to the call; the others are given up.
        await _close(lates[:-1])
        return response, lates[-1]

    async def _steps(
        self, request, deadline: Deadline, lates: list[Late]
    ) -> gateway_pb2.ScaleResponse:
        started = time.perf_counter()
        routing = await self.router.route(request.question, deadline, keep_embedding=True)
        candidates = list(request.models) or sorted(await self.router.live_models(deadline) or ())
        weighing, found = None, None
        if request.vote_rule != voting_pb2.VOTE_RULE_MAJORITY and routing.HasField(
            "classification"
        ):
            weighing, found = await self.router.weigh(
                routing.classification, candidates, deadline
            ) or (None, None)
        self._check_rule(request, weighing)
        profiled = {v.model: v for v in weighing.voters} if found is not None else {}
        eligible = [m for m in candidates if m in profiled]
        if eligible:
            routing.classification.ClearField("embedding")
            routing.routing_latency_ms = (time.perf_counter() - started) * 1000
            # The cascade's copy of the routing details is the one the first step names.
            steps = _Steps(self, request, deadline, lates, routing)
            return await self._calibrated(steps, weighing, found, profiled, eligible)
        expert = await self._expert(routing, candidates, deadline)
        routing.classification.ClearField("embedding")
        routing.routing_latency_ms = (time.perf_counter() - started) * 1000
        return await self._counted(
            _Steps(self, request, deadline, lates, routing), expert, candidates
        )

    async def _calibrated(
        self, steps: _Steps, weighing, found, profiled, eligible: list[str]
    ) -> gateway_pb2.ScaleResponse:
        """The cascade on calibrated confidence (cascade.py's plan), one model a step."""
        request = steps.request
        target = request.min_confidence or self.auto_min_confidence
        steps.cascade.min_confidence = target
        costs = {m: profiled[m].cost for m in eligible}
        patterns = len(request.answer_patterns)
        had: dict[str, str] = {}
        routing = steps.cascade.routing
        while True:
            casts = [rule.Cast(m, a) for m, a in had.items()]
            following = rule.plan(found, casts, eligible, costs, target, patterns)
            if steps.results:
                steps.cascade.steps[-1].reason = following.reason
            if not following.models:
                break
            if not steps.results:
                first = following.models[0]
                routing.method = routing_pb2.ROUTING_METHOD_EXPERT
                routing.model = first
                routing.reason = following.reason
            asked = list(had)
            added = [
                gateway_pb2.CascadeChoice(
                    model=m,
                    evidence=profiled[m].evidence,
                    expected_accuracy=profiled[m].accuracy,
                    error_correlation=_mean_correlation(found, m, asked),
                    cost=costs[m],
                )
                for m in following.models
            ]
            carried = _counted(steps.results[-1].votes) if steps.results else []
            result = await steps.ask(
                f"k{len(had) + len(added)}", added, carried, weighing=weighing, target=target
            )
            for v in result.votes:
                had[v.model] = v.parsed_answer
        return steps.merged()

    async def _counted(
        self, steps: _Steps, expert: gateway_pb2.CascadeChoice, candidates: list[str]
    ) -> gateway_pb2.ScaleResponse:
        """The cascade on vote counts, where no candidate is profiled: 1, then 3, then 5."""
        request, deadline, routing, cascade = (
            steps.request,
            steps.deadline,
            steps.cascade.routing,
            steps.cascade,
        )
        step = steps.ask

        complex_prompt = (
            routing.HasField("classification")
            and routing.classification.tier == classification_pb2.TIER_COMPLEX
        )
        final = None
        if complex_prompt:
            why = "the prompt is complex"
            more = await self._more(routing, request, candidates, [expert.model], 2, 3, deadline)
            three = await step("panel3", [expert, *more], [])
        else:
            single = await step("single", [expert], [])
            if single.outcome == MAJORITY and not self._gated(expert):
                final = single
                cascade.steps[-1].reason = f"{expert.model} answered {single.answer}: stop"
            else:
                why = (
                    f"{expert.model} answered {single.answer} but its expected accuracy "
                    f"{expert.expected_accuracy:.2f} is under {self.auto_min_accuracy:g}"
                    if single.outcome == MAJORITY
                    else f"{expert.model}'s answer was {_outcome(single)}"
                )
                votes = _counted(single.votes)
                asked = [v.model for v in single.votes]
                more = await self._more(
                    routing, request, candidates, asked, 3 - len(votes), 3, deadline
                )
                if not more:
                    final = single
                    cascade.steps[-1].reason = f"{why}; no other model to ask: stop"
                else:
                    cascade.steps[-1].reason = f"{why}: escalate to 3"
                    three = await step("panel3", more, votes)
        if final is None:
            if three.outcome == MAJORITY and three.confidence >= 1.0:
                final = three
                cascade.steps[-1].reason = f"{why}; the {three.k} agreed on {three.answer}: stop"
            else:
                votes = _counted(three.votes)
                asked = [v.model for v in three.votes]
                more = await self._more(
                    routing, request, candidates, asked, 5 - len(votes), 5, deadline
                )
                final = three
                if not more:
                    cascade.steps[-1].reason = (
                        f"{why}; the {three.k} disagreed ({_outcome(three)}); no other model "
                        "to ask: stop"
                    )
                else:
                    cascade.steps[
                        -1
                    ].reason = f"{why}; the {three.k} disagreed ({_outcome(three)}): escalate to 5"
                    final = await step("panel5", more, votes)
                    cascade.steps[-1].reason = f"the {final.k} decided: {_outcome(final)}"
        return steps.merged(final)

    def _gated(self, expert: gateway_pb2.CascadeChoice) -> bool:
        """Whether a clear single answer is not enough: its model's expected accuracy, known
        from evidence, is under the threshold."""
        return bool(expert.expected_accuracy) and expert.expected_accuracy < self.auto_min_accuracy

    async def _expert(
        self, routing: routing_pb2.RoutingInfo, candidates: list[str], deadline: Deadline
    ) -> gateway_pb2.CascadeChoice:
        """The single expert: learning's expert rule when some candidate has evidence, else
        the routed model (profile, tier map or ELO preference)."""
        chosen = (
            await self.router.experts(routing, candidates, [], 1, deadline) if candidates else None
        )
        if chosen and _has_evidence(chosen[0]):
            best = chosen[0]
            routing.method = routing_pb2.ROUTING_METHOD_EXPERT
            routing.model = best.model
            routing.reason = f"best expected accuracy {best.accuracy:.2f}: {best.evidence}"
            return gateway_pb2.CascadeChoice(
                model=best.model, evidence=best.evidence, expected_accuracy=best.accuracy
            )
        await self.router.prefer_elo(routing, deadline)
        why = "no model has evidence yet" if chosen is not None else "learning cannot say"
        return gateway_pb2.CascadeChoice(model=routing.model, evidence=f"{routing.reason} ({why})")

    async def _more(
        self,
        routing: routing_pb2.RoutingInfo,
        request: gateway_pb2.ScaleRequest,
        candidates: list[str],
        asked: list[str],
        count: int,
        k: int,
        deadline: Deadline,
    ) -> list[gateway_pb2.CascadeChoice]:
        """`count` models to add to those `asked`: learning's expert rule (accurate, erring
        apart from them), else the default (or champion) panel for k without those asked."""
        if count <= 0:
            return []
        chosen = (
            await self.router.experts(routing, candidates, asked, count, deadline)
            if candidates
            else None
        )
        if chosen:
            return [
                gateway_pb2.CascadeChoice(
                    model=e.model,
                    evidence=e.evidence,
                    expected_accuracy=e.accuracy,
                    error_correlation=e.correlation,
                )
                for e in chosen
            ]
        panel = list(request.models) or await self.panels.for_k(k, deadline)
        rest = [m for m in panel if m not in asked][:count]
        return [
            gateway_pb2.CascadeChoice(model=m, evidence=f"panel for k={k}, not asked yet")
            for m in rest
        ]

    async def scale_batch(self, request: gateway_pb2.ScaleBatchRequest, deadline: Deadline):
        """Results as items finish, tagged by index; one item's failure is its own error."""
        if request.k:
            async for item in self._fixed_batch(request, deadline):
                yield item
            return
        bound = asyncio.Semaphore(request.max_concurrency or self.batch_concurrency)

        async def one(index: int, item: gateway_pb2.ScaleItem) -> gateway_pb2.ScaleBatchResult:
            single = gateway_pb2.ScaleRequest(
                question=item.question,
                context=item.context,
                answer_patterns=list(item.answer_patterns or request.answer_patterns),
                models=list(request.models),
                panel=request.panel,
                no_shadow=request.no_shadow,
                message_id=item.message_id,
                options=request.options,
            )
            async with bound:
                try:
                    return gateway_pb2.ScaleBatchResult(
                        index=index, response=await self.scale(single, deadline)
                    )
                except DownstreamError as exc:
                    return gateway_pb2.ScaleBatchResult(
                        index=index,
                        error=voting_pb2.ItemError(code=exc.code.name, message=exc.message),
                    )

        tasks = [asyncio.create_task(one(i, item)) for i, item in enumerate(request.items)]
        try:
            for finished in asyncio.as_completed(tasks):
                yield await finished
        finally:
            for task in tasks:
                task.cancel()

    async def _fixed_batch(self, request: gateway_pb2.ScaleBatchRequest, deadline: Deadline):
        started = time.time()
        models = list(request.models) or (
            [] if request.panel else await self.panels.for_k(request.k, deadline)
        )
        timeout, why = self.downstreams.caller_timeout("ensemble", deadline, streamed=True)
        downstream = ensemble_pb2.ScaleBatchRequest(
            items=[
                ensemble_pb2.ScaleItem(
                    question=i.question, context=i.context, answer_patterns=list(i.answer_patterns)
                )
                for i in request.items
            ],
            k=request.k,
            answer_patterns=list(request.answer_patterns),
            models=models,
            panel="" if models else request.panel,
            max_concurrency=request.max_concurrency,
            no_shadow=request.no_shadow,
            options=request.options,
            late_shadows=self.shadow_wait_s > 0,
            answer_within_s=timeout,
        )
        events = self.downstreams.stream_for(
            "ensemble", "ScaleBatch", downstream, timeout + self.shadow_wait_s, why
        )
        answered, pending, handed_over = 0, {}, False
        try:
            # The ensemble bounds each item's vote by answer_within_s; the stream's own timeout
            # (that plus the shadow wait) bounds the rest.
            async for item in events:
                if item.HasField("shadow"):
                    self.outbox.put_shadow(item.shadow)
                    pending.pop(item.shadow.call_id, None)
                    continue
                answered += 1
                if item.HasField("error"):
                    yield gateway_pb2.ScaleBatchResult(index=item.index, error=item.error)
                else:
                    source = request.items[item.index]
                    record = scale_record(
                        item.result,
                        question=source.question,
                        message_id=source.message_id,
                        started_at=started,
                        cascade_path="fixed",
                    )
                    self.outbox.put_later(
                        record, self.router.classify_into(record, source.question)
                    )
                    if item.result.pending_shadow:
                        pending[item.result.call_id] = item.result.pending_shadow
                    yield gateway_pb2.ScaleBatchResult(
                        index=item.index, response=_fixed_response(request.k, item.result)
                    )
                if answered == len(request.items):
                    # Every item is answered: the caller's stream ends here, the late shadows'
                    # votes are read in the background.
                    if pending:
                        self.late.follow(pending, events)
                        handed_over = True
                    break
        finally:
            if not handed_over:
                await events.aclose()
