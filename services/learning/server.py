"""The learning process: settings, servicer, and the shared bootstrap."""

from __future__ import annotations

from collections.abc import Sequence

from freescaling.learning.v1 import learning_pb2_grpc
from services.common import server
from services.common.health import Health
from services.learning.config import LearningSettings
from services.learning.servicer import SERVICE, LearningServicer


def build(settings: LearningSettings, health: Health) -> server.Service:
    servicer = LearningServicer(settings, health)
    return server.Service(
        name="learning",
        grpc_service=SERVICE.full_name,
        port=settings.port,
        add_to_server=lambda srv: learning_pb2_grpc.add_LearningServicer_to_server(servicer, srv),
    )


def main(argv: Sequence[str] | None = None) -> int:
    return server.main("learning", SERVICE.full_name, LearningSettings, build, argv)
