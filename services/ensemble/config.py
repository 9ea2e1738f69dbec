"""Settings of the ensemble service."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.server_settings import ServerSettings
from services.common.settings import non_negative, port_number, positive, setting


def _at_least_one(value: int) -> str | None:
    return None if value >= 1 else "must be 1 or more"


@dataclass(frozen=True)
class EnsembleSettings(ServerSettings):
    """Settings of the ensemble service."""

    port: int = setting(
        50053, "FREESCALING_ENSEMBLE_PORT", "Port the ensemble listens on", check=port_number
    )
    registry: str = setting(
        "",
        "FREESCALING_ENSEMBLE_REGISTRY",
        "Model registry file (YAML); empty uses the packaged default (NIM's 13 models)",
    )
    learning_addr: str = setting(
        "",
        "FREESCALING_ENSEMBLE_LEARNING_ADDR",
        "gRPC target of the learning service, which then keeps the models registered at run time "
        "(RegisterModel) for every ensemble replica: RegisterModel stores them there first, and "
        "each replica loads them at start and when they change; empty keeps them in this "
        "process's memory only (one replica, lost at its restart)",
    )
    registry_poll_s: float = setting(
        30.0,
        "FREESCALING_ENSEMBLE_REGISTRY_POLL_S",
        "Seconds between asks to learning whether the registered models changed (they travel "
        "only when they did); a request naming an alias this replica does not know asks at once",
        check=positive,
    )
    api_base: str = setting(
        "",
        "FREESCALING_ENSEMBLE_API_BASE",
        "API base for every model, overriding the registry's (e.g. a local OpenAI-compatible "
        "server); empty keeps each entry's",
    )
    allowed_api_bases: list[str] = setting(
        [],
        "FREESCALING_ENSEMBLE_ALLOWED_API_BASES",
        "API bases (comma-separated) a model registered at run time may send its key to, "
        "besides those the registry file's entries use; a registration naming another base "
        "with a key variable is refused (INVALID_ARGUMENT)",
    )
    call_timeout_s: float = setting(
        60.0,
        "FREESCALING_ENSEMBLE_CALL_TIMEOUT_S",
        "Seconds one model call may take (always bounded by the RPC's own deadline)",
        check=positive,
    )
    max_tokens: int = setting(
        1024,
        "FREESCALING_ENSEMBLE_MAX_TOKENS",
        "Output token limit per model call when the request sets none (thinking models need room)",
        check=_at_least_one,
    )
    rate_limit_rpm: float = setting(
        40.0,
        "FREESCALING_ENSEMBLE_RATE_LIMIT_RPM",
        "Client-side ceiling of requests per minute per provider key on the API bases of "
        "FREESCALING_ENSEMBLE_RATE_LIMIT_BASES (NIM's free tier allows about 40); 0 disables "
        "the limiter",
        check=non_negative,
    )
    rate_limit_bases: list[str] = setting(
        ["https://integrate.api.nvidia.com/v1"],
        "FREESCALING_ENSEMBLE_RATE_LIMIT_BASES",
        "API bases (comma-separated) whose provider the client-side limit models (NIM's by "
        "default); calls to any other base (a local server, another provider) are not paced",
    )
    rate_limit_replicas: int = setting(
        1,
        "FREESCALING_ENSEMBLE_RATE_LIMIT_REPLICAS",
        "Ensemble replicas sharing each provider key: each allows RATE_LIMIT_RPM and "
        "RATE_LIMIT_BURST divided by this (the burst at least 1), so that the deployment as a "
        "whole stays within the provider's limit; set it to the most replicas that may run "
        "(the HPA's maxReplicas)",
        check=_at_least_one,
    )
    rate_limit_burst: int = setting(
        5,
        "FREESCALING_ENSEMBLE_RATE_LIMIT_BURST",
        "Requests per provider key that may start at once before the per-minute pace applies",
        check=_at_least_one,
    )
    retry_429_attempts: int = setting(
        4,
        "FREESCALING_ENSEMBLE_RETRY_429_ATTEMPTS",
        "Attempts per model call on HTTP 429 (Retry-After honoured, within the call's deadline)",
        check=_at_least_one,
    )
    retry_5xx_attempts: int = setting(
        2,
        "FREESCALING_ENSEMBLE_RETRY_5XX_ATTEMPTS",
        "Attempts per model call on a transient provider failure (HTTP 500, 502, 503 or 504: "
        "0.25 s pause, doubling, within the call's deadline; a stream only before its first "
        "token); 1 turns the retry off",
        check=_at_least_one,
    )
    dead_ttl_s: float = setting(
        300.0,
        "FREESCALING_ENSEMBLE_DEAD_TTL_S",
        "Seconds a model that answered 404/410 is skipped (and substituted) before it is retried",
        check=positive,
    )
    probe_timeout_s: float = setting(
        20.0,
        "FREESCALING_ENSEMBLE_PROBE_TIMEOUT_S",
        "Seconds a health probe may take",
        check=positive,
    )
    slow_threshold_s: float = setting(
        5.0,
        "FREESCALING_ENSEMBLE_SLOW_THRESHOLD_S",
        "A probe answering slower than this reports the model slow",
        check=positive,
    )
    probe_interval_s: float = setting(
        0.0,
        "FREESCALING_ENSEMBLE_PROBE_INTERVAL_S",
        "Probe every model in the background this often (seconds); 0 never probes on its own",
        check=non_negative,
    )
    batch_concurrency: int = setting(
        8,
        "FREESCALING_ENSEMBLE_BATCH_CONCURRENCY",
        "Batch items in flight at once when the request sets no bound",
        check=_at_least_one,
    )
    max_batch_items: int = setting(
        1000,
        "FREESCALING_ENSEMBLE_MAX_BATCH_ITEMS",
        "Most items in one ScaleBatch or GenerateBatch; more is RESOURCE_EXHAUSTED",
        check=_at_least_one,
    )
    max_models: int = setting(
        5,
        "FREESCALING_ENSEMBLE_MAX_MODELS",
        "Most models in one explicit panel (or judges list)",
        check=_at_least_one,
    )
    require_keys: bool = setting(
        True,
        "FREESCALING_ENSEMBLE_REQUIRE_KEYS",
        "A model whose key variable is unset (or, for Copilot, with no login) is unavailable: "
        "listed with the reason, never called; the service is not ready (the reason in the "
        "log and GetInfo) while the default panels cannot be filled with available models. "
        "false requires no key: calls without one go keyless (a local server that takes none)",
    )
    shadow: bool = setting(
        True,
        "FREESCALING_ENSEMBLE_SHADOW",
        "Run a shadow challenger from outside the panel on each scale call (requests may opt out)",
    )
