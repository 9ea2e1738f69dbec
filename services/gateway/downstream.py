"""The gateway's connections to the classifier, the ensemble and learning: channels with retry
policies for idempotent calls, a deadline on every call (never longer than the caller has left),
downstream failures turned into errors that name the service, and a health monitor that keeps
the gateway's readiness in step with its required downstreams.

Each channel balances over every address its target resolves to (`round_robin`), so that behind
a headless Kubernetes Service (`dns:///ensemble:50053`) every replica gets calls: a
channel is one HTTP/2 connection per address, and with the default `pick_first` one gateway
would talk to one pod for the life of its connection. Client-side health checking leaves out an
address whose readiness name is not SERVING (a pod shutting down, an ensemble without its key).
Read-only calls (models, panels, rankings, stats...) answer whatever the readiness: while no
address of a downstream is ready they go through a second channel that leaves out only
addresses whose liveness is not SERVING (shutting down), so that `freescaling models` and
`/v1/models` work while, say, the ensemble waits for its provider key. A downstream that is
alive but not ready is asked why (its GetInfo's not_ready_reason), and that reason is the
gateway's.
The DNS name is resolved again when a connection fails or the server ends it with GOAWAY; the
servers' `FREESCALING_MAX_CONNECTION_AGE_S` makes that happen periodically, so new pods are
found even while the old ones stay healthy."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc

from freescaling.classifier.v1 import classifier_pb2, classifier_pb2_grpc
from freescaling.common.v1 import info_pb2
from freescaling.ensemble.v1 import ensemble_pb2, ensemble_pb2_grpc
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc
from services.common.health import Health
from services.common.request_context import outgoing_metadata
from services.gateway.config import GatewaySettings
from services.gateway.deadline import Deadline

logger = logging.getLogger(__name__)

# Calls that may be retried on UNAVAILABLE: reads, and writes that are idempotent by key
# (RecordCall by call_id, AttachShadows by call and shadow, SubmitFeedback by feedback). Never
# Scale, Generate or Complete: a retry there would pay a provider twice.
_IDEMPOTENT = {
    "classifier": ["Classify", "ClassifyBatch", "Embed", "GetClusters", "GetInfo"],
    "ensemble": ["Health", "ListModels", "ListPanels", "GetInfo"],
    "learning": [
        "RecordCall", "AttachShadows", "SubmitFeedback", "GetRankings", "GetPanel",
        "ListPanelChanges", "RecordClusterSet", "GetProfile", "ListProfiles", "Route",
        "ErrorCorrelation", "ErrorCorrelations", "GetStats", "ListCalls", "GetCall", "GetInfo",
    ],
}  # fmt: skip

# Calls that only read, answered by a downstream that is alive but not ready.
_READS = {
    "classifier": {"GetClusters", "GetInfo"},
    "ensemble": {"Health", "ListModels", "ListPanels", "GetInfo"},
    "learning": {
        "GetRankings", "GetPanel", "ListPanelChanges", "GetProfile", "ListProfiles",
        "ErrorCorrelation", "ErrorCorrelations", "GetStats", "ListCalls", "GetCall", "GetInfo",
        "GetCapabilityMap", "SuggestPanel",
    },
}  # fmt: skip

_SERVICES = {
    "classifier": (classifier_pb2, "Classifier", classifier_pb2_grpc.ClassifierStub),
    "ensemble": (ensemble_pb2, "Ensemble", ensemble_pb2_grpc.EnsembleStub),
    "learning": (learning_pb2, "Learning", learning_pb2_grpc.LearningStub),
}


def _service_config(grpc_service: str, idempotent: Sequence[str], health_name: str) -> str:
    return json.dumps(
        {
            # A subchannel (one connection) per resolved address, calls spread over the ready ones.
            "loadBalancingConfig": [{"round_robin": {}}],
            # Ready means the health name is SERVING (a Watch stream per subchannel), not merely
            # that the TCP connection is up: the readiness name for work, liveness ("") for reads.
            "healthCheckConfig": {"serviceName": health_name},
            "methodConfig": [
                {
                    "name": [{"service": grpc_service, "method": m} for m in idempotent],
                    # Three tries spaced 0.1 s then 0.2 s: rides over a pod restart's brief
                    # refusal without eating much of the caller's deadline.
                    "retryPolicy": {
                        "maxAttempts": 3,
                        "initialBackoff": "0.1s",
                        "maxBackoff": "1s",
                        "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"],
                    },
                }
            ],
        }
    )


@dataclass
class Downstream:
    """One internal service: its channel, stub and last known health."""

    name: str
    target: str
    grpc_service: str
    required: bool
    channel: grpc.aio.Channel
    stub: object
    health_stub: health_pb2_grpc.HealthStub
    # Over the ready channel (readiness name health-checked per address): SERVING while any is.
    ready_health_stub: health_pb2_grpc.HealthStub | None = None
    # Over the addresses that are alive, ready or not: for reads while none is ready.
    live_channel: grpc.aio.Channel | None = None
    live_stub: object = None
    serving: bool = False
    detail: str = "not checked yet"
    # Alive but not ready: the downstream's own reason (its GetInfo's not_ready_reason).
    reason: str = ""
    checked_at: float = 0.0

    def describe(self) -> info_pb2.Downstream:
        checked = Timestamp()
        if self.checked_at:
            checked.FromNanoseconds(int(self.checked_at * 1e9))
        return info_pb2.Downstream(
            name=self.name,
            target=self.target,
            required=self.required,
            serving=self.serving,
            detail=self.detail,
            checked_at=checked if self.checked_at else None,
        )

    async def check(self, timeout_s: float) -> bool:
        """Ask the downstream's readiness name; remember and return whether it is SERVING.
        One that is alive but not ready is asked why, and its own reason is the detail."""
        request = health_pb2.HealthCheckRequest(service=self.grpc_service)
        try:
            # Over the ready channel: SERVING while any replica is (with replicas ready and not,
            # a check over every live one would answer for whichever it met, and flap).
            reply = await self.ready_health_stub.Check(request, timeout=timeout_s)
        except grpc.aio.AioRpcError:
            try:
                # No replica ready: the live ones say why (NOT_SERVING), or that none is up.
                reply = await self.health_stub.Check(request, timeout=timeout_s)
            except grpc.aio.AioRpcError as exc:
                reply = None
                serving, detail = False, f"{exc.code().name}: {exc.details()}"
        if reply is not None:
            serving = reply.status == health_pb2.HealthCheckResponse.SERVING
            detail = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        reason = ""
        if not serving and detail == "NOT_SERVING":
            reason = await self._reason(timeout_s)
            detail = reason or detail
        if serving != self.serving:
            logger.log(
                logging.INFO if serving else logging.WARNING,
                "downstream %s (%s) is %s: %s",
                self.name,
                self.target,
                "serving" if serving else "not serving",
                detail,
            )
        self.serving, self.detail, self.checked_at = serving, detail, time.time()
        self.reason = reason
        return serving

    async def _reason(self, timeout_s: float) -> str:
        """The downstream's own not_ready_reason (empty when it gives none or cannot say)."""
        try:
            info = await self.live_stub.GetInfo(info_pb2.GetInfoRequest(), timeout=timeout_s)
        except grpc.aio.AioRpcError:
            return ""
        return info.not_ready_reason


class DownstreamError(Exception):
    """A downstream call failed; `code` and `message` are what the gateway's caller gets."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class Downstreams:
    """The three internal services, and the calls the gateway makes to them."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        max_bytes = int(settings.max_message_mb * 1024 * 1024)
        self.services: dict[str, Downstream] = {}
        targets = {
            "classifier": settings.classifier_addr,
            "ensemble": settings.ensemble_addr,
            "learning": settings.learning_addr,
        }
        for name, (module, short, stub_cls) in _SERVICES.items():
            grpc_service = module.DESCRIPTOR.services_by_name[short].full_name
            channel, live = (
                self._channel(targets[name], grpc_service, name, health_name, max_bytes)
                for health_name in (grpc_service, "")
            )
            self.services[name] = Downstream(
                name=name,
                target=targets[name],
                grpc_service=grpc_service,
                required=name in settings.required,
                channel=channel,
                stub=stub_cls(channel),
                # Over the live channel: the ready one would answer "backend unhealthy" for a
                # downstream that is alive but not ready, instead of its own NOT_SERVING.
                health_stub=health_pb2_grpc.HealthStub(live),
                ready_health_stub=health_pb2_grpc.HealthStub(channel),
                live_channel=live,
                live_stub=stub_cls(live),
            )
        self._monitor: asyncio.Task | None = None

    @staticmethod
    def _channel(
        target: str, grpc_service: str, name: str, health_name: str, max_bytes: int
    ) -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(
            target,
            options=[
                ("grpc.max_receive_message_length", max_bytes),
                ("grpc.max_send_message_length", max_bytes),
                ("grpc.enable_retries", 1),
                (
                    "grpc.service_config",
                    _service_config(grpc_service, _IDEMPOTENT[name], health_name),
                ),
                # Ping an idle connection every 20 s so a dead peer is noticed before the
                # next user request finds it (servers permit pings every 10 s).
                ("grpc.keepalive_time_ms", 20_000),
                ("grpc.keepalive_timeout_ms", 10_000),
                # Reconnect quickly after a downstream restarts (default backoff caps at 120 s).
                ("grpc.max_reconnect_backoff_ms", 2_000),
            ],
        )

    # --- health -----------------------------------------------------------------------------

    async def check_all(self) -> bool:
        """Check every downstream now; True when every required one is serving."""
        await asyncio.gather(
            *(d.check(self.settings.health_timeout_s) for d in self.services.values())
        )
        return all(d.serving for d in self.services.values() if d.required)

    def not_ready_reason(self) -> str:
        """Which required downstreams are not serving, for GetInfo (empty when all are)."""
        down = [d for d in self.services.values() if d.required and not d.serving]
        return "; ".join(
            f"the required {d.name} service ({d.target}) is not serving: {d.detail}" for d in down
        )

    async def refresh(self, health: Health) -> None:
        """Check every downstream now and set the gateway's readiness (and its reason)."""
        ready = await self.check_all()
        await health.set_ready(ready, "" if ready else self.not_ready_reason())

    async def start(self, health: Health) -> None:
        await self.refresh(health)
        self._monitor = asyncio.create_task(self._watch(health), name="downstream-health")

    async def _watch(self, health: Health) -> None:
        while True:
            await asyncio.sleep(self.settings.health_interval_s)
            try:
                await self.refresh(health)
            except Exception:
                logger.exception("downstream health check failed")

    async def close(self) -> None:
        if self._monitor:
            self._monitor.cancel()
            await asyncio.gather(self._monitor, return_exceptions=True)
        await asyncio.gather(
            *(c.close() for d in self.services.values() for c in (d.channel, d.live_channel) if c)
        )

    def describe(self) -> list[info_pb2.Downstream]:
        return [d.describe() for d in self.services.values()]

    # --- calls ------------------------------------------------------------------------------

    def _timeout(self, name: str, deadline: Deadline, cap: float) -> tuple[float, str]:
        remaining = deadline.remaining()
        if remaining is not None and remaining < cap:
            if remaining <= 0:
                raise DownstreamError(
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    f"the deadline passed before the gateway could call the {name} service",
                )
            return remaining, "the caller's deadline"
        return cap, "the gateway's downstream timeout"

    def _error(
        self, name: str, exc: grpc.aio.AioRpcError, timeout: float, why: str
    ) -> DownstreamError:
        target = self.services[name].target
        code = exc.code()
        reason = self.services[name].reason
        if code == grpc.StatusCode.UNAVAILABLE and reason:
            # Alive but not ready: its own reason, not the channel's "backend unhealthy".
            return DownstreamError(code, f"the {name} service ({target}) is not ready: {reason}")
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
            return DownstreamError(
                grpc.StatusCode.UNAVAILABLE,
                f"the {name} service ({target}) is unavailable: {exc.details()}",
            )
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return DownstreamError(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"the {name} service ({target}) did not answer within {timeout:.2f} s ({why})",
            )
        # The downstream's own verdict on the request (INVALID_ARGUMENT, NOT_FOUND,
        # UNIMPLEMENTED...) is the caller's answer, unchanged.
        return DownstreamError(code, exc.details() or code.name)

    async def send(self, name: str, method: str, request, timeout: float, request_id: str = ""):
        """A unary call made on the gateway's own behalf (no caller waiting), e.g. the outbox."""
        rpc: Callable = getattr(self.services[name].stub, method)
        metadata = (("x-request-id", request_id),) if request_id else outgoing_metadata()
        try:
            return await rpc(request, timeout=timeout, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            raise self._error(name, exc, timeout, "the gateway's downstream timeout") from None

    async def call(
        self,
        name: str,
        method: str,
        request,
        deadline: Deadline,
        timeout: float | None = None,
    ):
        """A unary call to `name`.`method`, bounded by the caller's deadline (and by `timeout`
        when it is shorter than the configured downstream timeout)."""
        limit = self.settings.downstream_timeout_s
        timeout, why = self._timeout(name, deadline, min(limit, timeout) if timeout else limit)
        service = self.services[name]
        read = method in _READS[name]
        # A read skips the ready channel while no address of it is ready. The last health check
        # can lag (one that met a replica going away says not serving while another is ready),
        # so the channel's own state, READY while one healthy address is, has the last word.
        ready = service.serving or (
            service.channel.get_state(try_to_connect=False) == grpc.ChannelConnectivity.READY
        )
        stub = service.stub if ready or not read else service.live_stub
        try:
            return await getattr(stub, method)(
                request, timeout=timeout, metadata=outgoing_metadata()
            )
        except grpc.aio.AioRpcError as exc:
            if not (read and stub is service.stub and exc.code() == grpc.StatusCode.UNAVAILABLE):
                raise self._error(name, exc, timeout, why) from None
        # No ready address (readiness just dropped): any live one answers a read.
        timeout, why = self._timeout(name, deadline, timeout)
        try:
            return await getattr(service.live_stub, method)(
                request, timeout=timeout, metadata=outgoing_metadata()
            )
        except grpc.aio.AioRpcError as exc:
            raise self._error(name, exc, timeout, why) from None

    async def stream(self, name: str, method: str, request, deadline: Deadline) -> AsyncIterator:
        """A server-streaming call to `name`.`method`, bounded by the caller's deadline."""
        timeout, why = self._timeout(name, deadline, self.settings.stream_timeout_s)
        # Closed with this one, so that a reader who stops early cancels the call at once.
        async with aclosing(self.stream_for(name, method, request, timeout, why)) as items:
            async for item in items:
                yield item

    def caller_timeout(
        self, name: str, deadline: Deadline, streamed: bool = False
    ) -> tuple[float, str]:
        """What a call to `name` may take (the downstream or stream timeout, within the
        caller's deadline) and whose limit that is."""
        cap = self.settings.stream_timeout_s if streamed else self.settings.downstream_timeout_s
        return self._timeout(name, deadline, cap)

    async def stream_for(
        self, name: str, method: str, request, timeout: float, why: str
    ) -> AsyncIterator:
        """A server-streaming call bounded by `timeout` instead of the caller's deadline: for a
        stream that goes on after the caller has its answer (a late shadow challenger). Who
        reads it bounds the part the caller waits for."""
        rpc: Callable = getattr(self.services[name].stub, method)
        call = rpc(request, timeout=timeout, metadata=outgoing_metadata())
        try:
            async for item in call:
                yield item
        except grpc.aio.AioRpcError as exc:
            raise self._error(name, exc, timeout, why) from None
        finally:
            call.cancel()
