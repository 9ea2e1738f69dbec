"""The ensemble's RPC surface: validates input, maps errors to status codes with actionable
messages, converts between protobuf and the core's plain results, and calls the core."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from freescaling.common.v1 import info_pb2, models_pb2, voting_pb2
from freescaling.ensemble.v1 import ensemble_pb2, ensemble_pb2_grpc
from services.common.capabilities import with_capabilities
from services.common.health import Health
from services.common.info import service_info
from services.ensemble import ballots, batch, completion, entries, judge, probe, vote
from services.ensemble.ballots import generate_result, late_shadow, scale_result
from services.ensemble.config import EnsembleSettings
from services.ensemble.parser import check_patterns
from services.ensemble.pool import BadRequest, NoModel, Pool, UnknownModel
from services.ensemble.provider import ProviderError
from services.ensemble.registered import RegisteredModels
from services.ensemble.registry import AlreadyRegistered, Model, RegistryError
from services.ensemble.shadow import ShadowPicker
from services.ensemble.shared_registry import StoreUnavailable

SERVICE = ensemble_pb2.DESCRIPTOR.services_by_name["Ensemble"]
NOT_BUILT: dict[str, str] = {}


# Answer a little before the caller's deadline so that the result (with each model's error),
# not DEADLINE_EXCEEDED, reaches it: 10% of the time left, between 50 and 500 ms.
def _margin(remaining: float) -> float:
    return min(0.5, max(0.05, 0.1 * remaining))


_ROLES = ("system", "user", "assistant")
_HEALTH = {
    probe.OK: models_pb2.HEALTH_STATUS_OK,
    probe.SLOW: models_pb2.HEALTH_STATUS_SLOW,
    probe.DEAD: models_pb2.HEALTH_STATUS_DEAD,
    probe.ERROR: models_pb2.HEALTH_STATUS_ERROR,
}
_PROVIDER_CODES = {
    "dead": grpc.StatusCode.UNAVAILABLE,
    "auth": grpc.StatusCode.FAILED_PRECONDITION,
    "config": grpc.StatusCode.FAILED_PRECONDITION,
    "rate_limited": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "timeout": grpc.StatusCode.DEADLINE_EXCEEDED,
    "error": grpc.StatusCode.UNAVAILABLE,
}


class TooMany(BadRequest):
    """Over a configured limit (RESOURCE_EXHAUSTED)."""


def status_for(exc: Exception) -> tuple[grpc.StatusCode, str] | None:
    """The status code and message for an expected failure; None for a bug."""
    if isinstance(exc, TooMany):
        return grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc)
    if isinstance(exc, BadRequest):
        return grpc.StatusCode.INVALID_ARGUMENT, str(exc)
    if isinstance(exc, UnknownModel):
        return grpc.StatusCode.NOT_FOUND, str(exc.args[0])
    if isinstance(exc, NoModel):
        return grpc.StatusCode.FAILED_PRECONDITION, str(exc)
    if isinstance(exc, judge.AllGeneratorsFailed):
        return grpc.StatusCode.UNAVAILABLE, str(exc)
    if isinstance(exc, ProviderError):
        return _PROVIDER_CODES.get(exc.kind, grpc.StatusCode.UNAVAILABLE), exc.message
    if isinstance(exc, AlreadyRegistered):
        return grpc.StatusCode.ALREADY_EXISTS, str(exc)
    if isinstance(exc, RegistryError):
        return grpc.StatusCode.INVALID_ARGUMENT, str(exc)
    if isinstance(exc, StoreUnavailable):
        return grpc.StatusCode.UNAVAILABLE, str(exc)
    return None


def _timestamp(seconds: float | None) -> Timestamp | None:
    if seconds is None:
        return None
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


@with_capabilities(SERVICE, NOT_BUILT)
class EnsembleServicer(ensemble_pb2_grpc.EnsembleServicer):
    def __init__(
        self, settings: EnsembleSettings, health: Health, pool: Pool, registered: RegisteredModels
    ) -> None:
        self.settings, self.health, self.pool = settings, health, pool
        self.registered = registered
        self.shadows = ShadowPicker()

    # -- helpers ------------------------------------------------------------------------------
    def _deadline(self, context, options, answer_by: float | None = None) -> float:
        """The per-call deadline on the pool's clock: the call timeout, within the RPC's (and
        before `answer_by`, when the RPC's deadline also covers a late shadow)."""
        timeout = options.timeout_s if options.timeout_s > 0 else self.settings.call_timeout_s
        remaining = context.time_remaining()
        if answer_by is not None:
            left = answer_by - self.pool.clock()
            remaining = left if remaining is None else min(remaining, left)
        if remaining is not None:
            timeout = min(timeout, remaining - _margin(remaining))
        return self.pool.clock() + timeout

    def _answer_by(self, answer_within_s: float) -> float | None:
        """When the votes of a request must be decided, on the pool's clock (None: the RPC's
        deadline alone)."""
        return self.pool.clock() + answer_within_s if answer_within_s > 0 else None

    def _shadows(self, request) -> ShadowPicker | None:
        return self.shadows if self.settings.shadow and not request.no_shadow else None

    async def _vote(self, request, context, *, late_shadow: bool) -> vote.Tally:
        """One scale request's vote; with `late_shadow`, its shadow has its own deadline (the
        call timeout, within the RPC's) and may outlive the vote."""
        self._check_question(request.question, request.answer_patterns)
        await self.registered.ensure_known(request.models)
        panel = self.pool.panel(request.k, request.models, request.panel)
        rule = ballots.rule(request)
        carried = ballots.carried(request, panel, rule)
        return await vote.scale(
            self.pool,
            self._shadows(request),
            request.question,
            request.context,
            list(request.answer_patterns),
            panel,
            self._deadline(context, request.options, self._answer_by(request.answer_within_s)),
            request.call_id,
            late_shadow=late_shadow,
            shadow_deadline=self._deadline(context, request.options),
            carried=carried,
            rule=rule,
            **self._options(request.options),
        )

    def _options(self, options) -> dict:
        """The caller's sampling settings as litellm keywords; unset ones are not sent, so the
        provider's defaults apply."""
        out = {"max_tokens": options.max_tokens or self.settings.max_tokens}
        for name in ("temperature", "top_p", "seed"):
            if options.HasField(name):
                out[name] = getattr(options, name)
        if options.stop:
            out["stop"] = list(options.stop)
        if options.user:
            out["user"] = options.user
        return out

    async def _fail(self, context, exc: Exception):
        mapped = status_for(exc)
        if mapped is None:
            raise exc
        code, message = mapped
        if isinstance(exc, UnknownModel):
            message += self.registered.unknown_hint()
        await context.abort(code, message)

    def _model_info(self, m: Model) -> models_pb2.ModelInfo:
        info = entries.to_info(m)
        until = self.pool.dead.until(m.alias)
        if until is not None:
            info.dead = True
            info.dead_until.CopyFrom(_timestamp(until))
        why = self.pool.unavailable(m)
        if why:
            info.unavailable, info.unavailable_reason = True, why
        return info

    def _check_question(self, question: str, patterns: Sequence[str]) -> None:
        if not question.strip():
            raise BadRequest("question is empty")
        problem = check_patterns(patterns)
        if problem:
            raise BadRequest(problem)

    # -- voting -------------------------------------------------------------------------------
    async def Scale(self, request, context) -> voting_pb2.ScaleResult:
        try:
            tally = await self._vote(request, context, late_shadow=False)
        except (BadRequest, UnknownModel, NoModel) as exc:
            await self._fail(context, exc)
        return scale_result(tally)

    async def ScaleStream(self, request, context):
        try:
            tally = await self._vote(request, context, late_shadow=True)
        except (BadRequest, UnknownModel, NoModel) as exc:
            await self._fail(context, exc)
        try:
            yield ensemble_pb2.ScaleEvent(result=scale_result(tally))
            if tally.late is not None:
                yield ensemble_pb2.ScaleEvent(shadow=await late_shadow(tally))
        finally:
            # The caller went away (or stopped reading): the shadow has nobody to answer to.
            if tally.late is not None and not tally.late.done():
                tally.late.cancel()

    async def ScaleBatch(self, request, context):
        try:
            self._check_batch(len(request.items))
            await self.registered.ensure_known(request.models)
            panel = self.pool.panel(request.k, request.models, request.panel)
        except (BadRequest, UnknownModel, NoModel) as exc:
            await self._fail(context, exc)
        shadows = self._shadows(request)
        options = self._options(request.options)
        answer_by = self._answer_by(request.answer_within_s)

        async def one(index: int) -> vote.Tally:
            item = request.items[index]
            patterns = list(item.answer_patterns or request.answer_patterns)
            self._check_question(item.question, patterns)
            return await vote.scale(
                self.pool,
                shadows,
                item.question,
                item.context,
                patterns,
                panel,
                self._deadline(context, request.options, answer_by),
                item.call_id,
                late_shadow=request.late_shadows,
                shadow_deadline=self._deadline(context, request.options),
                **options,
            )

        concurrency = request.max_concurrency or self.settings.batch_concurrency

        async def indexed(index: int, tally: vote.Tally):
            return index, await late_shadow(tally)

        late: list[asyncio.Task] = []
        try:
            async for index, outcome in batch.run_bounded(len(request.items), one, concurrency):
                if isinstance(outcome, BaseException):
                    yield ensemble_pb2.ScaleBatchResult(
                        index=index, error=self._item_error(outcome)
                    )
                    continue
                yield ensemble_pb2.ScaleBatchResult(index=index, result=scale_result(outcome))
                if outcome.late is not None:
                    late.append(asyncio.create_task(indexed(index, outcome)))
            # Every item has its result; the late shadows follow as they answer.
            for finished in asyncio.as_completed(late):
                index, shadow = await finished
                yield ensemble_pb2.ScaleBatchResult(index=index, shadow=shadow)
        finally:
            for task in late:
                task.cancel()

    def _check_batch(self, count: int) -> None:
        if count == 0:
            raise BadRequest("items is empty")
        if count > self.settings.max_batch_items:
            raise TooMany(
                f"{count} items is over the batch limit of {self.settings.max_batch_items} "
                "(FREESCALING_ENSEMBLE_MAX_BATCH_ITEMS); split the batch"
            )

    @staticmethod
    def _item_error(exc: BaseException) -> voting_pb2.ItemError:
        mapped = status_for(exc) if isinstance(exc, Exception) else None
        if mapped is None:
            return voting_pb2.ItemError(code="INTERNAL", message=f"{type(exc).__name__}: {exc}")
        return voting_pb2.ItemError(code=mapped[0].name, message=mapped[1])

    # -- best-of-k ----------------------------------------------------------------------------
    async def Generate(self, request, context) -> voting_pb2.GenerateResult:
        try:
            if not request.question.strip():
                raise BadRequest("question is empty")
            await self.registered.ensure_known([*request.models, *request.judges])
            generators, judges = judge.generators_and_judges(
                self.pool, request.k, request.models, request.judges
            )
            result = await judge.generate(
                self.pool,
                request.question,
                request.context,
                generators,
                judges,
                self._deadline(context, request.options),
                request.call_id,
                **self._options(request.options),
            )
        except (BadRequest, UnknownModel, NoModel, judge.AllGeneratorsFailed) as exc:
            await self._fail(context, exc)
        return generate_result(result)

    async def GenerateBatch(self, request, context):
        try:
            self._check_batch(len(request.items))
            await self.registered.ensure_known([*request.models, *request.judges])
            generators, judges = judge.generators_and_judges(
                self.pool, request.k, request.models, request.judges
            )
        except (BadRequest, UnknownModel, NoModel) as exc:
            await self._fail(context, exc)
        options = self._options(request.options)

        async def one(index: int) -> judge.Generation:
            item = request.items[index]
            if not item.question.strip():
                raise BadRequest("question is empty")
            return await judge.generate(
                self.pool,
                item.question,
                item.context,
                generators,
                judges,
                self._deadline(context, request.options),
                item.call_id,
                **options,
            )

        concurrency = request.max_concurrency or self.settings.batch_concurrency
        async for index, outcome in batch.run_bounded(len(request.items), one, concurrency):
            if isinstance(outcome, BaseException):
                yield ensemble_pb2.GenerateBatchResult(index=index, error=self._item_error(outcome))
            else:
                yield ensemble_pb2.GenerateBatchResult(index=index, result=generate_result(outcome))

    # -- the pool -----------------------------------------------------------------------------
    async def Health(self, request, context) -> models_pb2.ModelHealthReport:
        if request.timeout_s < 0 or not math.isfinite(request.timeout_s):
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "timeout_s must be 0 (the default) or more"
            )
        try:
            await self.registered.ensure_known(request.models)
            models = [self._known(a) for a in dict.fromkeys(request.models)] or list(
                self.pool.registry.models.values()
            )
        except UnknownModel as exc:
            await self._fail(context, exc)
        timeout = request.timeout_s or self.settings.probe_timeout_s
        remaining = context.time_remaining()
        if remaining is not None:
            timeout = min(timeout, remaining - _margin(remaining))
        waits = [self.pool.provider.limit_wait(m) for m in models]
        results = await probe.probe(self.pool, models, timeout, self.settings.slow_threshold_s)
        report = models_pb2.ModelHealthReport(
            live=sum(r.status in (probe.OK, probe.SLOW) for r in results),
            dead=sum(r.status == probe.DEAD for r in results),
        )
        for r, wait in zip(results, waits, strict=True):
            entry = report.models.add(
                model=r.model,
                status=_HEALTH[r.status],
                latency_ms=r.latency_ms,
                error=r.error,
                rate_limit_wait_s=wait,
            )
            entry.checked_at.CopyFrom(_timestamp(r.checked_at))
            if r.dead_until is not None:
                entry.dead_until.CopyFrom(_timestamp(r.dead_until))
        return report

    def _known(self, alias: str) -> Model:
        model = self.pool.registry.get(alias)
        if model is None:
            raise UnknownModel(f"unknown model {alias!r}; ListModels shows the registry's aliases")
        return model

    async def ListModels(self, request, context) -> models_pb2.ModelList:
        tier = entries.TIERS.get(request.tier)
        return models_pb2.ModelList(
            models=[
                self._model_info(m)
                for m in self.pool.registry.models.values()
                if (tier is None or m.tier == tier)
                and not (request.live_only and not self.pool.usable(m))
            ]
        )

    async def ListPanels(self, request, context) -> models_pb2.PanelList:
        return models_pb2.PanelList(
            panels=[
                self._panel(name, members) for name, members in self.pool.registry.panels.items()
            ]
        )

    def _panel(self, name: str, members: list[str]) -> models_pb2.Panel:
        """A configured panel as it answers now: an unavailable member's place taken by an
        available model (the reason says which); as configured when too few are available."""
        panel = models_pb2.Panel(name=name, models=members, source="registry")
        try:
            answering = [m.alias for m in self.pool.filled(members, f"panel {name!r}")]
        except NoModel as exc:
            panel.reason = str(exc)
            return panel
        swapped = [f"{b} for {a}" for a, b in zip(members, answering, strict=True) if a != b]
        if swapped:
            panel.models[:] = answering
            panel.reason = "standing in for models without credentials: " + ", ".join(swapped)
        return panel

    async def RegisterModel(self, request, context) -> models_pb2.ModelInfo:
        try:
            model = await self.registered.register(entries.from_info(request.model))
        except (RegistryError, StoreUnavailable) as exc:
            await self._fail(context, exc)
        return self._model_info(model)

    # -- completions --------------------------------------------------------------------------
    async def Complete(self, request, context):
        if not request.model:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "model is empty")
        if not request.messages:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "messages is empty")
        for i, message in enumerate(request.messages):
            if message.role not in _ROLES:
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"messages[{i}].role must be one of {', '.join(_ROLES)}; got {message.role!r}",
                )
        try:
            await self.registered.ensure_known([request.model])
            model = self._known(request.model)
        except UnknownModel as exc:
            await self._fail(context, exc)
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        try:
            async for piece in completion.complete(
                self.pool,
                model,
                messages,
                self._deadline(context, request.options),
                **self._options(request.options),
            ):
                if isinstance(piece, completion.Done):
                    yield ensemble_pb2.CompleteChunk(
                        done=ensemble_pb2.CompleteDone(
                            model=piece.model,
                            finish_reason=piece.finish_reason,
                            usage=ballots.usage(
                                piece.prompt_tokens, piece.completion_tokens, piece.cost_usd
                            ),
                            elapsed_s=piece.elapsed_s,
                            first_token_s=piece.first_token_s,
                            call_id=request.call_id,
                        )
                    )
                elif piece.reasoning:
                    yield ensemble_pb2.CompleteChunk(reasoning_delta=piece.reasoning)
                if isinstance(piece, completion.Piece) and piece.delta:
                    yield ensemble_pb2.CompleteChunk(delta=piece.delta)
        except ProviderError as exc:
            await self._fail(context, exc)

    async def GetInfo(self, request, context) -> info_pb2.ServiceInfo:
        info = service_info("ensemble", SERVICE, NOT_BUILT, self.health, self.settings)
        # What this replica allows once the key's limit is shared (RATE_LIMIT_REPLICAS).
        limiter = self.pool.provider.limiter
        info.settings["rate_limit_rpm_per_replica"] = f"{limiter.rpm:g}"
        info.settings["rate_limit_burst_per_replica"] = str(limiter.burst)
        info.settings.update(self.registered.summary())
        return info
