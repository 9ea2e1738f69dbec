"""The one server bootstrap every service uses: a grpc.aio server with size and concurrency
limits, library health (a status per exposed name) and reflection, the request-context
interceptor, an optional HTTP listener on the same event loop (the gateway's OpenAI-compatible
API), and a SIGTERM/SIGINT path that turns health NOT_SERVING, drains in-flight RPCs and HTTP
requests within the grace period, releases resources and exits 0."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.common.health import Health
from services.common.interceptor import RequestContextInterceptor
from services.common.logs import configure_logging
from services.common.metrics import start_metrics_server
from services.common.server_settings import ServerSettings
from services.common.settings import SettingsError, load

if TYPE_CHECKING:
    # Only the gateway serves HTTP; the other services' images do not carry uvicorn.
    from services.common.http_server import HttpServer

logger = logging.getLogger(__name__)

S = TypeVar("S", bound=ServerSettings)

# Exit code when the process cannot start (bad setting, port taken): distinct from a crash.
EXIT_CANNOT_START = 2


@dataclass
class Service:
    """What a service plugs into the bootstrap."""

    name: str
    grpc_service: str
    port: int
    # Adds the service's servicer(s) to the server.
    add_to_server: Callable[[grpc.aio.Server], None]
    # Runs after the port is bound, before readiness; may start background work.
    on_start: Callable[[Health], Awaitable[None]] | None = None
    # Runs after in-flight RPCs drained: close channels, databases, models.
    on_stop: Callable[[], Awaitable[None]] | None = None
    # True: readiness goes SERVING as soon as serving starts; False: on_start decides.
    ready_on_start: bool = True
    # Interceptors after the request-context one (which binds request ids, logs and counts).
    interceptors: Sequence[grpc.aio.ServerInterceptor] = field(default_factory=tuple)
    # An HTTP API served beside gRPC, started and drained with it; None for gRPC only.
    http: HttpServer | None = None


class StartupError(RuntimeError):
    """The service cannot start (port taken, invalid configuration...); the message says why."""


class PortInUse(StartupError):
    pass


def _server_options(settings: ServerSettings) -> list[tuple[str, int]]:
    max_bytes = int(settings.max_message_mb * 1024 * 1024)
    age = []
    if settings.max_connection_age_s > 0:
        # A client balancing over a headless Service's addresses re-resolves only when a
        # connection ends: ending each one after a while (gRPC adds +-10% jitter) lets new
        # replicas get traffic. No age grace option: calls in flight (streams included) finish.
        age = [("grpc.max_connection_age_ms", int(settings.max_connection_age_s * 1000))]
    return [
        *age,
        # Over this a request or response is refused with RESOURCE_EXHAUSTED (both directions).
        ("grpc.max_receive_message_length", max_bytes),
        ("grpc.max_send_message_length", max_bytes),
        # gRPC sets SO_REUSEPORT by default, which lets a second server bind a taken port
        # silently and split traffic with the first; a taken port must be an error instead.
        ("grpc.so_reuseport", 0),
        # Let idle clients keep connections open with pings every 20 s (load balancers drop
        # silent TCP connections), without being treated as abusive.
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
    ]


def _tls_credentials(settings: ServerSettings) -> grpc.ServerCredentials:
    try:
        key, cert = Path(settings.tls_key).read_bytes(), Path(settings.tls_cert).read_bytes()
    except OSError as exc:
        raise StartupError(
            f"cannot read the TLS files (FREESCALING_TLS_CERT / FREESCALING_TLS_KEY): {exc}"
        ) from None
    return grpc.ssl_server_credentials([(key, cert)])


async def serve(service: Service, settings: ServerSettings, state: Health) -> int:
    """Serve until SIGTERM or SIGINT, then drain and return the exit code."""
    server = grpc.aio.server(
        interceptors=[RequestContextInterceptor(), *service.interceptors],
        options=_server_options(settings),
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
    )
    health_pb2_grpc.add_HealthServicer_to_server(state.servicer, server)
    service.add_to_server(server)
    reflection.enable_server_reflection(
        (
            service.grpc_service,
            health.SERVICE_NAME,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    address = f"{settings.host}:{service.port}"
    try:
        if settings.tls_cert:
            port = server.add_secure_port(address, _tls_credentials(settings))
        else:
            port = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise PortInUse(
            f"{service.name} cannot listen on {address}: the port is in use or the address is "
            f"not available ({exc}); stop what holds it or choose another port "
            f"(FREESCALING_{service.name.upper()}_PORT or --port)"
        ) from None
    if port == 0:
        raise PortInUse(f"{service.name} cannot listen on {address}: the port is in use")

    metrics = None
    if settings.metrics:
        wanted = settings.metrics_port if settings.metrics_port >= 0 else port + 1000
        if service.port == 0 and settings.metrics_port < 0:
            wanted = 0  # an ephemeral gRPC port gets an ephemeral metrics port
        try:
            metrics = start_metrics_server(settings.host, wanted)
        except OSError as exc:
            await server.stop(None)
            raise PortInUse(
                f"{service.name} cannot serve metrics on {settings.host}:{wanted}: {exc.strerror}; "
                "choose another with FREESCALING_METRICS_PORT or turn metrics off with "
                "FREESCALING_METRICS=false"
            ) from None

    http_port = None
    if service.http is not None:
        try:
            http_port = await service.http.start(
                settings.host, settings.grace_s, settings.tls_cert, settings.tls_key
            )
        except OSError as exc:
            await server.stop(None)
            if metrics:
                metrics.shutdown()
                metrics.server_close()
            raise PortInUse(
                f"{service.name} cannot serve HTTP on {settings.host}:{service.http.port}: "
                f"{exc.strerror or exc}; choose another port with {service.http.port_setting}"
            ) from None

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    await server.start()
    await state.start()
    if service.on_start:
        await service.on_start(state)
    if service.ready_on_start:
        await state.set_ready(True)
    if settings.port_file:
        Path(settings.port_file).write_text(str(port))
    metrics_port = metrics.server_port if metrics else None
    scheme = "https" if settings.tls_cert else "http"
    logger.info(
        "%s serving on %s:%d (metrics: %s%s)",
        service.name,
        settings.host,
        port,
        f"http://{settings.host}:{metrics_port}/metrics" if metrics else "off",
        f"; HTTP API: {scheme}://{settings.host}:{http_port}" if http_port else "",
        extra={"port": port, "metrics_port": metrics_port, "http_port": http_port},
    )

    await stop.wait()
    logger.info(
        "shutting down: NOT_SERVING, draining in-flight calls for up to %.1f s", settings.grace_s
    )
    await state.shut_down()
    # Both listeners stop accepting at once and share the grace period.
    await asyncio.gather(
        server.stop(settings.grace_s), *([service.http.stop()] if service.http else [])
    )
    if service.on_stop:
        await service.on_stop()
    if metrics:
        metrics.shutdown()
        metrics.server_close()
    logger.info("%s stopped", service.name)
    return 0


async def _build_and_serve(
    build: Callable[[S, Health], Service], settings: S, readiness: str
) -> int:
    state = Health(readiness)
    return await serve(build(settings, state), settings, state)


def main(
    name: str,
    grpc_service: str,
    settings_cls: type[S],
    build: Callable[[S, Health], Service],
    argv: Sequence[str] | None = None,
) -> int:
    """Process entry point: settings, logging, serve; exit 2 with a message if it cannot start."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        settings = load(settings_cls, argv, prog=f"python -m services.{name}")
    except SettingsError as exc:
        print(f"{name}: bad setting: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    configure_logging(name, settings.log_level, settings.log_format)
    try:
        return asyncio.run(_build_and_serve(build, settings, grpc_service))
    except StartupError as exc:
        logger.error("%s", exc)
        return EXIT_CANNOT_START


def exit_now(code: int) -> NoReturn:
    """End the process with `code` once `main` has returned, without the interpreter's teardown.
    By then the service has drained, released what it holds (its on_stop) and logged its last
    line; what is left is freeing every module's objects one by one, which took the ensemble
    (litellm) and the classifier (torch) 2-3 s on every stop: a rolling update, and every test
    stack, waited on it. Logs and standard streams are flushed first."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)
