"""The public API. Thin: every RPC is a composition of calls to the internal services; the
capabilities that compose several services arrive with the gateway issue and answer
UNIMPLEMENTED until then."""

from __future__ import annotations

import grpc

from freescaling.common.v1 import info_pb2, models_pb2, ratings_pb2, records_pb2
from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from services.common.capabilities import with_capabilities
from services.common.health import Health
from services.common.info import service_info
from services.gateway.config import GatewaySettings
from services.gateway.downstream import DownstreamError, Downstreams
from services.gateway.outbox import Outbox

SERVICE = gateway_pb2.DESCRIPTOR.services_by_name["Gateway"]
_ISSUE = "gateway issue"
NOT_BUILT = {
    "Scale": f"voting with k=1/3/5 and the k=auto cascade ({_ISSUE})",
    "Generate": f"best-of-k generation with the champion panel ({_ISSUE})",
    "ScaleBatch": f"streamed batch voting ({_ISSUE})",
    "GenerateBatch": f"streamed batch generation ({_ISSUE})",
    "Chat": f"routed, streamed chat completions ({_ISSUE})",
    "Route": f"routing explained: classification, tier map and profiles ({_ISSUE})",
    "OnboardModel": f"UniRoute onboarding of a new model from a labelled set ({_ISSUE})",
}


@with_capabilities(SERVICE, NOT_BUILT)
class GatewayServicer(gateway_pb2_grpc.GatewayServicer):
    def __init__(
        self, settings: GatewaySettings, health: Health, downstreams: Downstreams, outbox: Outbox
    ) -> None:
        self.settings, self.health, self.downstreams = settings, health, downstreams
        # Every scale/generate/chat outcome goes to learning through here (gateway issue).
        self.outbox = outbox

    async def _call(self, context: grpc.aio.ServicerContext, service: str, method: str, request):
        try:
            return await self.downstreams.call(service, method, request, context)
        except DownstreamError as exc:
            await context.abort(exc.code, exc.message)

    async def Health(self, request, context) -> models_pb2.ModelHealthReport:
        return await self._call(context, "ensemble", "Health", request)

    async def ListModels(self, request, context) -> models_pb2.ModelList:
        return await self._call(context, "ensemble", "ListModels", request)

    async def ListPanels(self, request, context) -> models_pb2.PanelList:
        return await self._call(context, "ensemble", "ListPanels", request)

    async def Feedback(self, request, context) -> ratings_pb2.FeedbackResult:
        return await self._call(context, "learning", "SubmitFeedback", request)

    async def Rankings(self, request, context) -> ratings_pb2.Rankings:
        return await self._call(context, "learning", "GetRankings", request)

    async def Evolve(self, request, context) -> ratings_pb2.EvolveResult:
        return await self._call(context, "learning", "Evolve", request)

    async def Stats(self, request, context) -> records_pb2.Stats:
        return await self._call(context, "learning", "GetStats", request)

    async def ListCalls(self, request, context) -> records_pb2.CallPage:
        return await self._call(context, "learning", "ListCalls", request)

    async def GetInfo(self, request, context) -> info_pb2.ServiceInfo:
        if request.probe_downstreams:
            await self.downstreams.check_all()
        return service_info(
            "gateway", SERVICE, NOT_BUILT, self.health, self.settings, self.downstreams.describe()
        )
