"""The classifier process: settings, servicer, and the shared bootstrap."""

from __future__ import annotations

from collections.abc import Sequence

from freescaling.classifier.v1 import classifier_pb2_grpc
from services.classifier.config import ClassifierSettings
from services.classifier.servicer import SERVICE, ClassifierServicer
from services.common import server
from services.common.health import Health


def build(settings: ClassifierSettings, health: Health) -> server.Service:
    servicer = ClassifierServicer(settings, health)
    return server.Service(
        name="classifier",
        grpc_service=SERVICE.full_name,
        port=settings.port,
        add_to_server=lambda srv: classifier_pb2_grpc.add_ClassifierServicer_to_server(
            servicer, srv
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    return server.main("classifier", SERVICE.full_name, ClassifierSettings, build, argv)
