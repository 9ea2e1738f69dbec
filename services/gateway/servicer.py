"""The public API. Thin: each RPC validates its input, then composes calls to the internal
services (voting.py, generation.py, chat.py, routing.py hold the compositions); downstream
failures reach the caller as errors naming the service. The gRPC call context stays at this
door: each RPC reads the caller's deadline off it once (`Deadline.of`), its API key (the answer
cache's scope) from its metadata, and aborts through it; the compositions see a Deadline."""

from __future__ import annotations

import grpc

from freescaling.common.v1 import info_pb2, models_pb2, ratings_pb2, records_pb2, routing_pb2
from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from freescaling.learning.v1 import learning_pb2
from services.common.capabilities import with_capabilities
from services.common.health import Health
from services.common.info import service_info
from services.gateway.access import bearer
from services.gateway.answer_cache import AnswerCache, options_problem
from services.gateway.chat import Chat, chat_problem
from services.gateway.config import GatewaySettings
from services.gateway.deadline import Deadline
from services.gateway.downstream import DownstreamError, Downstreams
from services.gateway.feedback import Feedback
from services.gateway.generation import Generation
from services.gateway.onboarding import Onboarding
from services.gateway.outbox import Outbox
from services.gateway.panels import CHAMPION, Panels
from services.gateway.routing import Router, requested_lambda
from services.gateway.shadows import LateShadows
from services.gateway.voting import Voting

SERVICE = gateway_pb2.DESCRIPTOR.services_by_name["Gateway"]
NOT_BUILT: dict[str, str] = {}
K_VALUES = (0, 1, 3, 5)


class _Invalid(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _require(condition: bool, message: str, code=grpc.StatusCode.INVALID_ARGUMENT) -> None:
    if not condition:
        raise _Invalid(code, message)


def _lambda(request) -> float | None:
    try:
        return requested_lambda(request)
    except ValueError as exc:
        raise _Invalid(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None


@with_capabilities(SERVICE, NOT_BUILT)
class GatewayServicer(gateway_pb2_grpc.GatewayServicer):
    def __init__(
        self, settings: GatewaySettings, health: Health, downstreams: Downstreams, outbox: Outbox
    ) -> None:
        self.settings, self.health, self.downstreams = settings, health, downstreams
        self.outbox = outbox
        self.router = Router(
            downstreams, settings.fallback_model, settings.default_lambda, settings.elo_min_calls
        )
        self.panels = Panels(downstreams, self.router.live_models)
        self.late_shadows = LateShadows(outbox)
        self.voting = Voting(
            downstreams,
            self.panels,
            self.router,
            outbox,
            settings.batch_concurrency,
            self.late_shadows,
            settings.shadow_wait_s,
            settings.auto_min_accuracy,
            settings.auto_min_confidence,
        )
        self.generation = Generation(downstreams, self.panels, outbox, self.router)
        self.chatting = Chat(downstreams, self.router, outbox)
        # One answer cache for Scale, Generate and Chat, over gRPC and HTTP alike.
        self.cache = AnswerCache(
            downstreams,
            settings.cache,
            settings.cache_threshold,
            settings.cache_ttl_s,
            keys_configured=bool(settings.api_keys or settings.api_keys_file),
        )
        self.voting.cache = self.generation.cache = self.chatting.cache = self.cache
        self.feedback = Feedback(downstreams, outbox)
        self.onboarding = Onboarding(downstreams, settings.clusters_k, settings.batch_concurrency)

    @staticmethod
    def _check_cache(options) -> None:
        problem = options_problem(options)
        _require(problem is None, problem or "")

    def _scope(self, context: grpc.aio.ServicerContext) -> str:
        """The caller's answer-cache scope, from the API key it presented."""
        return self.cache.scope(bearer(context.invocation_metadata()))

    async def _run(self, context: grpc.aio.ServicerContext, work):
        try:
            return await work
        except (DownstreamError, _Invalid) as exc:
            await context.abort(exc.code, exc.message)

    async def _pass(self, context: grpc.aio.ServicerContext, service: str, method: str, request):
        return await self._run(
            context, self.downstreams.call(service, method, request, Deadline.of(context))
        )

    async def _stream(self, context: grpc.aio.ServicerContext, items):
        try:
            async for item in items:
                yield item
        except (DownstreamError, _Invalid) as exc:
            await context.abort(exc.code, exc.message)

    def _check_batch(self, items) -> None:
        _require(bool(items), "the batch has no items")
        _require(
            len(items) <= self.settings.batch_limit,
            f"the batch has {len(items)} items; at most {self.settings.batch_limit} are allowed "
            "(FREESCALING_GATEWAY_BATCH_LIMIT): split it",
            grpc.StatusCode.RESOURCE_EXHAUSTED,
        )

    # --- voting and generation -------------------------------------------------------------

    async def Scale(self, request, context) -> gateway_pb2.ScaleResponse:
        deadline = Deadline.of(context)

        async def work():
            _require(bool(request.question.strip()), "question is required")
            _require(request.k in K_VALUES, f"k must be 1, 3 or 5, or 0 for auto; got {request.k}")
            self._check_cache(request.options)
            return await self.voting.scale(request, deadline, self._scope(context))

        return await self._run(context, work())

    async def Generate(self, request, context) -> gateway_pb2.GenerateResponse:
        deadline = Deadline.of(context)

        async def work():
            _require(bool(request.question.strip()), "question is required")
            _require(request.k in K_VALUES, f"k must be 1, 3 or 5 (0 means 3); got {request.k}")
            self._check_cache(request.options)
            return await self.generation.generate(request, deadline, self._scope(context))

        return await self._run(context, work())

    async def ScaleBatch(self, request, context):
        deadline = Deadline.of(context)

        async def items():
            self._check_batch(request.items)
            _require(request.k in K_VALUES, f"k must be 1, 3 or 5, or 0 for auto; got {request.k}")
            async for item in self.voting.scale_batch(request, deadline):
                yield item

        async for item in self._stream(context, items()):
            yield item

    async def GenerateBatch(self, request, context):
        deadline = Deadline.of(context)

        async def items():
            self._check_batch(request.items)
            _require(request.k in K_VALUES, f"k must be 1, 3 or 5 (0 means 3); got {request.k}")
            async for item in self.generation.generate_batch(request, deadline):
                yield item

        async for item in self._stream(context, items()):
            yield item

    # --- routing and chat ------------------------------------------------------------------

    async def Chat(self, request, context):
        deadline = Deadline.of(context)

        async def chunks():
            problem = chat_problem(request)
            _require(problem is None, problem or "")
            self._check_cache(request.options)
            found = await self.chatting.look_up(request, deadline, self._scope(context))
            if request.HasField("stream") and not request.stream:
                whole = await self.chatting.respond(request, deadline, found)
                yield gateway_pb2.ChatChunk(response=whole)
                return
            call_id = self.chatting.call_id_for(found)
            async for chunk in self.chatting.chat(request, deadline, call_id, found):
                yield chunk

        async for chunk in self._stream(context, chunks()):
            yield chunk

    async def Route(self, request, context) -> gateway_pb2.RouteResponse:
        deadline = Deadline.of(context)

        async def work():
            _require(bool(request.text.strip()), "text is required: the prompt to route")
            routing = await self.router.route(
                request.text,
                deadline,
                candidates=request.candidates,
                lam=_lambda(request),
                scoring=request.scoring,
            )
            return gateway_pb2.RouteResponse(routing=routing)

        return await self._run(context, work())

    def _check_labelled(self, request) -> None:
        self._check_batch(request.items)
        _require(request.trials >= 0, f"trials must not be negative; got {request.trials}")
        for i, item in enumerate(request.items):
            _require(bool(item.question.strip()), f"items[{i}].question is empty")
            patterns = list(item.answer_patterns or request.answer_patterns)
            _require(
                item.label.casefold() in {p.casefold() for p in patterns},
                f"items[{i}].label {item.label!r} is not one of its answer patterns {patterns}",
            )

    async def OnboardModel(self, request, context):
        deadline = Deadline.of(context)

        async def progress():
            _require(bool(request.alias.strip()), "alias is required: the model to onboard")
            self._check_labelled(request)
            async for step in self.onboarding.onboard(request, deadline):
                yield step

        async for step in self._stream(context, progress()):
            yield step

    async def ProfileModels(self, request, context):
        deadline = Deadline.of(context)

        async def progress():
            _require(bool(request.models), "models is required: the aliases to profile")
            for i, alias in enumerate(request.models):
                _require(bool(alias.strip()), f"models[{i}] is empty")
            twice = sorted({m for m in request.models if list(request.models).count(m) > 1})
            _require(not twice, f"models lists {', '.join(twice)} more than once")
            self._check_labelled(request)
            async for step in self.onboarding.profile(request, deadline):
                yield step

        async for step in self._stream(context, progress()):
            yield step

    async def GetCapabilityMap(self, request, context) -> routing_pb2.CapabilityMap:
        return await self._pass(context, "learning", "GetCapabilityMap", request)

    async def SuggestPanel(self, request, context) -> routing_pb2.SuggestedPanel:
        return await self._pass(context, "learning", "SuggestPanel", request)

    # --- pass-through ------------------------------------------------------------------------

    async def Health(self, request, context) -> models_pb2.ModelHealthReport:
        return await self._pass(context, "ensemble", "Health", request)

    async def ListModels(self, request, context) -> models_pb2.ModelList:
        return await self._pass(context, "ensemble", "ListModels", request)

    async def ListPanels(self, request, context) -> models_pb2.PanelList:
        deadline = Deadline.of(context)

        async def work():
            panels = await self.downstreams.call("ensemble", "ListPanels", request, deadline)
            try:
                champion = await self.downstreams.call(
                    "learning", "GetPanel", learning_pb2.GetPanelRequest(name=CHAMPION), deadline
                )
                panels.panels.append(champion)
            except DownstreamError as exc:
                if exc.code not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNIMPLEMENTED):
                    raise
            return panels

        return await self._run(context, work())

    async def Feedback(self, request, context) -> ratings_pb2.FeedbackResult:
        return await self._run(context, self.feedback.submit(request, Deadline.of(context)))

    async def Rankings(self, request, context) -> ratings_pb2.Rankings:
        return await self._pass(context, "learning", "GetRankings", request)

    async def Evolve(self, request, context) -> ratings_pb2.EvolveResult:
        return await self._pass(context, "learning", "Evolve", request)

    async def EvolutionHistory(self, request, context) -> gateway_pb2.EvolutionHistoryResponse:
        deadline = Deadline.of(context)

        async def work():
            changes = await self.downstreams.call(
                "learning",
                "ListPanelChanges",
                learning_pb2.ListPanelChangesRequest(panel=request.panel, limit=request.limit),
                deadline,
            )
            return gateway_pb2.EvolutionHistoryResponse(changes=changes.changes)

        return await self._run(context, work())

    async def ErrorCorrelations(self, request, context) -> routing_pb2.ErrorCorrelations:
        return await self._pass(context, "learning", "ErrorCorrelations", request)

    async def Stats(self, request, context) -> records_pb2.Stats:
        return await self._pass(context, "learning", "GetStats", request)

    async def ListCalls(self, request, context) -> records_pb2.CallPage:
        return await self._pass(context, "learning", "ListCalls", request)

    async def GetInfo(self, request, context) -> info_pb2.ServiceInfo:
        if request.probe_downstreams:
            await self.downstreams.refresh(self.health)
        return service_info(
            "gateway", SERVICE, NOT_BUILT, self.health, self.settings, self.downstreams.describe()
        )
