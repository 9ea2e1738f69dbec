"""The gateway process: settings, downstream channels and their health monitor, the servicer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import grpc

from freescaling.common.v1 import records_pb2
from freescaling.gateway.v1 import gateway_pb2_grpc
from freescaling.learning.v1 import learning_pb2
from services.common import server
from services.common.health import Health
from services.gateway.access import AccessInterceptor, ApiKeys, KeyFileError
from services.gateway.config import GatewaySettings
from services.gateway.downstream import DownstreamError, Downstreams
from services.gateway.outbox import Outbox, OutboxPolicy, PermanentError
from services.gateway.servicer import SERVICE, GatewayServicer


def record_sender(downstreams: Downstreams, timeout_s: float):
    """The outbox's delivery: RecordCall on learning, creating ratings for models it has not
    seen yet; only INVALID_ARGUMENT is final, every other failure is retried."""

    async def send(record: records_pb2.CallRecord) -> None:
        request = learning_pb2.RecordCallRequest(record=record, register_models=True)
        try:
            await downstreams.send("learning", "RecordCall", request, timeout_s, record.request_id)
        except DownstreamError as exc:
            if exc.code == grpc.StatusCode.INVALID_ARGUMENT:
                raise PermanentError(exc.message) from None
            raise

    return send


def build(settings: GatewaySettings, health: Health) -> server.Service:
    try:
        keys = ApiKeys.from_settings(settings.api_keys, settings.api_keys_file)
    except KeyFileError as exc:
        raise server.StartupError(str(exc)) from None
    downstreams = Downstreams(settings)
    outbox = Outbox(
        record_sender(downstreams, settings.downstream_timeout_s),
        OutboxPolicy(capacity=settings.outbox_capacity),
        Path(settings.outbox_spool_dir) if settings.outbox_spool_dir else None,
    )
    servicer = GatewayServicer(settings, health, downstreams, outbox)

    async def start(state: Health) -> None:
        await downstreams.start(state)
        await outbox.start()

    async def stop() -> None:
        await outbox.close(settings.outbox_flush_s)
        await downstreams.close()

    return server.Service(
        name="gateway",
        grpc_service=SERVICE.full_name,
        port=settings.port,
        add_to_server=lambda srv: gateway_pb2_grpc.add_GatewayServicer_to_server(servicer, srv),
        # Readiness follows the required downstreams, checked before serving and every interval.
        on_start=start,
        on_stop=stop,
        ready_on_start=False,
        # Without keys or a per-key limit there is nothing to check: no extra layer per RPC.
        interceptors=(
            [AccessInterceptor(keys, settings.key_concurrency)]
            if keys or settings.key_concurrency
            else []
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    return server.main("gateway", SERVICE.full_name, GatewaySettings, build, argv)
