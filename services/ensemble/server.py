"""The ensemble process: settings, the registry, the pool (provider, limiter, dead table), the
servicer, optional background probes, and the shared bootstrap.

It starts offline and without an API key: nothing calls a provider until a request (or the
optional periodic probe) does, so readiness is SERVING at once; model problems show through the
Health RPC and in each vote's error."""

from __future__ import annotations

from collections.abc import Sequence

from freescaling.ensemble.v1 import ensemble_pb2_grpc
from services.common import server
from services.common.health import Health
from services.ensemble import registry
from services.ensemble.config import EnsembleSettings
from services.ensemble.deadmodels import DeadModels
from services.ensemble.pool import Pool
from services.ensemble.probe import BackgroundProber
from services.ensemble.provider import Provider
from services.ensemble.ratelimit import RateLimiter
from services.ensemble.servicer import SERVICE, EnsembleServicer


def build(settings: EnsembleSettings, health: Health) -> server.Service:
    try:
        models = registry.load(settings.registry)
    except registry.RegistryError as exc:
        raise server.StartupError(
            f"invalid model registry (FREESCALING_ENSEMBLE_REGISTRY): {exc}"
        ) from None
    models = registry.with_api_base(models, settings.api_base)
    provider = Provider(
        limiter=RateLimiter(settings.rate_limit_rpm, settings.rate_limit_burst),
        retry_429_attempts=settings.retry_429_attempts,
    )
    pool = Pool(models, provider, DeadModels(settings.dead_ttl_s), settings.max_models)
    servicer = EnsembleServicer(settings, health, pool)
    prober = BackgroundProber(
        pool, settings.probe_interval_s, settings.probe_timeout_s, settings.slow_threshold_s
    )

    async def on_start(_health: Health) -> None:
        prober.start()

    async def on_stop() -> None:
        await prober.stop()
        await provider.close()

    return server.Service(
        name="ensemble",
        grpc_service=SERVICE.full_name,
        port=settings.port,
        add_to_server=lambda srv: ensemble_pb2_grpc.add_EnsembleServicer_to_server(servicer, srv),
        on_start=on_start,
        on_stop=on_stop,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return server.main("ensemble", SERVICE.full_name, EnsembleSettings, build, argv)
