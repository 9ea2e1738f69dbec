"""The gateway process: settings, downstream channels and their health monitor, the servicer."""

from __future__ import annotations

from collections.abc import Sequence

from freescaling.gateway.v1 import gateway_pb2_grpc
from services.common import server
from services.common.health import Health
from services.gateway.access import AccessInterceptor, ApiKeys, KeyFileError
from services.gateway.config import GatewaySettings
from services.gateway.downstream import Downstreams
from services.gateway.servicer import SERVICE, GatewayServicer


def build(settings: GatewaySettings, health: Health) -> server.Service:
    try:
        keys = ApiKeys.from_settings(settings.api_keys, settings.api_keys_file)
    except KeyFileError as exc:
        raise server.StartupError(str(exc)) from None
    downstreams = Downstreams(settings)
    servicer = GatewayServicer(settings, health, downstreams)
    return server.Service(
        name="gateway",
        grpc_service=SERVICE.full_name,
        port=settings.port,
        add_to_server=lambda srv: gateway_pb2_grpc.add_GatewayServicer_to_server(servicer, srv),
        # Readiness follows the required downstreams, checked before serving and every interval.
        on_start=downstreams.start,
        on_stop=downstreams.close,
        ready_on_start=False,
        interceptors=[AccessInterceptor(keys, settings.key_concurrency)],
    )


def main(argv: Sequence[str] | None = None) -> int:
    return server.main("gateway", SERVICE.full_name, GatewaySettings, build, argv)
