"""The ensemble's RPC surface."""

from __future__ import annotations

from freescaling.common.v1 import info_pb2
from freescaling.ensemble.v1 import ensemble_pb2, ensemble_pb2_grpc
from services.common.capabilities import with_capabilities
from services.common.health import Health
from services.common.info import service_info
from services.ensemble.config import EnsembleSettings

SERVICE = ensemble_pb2.DESCRIPTOR.services_by_name["Ensemble"]
_ISSUE = "ensemble service issue"
NOT_BUILT = {
    "Scale": f"voting across k models with parallel short-circuit ({_ISSUE})",
    "ScaleBatch": f"streamed batch voting ({_ISSUE})",
    "Generate": f"best-of-k generation judged by different models ({_ISSUE})",
    "GenerateBatch": f"streamed batch generation ({_ISSUE})",
    "Health": f"parallel model probes and the dead-model table ({_ISSUE})",
    "ListModels": f"the model registry ({_ISSUE})",
    "ListPanels": f"configured and default panels ({_ISSUE})",
    "RegisterModel": f"adding a model to the registry at run time ({_ISSUE})",
    "Complete": f"streamed single-model completions ({_ISSUE})",
}


@with_capabilities(SERVICE, NOT_BUILT)
class EnsembleServicer(ensemble_pb2_grpc.EnsembleServicer):
    def __init__(self, settings: EnsembleSettings, health: Health) -> None:
        self.settings, self.health = settings, health

    async def GetInfo(self, request, context) -> info_pb2.ServiceInfo:
        return service_info("ensemble", SERVICE, NOT_BUILT, self.health, self.settings)
