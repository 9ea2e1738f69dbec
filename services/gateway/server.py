"""The gateway process: settings, downstream channels and their health monitor, the servicer,
and the OpenAI-compatible HTTP API over the same compositions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import grpc

from freescaling.common.v1 import records_pb2, voting_pb2
from freescaling.gateway.v1 import gateway_pb2_grpc
from freescaling.learning.v1 import learning_pb2
from services.common import server
from services.common.health import Health
from services.common.http_server import HttpServer
from services.gateway.access import Access, AccessInterceptor, ApiKeys, KeyFileError
from services.gateway.config import GatewaySettings
from services.gateway.downstream import DownstreamError, Downstreams
from services.gateway.http.app import HttpApi, build_app
from services.gateway.http.completions import Completions
from services.gateway.http.models import Catalog
from services.gateway.outbox import Entry, Outbox, OutboxPolicy, PermanentError
from services.gateway.servicer import SERVICE, GatewayServicer


def record_sender(downstreams: Downstreams, timeout_s: float, max_bytes: int = 0):
    """The outbox's delivery: RecordCalls on learning for records and AttachShadows for late
    shadow votes, creating ratings for models it has not seen yet. A record learning refuses as
    INVALID_ARGUMENT is final, and so is one larger than the message limit (`max_bytes`); every
    other failure is retried. A learning service without RecordCalls (older, mid-upgrade) gets
    the records one RecordCall at a time."""

    async def send_one(record: records_pb2.CallRecord) -> Exception | None:
        if max_bytes and record.ByteSize() > max_bytes:
            return PermanentError(
                f"the record is {record.ByteSize()} bytes, over the {max_bytes}-byte message "
                "limit (FREESCALING_MAX_MESSAGE_MB)"
            )
        request = learning_pb2.RecordCallRequest(record=record, register_models=True)
        try:
            await downstreams.send("learning", "RecordCall", request, timeout_s, record.request_id)
        except DownstreamError as exc:
            if exc.code == grpc.StatusCode.INVALID_ARGUMENT:
                return PermanentError(exc.message)
            return exc
        return None

    async def send_records(records: list[records_pb2.CallRecord]) -> list[Exception | None]:
        if len(records) == 1:
            return [await send_one(records[0])]
        request = learning_pb2.RecordCallsRequest(records=records, register_models=True)
        try:
            reply = await downstreams.send("learning", "RecordCalls", request, timeout_s)
        except DownstreamError as exc:
            if exc.code != grpc.StatusCode.UNIMPLEMENTED:
                raise
            return [await send_one(record) for record in records]
        return [_outcome(o, "recorded", _FINAL_RECORD) for o in reply.outcomes]

    async def send_shadows(shadows: list[voting_pb2.ShadowVote]) -> list[Exception | None]:
        request = learning_pb2.AttachShadowsRequest(shadows=shadows, register_models=True)
        try:
            reply = await downstreams.send("learning", "AttachShadows", request, timeout_s)
        except DownstreamError as exc:
            if exc.code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED):
                # A learning service without AttachShadows (older) cannot take them: drop.
                return [PermanentError(exc.message)] * len(shadows)
            raise
        return [_outcome(o, "attached", _FINAL_SHADOW) for o in reply.outcomes]

    async def send(entries: list[Entry]) -> list[Exception | None]:
        records = [e for e in entries if isinstance(e, records_pb2.CallRecord)]
        shadows = [e for e in entries if isinstance(e, voting_pb2.ShadowVote)]
        # Records first: a batch may carry a call and (once it is delivered) its shadow.
        outcomes: dict[int, Exception | None] = {}
        if records:
            done = await send_records(records)
            outcomes.update({id(e): o for e, o in zip(records, done, strict=True)})
        if shadows:
            done = await send_shadows(shadows)
            outcomes.update({id(e): o for e, o in zip(shadows, done, strict=True)})
        return [outcomes[id(e)] for e in entries]

    return send


# Item error codes after which retrying cannot help. A shadow's call not found will not appear
# later: the outbox sends a shadow only once its call's record was delivered.
_FINAL_RECORD = {grpc.StatusCode.INVALID_ARGUMENT.name}
_FINAL_SHADOW = {
    grpc.StatusCode.INVALID_ARGUMENT.name,
    grpc.StatusCode.NOT_FOUND.name,
    grpc.StatusCode.FAILED_PRECONDITION.name,
}


def _outcome(outcome, ok: str, final: set[str]) -> Exception | None:
    if outcome.HasField(ok):
        return None
    if outcome.error.code in final:
        return PermanentError(outcome.error.message)
    return DownstreamError(grpc.StatusCode.UNAVAILABLE, outcome.error.message)


def http_app(servicer: GatewayServicer, access: Access, max_body: int):
    """The OpenAI-compatible HTTP API over the servicer's own compositions (one set of panels,
    routing, outbox and access for both surfaces)."""
    catalog = Catalog(servicer.downstreams)
    return build_app(
        HttpApi(
            completions=Completions(
                servicer.chatting, servicer.generation, servicer.voting, catalog
            ),
            catalog=catalog,
            feedback=servicer.feedback,
            downstreams=servicer.downstreams,
            access=access,
            max_body=max_body,
        )
    )


def build(settings: GatewaySettings, health: Health) -> server.Service:
    try:
        keys = ApiKeys.from_settings(settings.api_keys, settings.api_keys_file)
    except KeyFileError as exc:
        raise server.StartupError(str(exc)) from None
    access = Access(keys, settings.key_concurrency)
    downstreams = Downstreams(settings)
    max_bytes = int(settings.max_message_mb * 1024 * 1024)
    outbox = Outbox(
        record_sender(downstreams, settings.downstream_timeout_s, max_bytes),
        OutboxPolicy(
            capacity=settings.outbox_capacity,
            batch_size=settings.outbox_batch_size,
            # A quarter of the message limit leaves room for the request's own framing.
            batch_bytes=max_bytes // 4,
            linger_s=settings.outbox_linger_ms / 1000,
        ),
        Path(settings.outbox_spool_dir) if settings.outbox_spool_dir else None,
    )
    servicer = GatewayServicer(settings, health, downstreams, outbox)
    http = None
    if settings.http:
        http = HttpServer(
            http_app(servicer, access, max_bytes),
            settings.http_port,
            "FREESCALING_GATEWAY_HTTP_PORT",
        )

    async def start(state: Health) -> None:
        await downstreams.start(state)
        await outbox.start()

    async def stop() -> None:
        # Shadows still answering are recorded failed first, so the outbox's flush takes them.
        await servicer.late_shadows.close()
        await servicer.cache.drain()
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
        interceptors=[AccessInterceptor(access)] if access.enabled else [],
        http=http,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return server.main("gateway", SERVICE.full_name, GatewaySettings, build, argv)
