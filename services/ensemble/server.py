"""The ensemble process: settings, the registry, the pool (provider, limiter, dead table), the
servicer, optional background probes, the models registered at run time (kept by learning when
FREESCALING_ENSEMBLE_LEARNING_ADDR is set: loaded before readiness, then polled), and the
shared bootstrap.

It starts offline: nothing calls a provider until a request (or the optional periodic probe)
does. Readiness waits for the first load of learning's registered models (when learning cannot
be reached, the registry file's models are served meanwhile and the poll keeps trying); then it
is SERVING when the default panels can be filled with models that have their credentials, and
NOT_SERVING, with the reason (what to set) logged once and in GetInfo, while they cannot (unless
FREESCALING_ENSEMBLE_REQUIRE_KEYS is false). Read-only calls (ListModels, ListPanels, GetInfo)
answer either way; model problems show through the Health RPC and in each vote's error."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from freescaling.ensemble.v1 import ensemble_pb2_grpc
from services.common import server
from services.common.health import Health
from services.ensemble import registry
from services.ensemble.config import EnsembleSettings
from services.ensemble.deadmodels import DeadModels
from services.ensemble.keys import missing_by_variable, not_ready_reason
from services.ensemble.pool import NoModel, Pool
from services.ensemble.probe import BackgroundProber
from services.ensemble.provider import Provider
from services.ensemble.ratelimit import RateLimiter
from services.ensemble.registered import RegisteredModels
from services.ensemble.servicer import SERVICE, EnsembleServicer

logger = logging.getLogger(__name__)


def build(settings: EnsembleSettings, health: Health) -> server.Service:
    try:
        models = registry.load(settings.registry)
    except registry.RegistryError as exc:
        raise server.StartupError(
            f"invalid model registry (FREESCALING_ENSEMBLE_REGISTRY): {exc}"
        ) from None
    models = registry.with_api_base(models, settings.api_base)
    provider = Provider(
        limiter=RateLimiter.share(
            settings.rate_limit_rpm, settings.rate_limit_burst, settings.rate_limit_replicas
        ),
        retry_429_attempts=settings.retry_429_attempts,
        retry_5xx_attempts=settings.retry_5xx_attempts,
        limited_bases=tuple(settings.rate_limit_bases),
        require_keys=settings.require_keys,
    )
    pool = Pool(models, provider, DeadModels(settings.dead_ttl_s), settings.max_models)
    shared = None
    if settings.learning_addr:
        from services.ensemble.shared_registry import SharedRegistry

        shared = SharedRegistry(settings.learning_addr)
    registered = RegisteredModels(
        models,
        shared,
        settings.registry_poll_s,
        settings.api_base,
        allowed_api_bases=settings.allowed_api_bases,
    )
    servicer = EnsembleServicer(settings, health, pool, registered)
    prober = BackgroundProber(
        pool, settings.probe_interval_s, settings.probe_timeout_s, settings.slow_threshold_s
    )

    def short_panels() -> list[str]:
        """The default panels that cannot be filled with available models."""
        short = []
        for name in (registry.default_panel_name(k) for k in registry.DEFAULT_PANEL_SIZES):
            if name in pool.registry.panels:
                try:
                    pool.filled(pool.registry.panels[name], name)
                except NoModel:
                    short.append(name)
        return short

    async def on_start(state: Health) -> None:
        # Learning's registered models before readiness: a replica that turns ready knows them.
        await registered.start()
        prober.start()
        short = short_panels()
        if short:
            # Alive (liveness stays SERVING, reads answer) but not ready: no default call can.
            reason = not_ready_reason(pool.registry, provider.credentials, short)
            logger.error("not ready: %s", reason)
            await state.set_ready(False, reason)
            return
        missing = missing_by_variable(pool.registry, provider.credentials)
        for lacking, aliases in missing.items():
            # One line per missing credential: those models are listed as unavailable.
            logger.warning(
                "%d model(s) unavailable, no %s: %s", len(aliases), lacking, ", ".join(aliases)
            )
        await state.set_ready(True)

    async def on_stop() -> None:
        await prober.stop()
        await registered.close()
        await provider.close()

    return server.Service(
        name="ensemble",
        grpc_service=SERVICE.full_name,
        port=settings.port,
        add_to_server=lambda srv: ensemble_pb2_grpc.add_EnsembleServicer_to_server(servicer, srv),
        on_start=on_start,
        on_stop=on_stop,
        ready_on_start=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return server.main("ensemble", SERVICE.full_name, EnsembleSettings, build, argv)
