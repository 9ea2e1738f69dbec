"""The classifier's RPC surface."""

from __future__ import annotations

from freescaling.classifier.v1 import classifier_pb2, classifier_pb2_grpc
from freescaling.common.v1 import info_pb2
from services.classifier.config import ClassifierSettings
from services.common.capabilities import with_capabilities
from services.common.health import Health
from services.common.info import service_info

SERVICE = classifier_pb2.DESCRIPTOR.services_by_name["Classifier"]
_MODEL = "the DeBERTa prompt classifier (classifier service issue)"
NOT_BUILT = {
    "Classify": f"classification by {_MODEL}",
    "ClassifyBatch": f"batch classification by {_MODEL}",
    "Embed": f"pooled embeddings from {_MODEL}",
    "FitClusters": "K-means over pooled embeddings (classifier service issue)",
    "GetClusters": "the centroid set in use (classifier service issue)",
}


@with_capabilities(SERVICE, NOT_BUILT)
class ClassifierServicer(classifier_pb2_grpc.ClassifierServicer):
    def __init__(self, settings: ClassifierSettings, health: Health) -> None:
        self.settings, self.health = settings, health

    async def GetInfo(self, request, context) -> info_pb2.ServiceInfo:
        return service_info("classifier", SERVICE, NOT_BUILT, self.health, self.settings)
