"""The learning service's RPC surface."""

from __future__ import annotations

from freescaling.common.v1 import info_pb2
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc
from services.common.capabilities import with_capabilities
from services.common.health import Health
from services.common.info import service_info
from services.learning.config import LearningSettings

SERVICE = learning_pb2.DESCRIPTOR.services_by_name["Learning"]
_ISSUE = "learning service issue"
NOT_BUILT = {
    "RecordCall": f"call records and the consensus ELO update ({_ISSUE})",
    "SubmitFeedback": f"feedback moving ELO ({_ISSUE})",
    "GetRankings": f"the ELO summary ({_ISSUE})",
    "Evolve": f"champion panel evolution ({_ISSUE})",
    "GetPanel": f"the champion panel ({_ISSUE})",
    "ListPanelChanges": f"panel history ({_ISSUE})",
    "RecordClusterSet": f"cluster set metadata ({_ISSUE})",
    "RecordValidation": f"model profiles from validation sets ({_ISSUE})",
    "GetProfile": f"model profiles ({_ISSUE})",
    "ListProfiles": f"model profiles ({_ISSUE})",
    "Route": f"profile routing ({_ISSUE})",
    "ErrorCorrelation": f"error correlation between models ({_ISSUE})",
    "GetStats": f"call statistics ({_ISSUE})",
    "ListCalls": f"paginated call records ({_ISSUE})",
    "GetCall": f"one call record ({_ISSUE})",
}


@with_capabilities(SERVICE, NOT_BUILT)
class LearningServicer(learning_pb2_grpc.LearningServicer):
    def __init__(self, settings: LearningSettings, health: Health) -> None:
        self.settings, self.health = settings, health

    async def GetInfo(self, request, context) -> info_pb2.ServiceInfo:
        return service_info("learning", SERVICE, NOT_BUILT, self.health, self.settings)
