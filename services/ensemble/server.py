"""The ensemble process: settings, servicer, and the shared bootstrap."""

from __future__ import annotations

from collections.abc import Sequence

from freescaling.ensemble.v1 import ensemble_pb2_grpc
from services.common import server
from services.common.health import Health
from services.ensemble.config import EnsembleSettings
from services.ensemble.servicer import SERVICE, EnsembleServicer


def build(settings: EnsembleSettings, health: Health) -> server.Service:
    servicer = EnsembleServicer(settings, health)
    return server.Service(
        name="ensemble",
        grpc_service=SERVICE.full_name,
        port=settings.port,
        add_to_server=lambda srv: ensemble_pb2_grpc.add_EnsembleServicer_to_server(servicer, srv),
    )


def main(argv: Sequence[str] | None = None) -> int:
    return server.main("ensemble", SERVICE.full_name, EnsembleSettings, build, argv)
