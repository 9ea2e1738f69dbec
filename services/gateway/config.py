"""Settings of the gateway."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.server_settings import ServerSettings
from services.common.settings import non_negative, one_of, port_number, positive, setting

DOWNSTREAM_NAMES = ("classifier", "ensemble", "learning")


def known_downstreams(names: list[str]) -> str | None:
    unknown = [n for n in names if n not in DOWNSTREAM_NAMES]
    return (
        f"unknown service(s) {unknown}; choose from {', '.join(DOWNSTREAM_NAMES)}"
        if unknown
        else None
    )


def _unit_interval(value: float) -> str | None:
    return None if 0 < value <= 1 else "must be above 0 and at most 1"


@dataclass(frozen=True)
class GatewaySettings(ServerSettings):
    """Settings of the gateway."""

    port: int = setting(
        50051, "FREESCALING_GATEWAY_PORT", "Port the gateway listens on", check=port_number
    )
    http: bool = setting(
        True,
        "FREESCALING_GATEWAY_HTTP",
        "Serve the OpenAI-compatible HTTP API (/v1/chat/completions, /v1/models, /stats, "
        "/v1/feedback) beside gRPC; false serves gRPC only",
    )
    http_port: int = setting(
        8080,
        "FREESCALING_GATEWAY_HTTP_PORT",
        "Port of the OpenAI-compatible HTTP API (requests larger than FREESCALING_MAX_MESSAGE_MB "
        "get 413)",
        check=port_number,
    )
    classifier_addr: str = setting(
        "127.0.0.1:50052",
        "FREESCALING_CLASSIFIER_ADDR",
        "gRPC target of the classifier service: host:port, or dns:///NAME:PORT of a headless "
        "Service to balance over every ready pod",
    )
    ensemble_addr: str = setting(
        "127.0.0.1:50053",
        "FREESCALING_ENSEMBLE_ADDR",
        "gRPC target of the ensemble service: host:port, or dns:///NAME:PORT of a headless "
        "Service to balance over every ready pod",
    )
    learning_addr: str = setting(
        "127.0.0.1:50054",
        "FREESCALING_LEARNING_ADDR",
        "gRPC target of the learning service: host:port, or dns:///NAME:PORT of a headless "
        "Service to balance over every ready pod",
    )
    required: list[str] = setting(
        ["ensemble"],
        "FREESCALING_GATEWAY_REQUIRED",
        "Downstreams without which the gateway is not ready (the classifier has a routing "
        "fallback and learning an outbox, so only the ensemble is required by default)",
        check=known_downstreams,
    )
    downstream_timeout_s: float = setting(
        30.0,
        "FREESCALING_GATEWAY_DOWNSTREAM_TIMEOUT_S",
        "Longest a unary downstream call may take; the caller's remaining deadline caps it further",
        check=positive,
    )
    stream_timeout_s: float = setting(
        600.0,
        "FREESCALING_GATEWAY_STREAM_TIMEOUT_S",
        "Longest a streamed downstream call (batches, chat) may take; the caller's deadline "
        "caps it further",
        check=positive,
    )
    fallback_model: str = setting(
        "llama-3.3",
        "FREESCALING_GATEWAY_FALLBACK_MODEL",
        "Model that answers chat and k=auto when the classifier cannot be reached",
    )
    default_lambda: float = setting(
        0.05,
        "FREESCALING_GATEWAY_LAMBDA",
        "Cost weight of profile routing (psi + lambda * cost) when a request gives none",
        check=non_negative,
    )
    shadow_wait_s: float = setting(
        65.0,
        "FREESCALING_GATEWAY_SHADOW_WAIT_S",
        "Seconds the gateway keeps listening, after an answer, for a shadow challenger slower "
        "than the panel (its vote is then recorded with the call); keep it at or above the "
        "ensemble's FREESCALING_ENSEMBLE_CALL_TIMEOUT_S; 0 gives late shadows up",
        check=non_negative,
    )
    elo_min_calls: int = setting(
        30,
        "FREESCALING_GATEWAY_ELO_MIN_CALLS",
        "Votes a model needs in calls with a majority before k=auto counts its agreement with "
        "the majority (or, with learning's expert rule unavailable, prefers it by ELO over the "
        "tier map)",
        check=non_negative,
    )
    auto_min_accuracy: float = setting(
        0.7,
        "FREESCALING_GATEWAY_AUTO_MIN_ACCURACY",
        "k=auto: a single expert's clear answer ends the call only when its expected accuracy "
        "(from evidence) is at least this; an expert without evidence is not gated; 0 never "
        "gates",
        check=lambda v: None if 0 <= v <= 1 else "must be between 0 and 1",
    )
    auto_min_confidence: float = setting(
        0.8,
        "FREESCALING_GATEWAY_AUTO_MIN_CONFIDENCE",
        "k=auto with profiled models: the calibrated confidence the cascade adds models until "
        "it reaches (a request's min_confidence wins); higher asks more models",
        check=lambda v: None if 0 < v <= 1 else "must be above 0 and at most 1",
    )
    batch_limit: int = setting(
        1000, "FREESCALING_GATEWAY_BATCH_LIMIT", "Items one batch may hold", check=positive
    )
    batch_concurrency: int = setting(
        8,
        "FREESCALING_GATEWAY_BATCH_CONCURRENCY",
        "Items of a k=auto batch in flight at once when the request gives no bound",
        check=positive,
    )
    clusters_k: int = setting(
        8,
        "FREESCALING_GATEWAY_CLUSTERS_K",
        "Clusters to fit when onboarding finds no centroid set yet (at most one per item)",
        check=positive,
    )
    cache: str = setting(
        "exact",
        "FREESCALING_GATEWAY_CACHE",
        "Answer cache for requests that do not say (CallOptions.cache unset): exact (an earlier "
        "answer to the same normalised request), semantic (or to a question alike in meaning, "
        "embedding cosine >= FREESCALING_GATEWAY_CACHE_THRESHOLD, same numbers) or off; either "
        "way only for deterministic requests (temperature 0). A request's cache field overrides",
        check=one_of("exact", "semantic", "off"),
    )
    cache_threshold: float = setting(
        0.995,
        "FREESCALING_GATEWAY_CACHE_THRESHOLD",
        "Least cosine similarity of the question's embedding to a cached one for a semantic hit "
        "(0 to 1); chosen on bench/cache.py's paraphrases and near misses",
        check=_unit_interval,
    )
    cache_ttl_s: float = setting(
        86400.0,
        "FREESCALING_GATEWAY_CACHE_TTL_S",
        "Seconds a cached answer is served after its call",
        check=positive,
    )
    api_keys: list[str] = setting(
        [],
        "FREESCALING_GATEWAY_API_KEYS",
        "Accepted API keys, comma-separated; with none here or in the file, no key is needed",
        secret=True,
    )
    api_keys_file: str = setting(
        "",
        "FREESCALING_GATEWAY_API_KEYS_FILE",
        "File of accepted keys, one per line as 'name:key' or 'key' (# comments)",
    )
    key_concurrency: int = setting(
        0,
        "FREESCALING_GATEWAY_KEY_CONCURRENCY",
        "Calls one API key may have in flight; more get RESOURCE_EXHAUSTED (0: no limit)",
        check=lambda n: None if n >= 0 else "must be 0 (no limit) or more",
    )
    outbox_capacity: int = setting(
        10_000,
        "FREESCALING_GATEWAY_OUTBOX_CAPACITY",
        "Call records waiting for learning at most; more are dropped (counted and logged)",
        check=positive,
    )
    outbox_batch_size: int = setting(
        64,
        "FREESCALING_GATEWAY_OUTBOX_BATCH_SIZE",
        "Call records sent to learning in one RecordCalls request at most",
        check=lambda n: None if 1 <= n <= 1000 else "must be between 1 and 1000",
    )
    outbox_linger_ms: float = setting(
        20.0,
        "FREESCALING_GATEWAY_OUTBOX_LINGER_MS",
        "How long a sender waits for more records before sending a batch that is not full "
        "(0: send at once); records wait this much longer to reach learning, answers never",
        check=non_negative,
    )
    outbox_spool_dir: str = setting(
        "",
        "FREESCALING_GATEWAY_OUTBOX_SPOOL_DIR",
        "Keep undelivered call records in this directory so a restart loses none "
        "(empty: memory only)",
    )
    outbox_flush_s: float = setting(
        5.0,
        "FREESCALING_GATEWAY_OUTBOX_FLUSH_S",
        "Seconds shutdown spends delivering waiting records (within the pod's grace period)",
        check=non_negative,
    )
    health_interval_s: float = setting(
        2.0,
        "FREESCALING_GATEWAY_HEALTH_INTERVAL_S",
        "Seconds between checks of each downstream's health (readiness follows them)",
        check=positive,
    )
    health_timeout_s: float = setting(
        1.0,
        "FREESCALING_GATEWAY_HEALTH_TIMEOUT_S",
        "Timeout of one downstream health check",
        check=positive,
    )
