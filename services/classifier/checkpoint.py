"""Finding and loading the classifier checkpoint: a local directory or a Hugging Face hub
snapshot, its config.json (targets, maps), and a strict load of model.safetensors that names
every missing, unexpected or mis-shaped key."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.classifier.backbone_config import OVERRIDE_KEY, backbone_config

logger = logging.getLogger(__name__)

WEIGHTS = "model.safetensors"
CONFIG = "config.json"

# Non-persistent buffers that a checkpoint written by an older transformers may still hold.
# They are dropped by exact name; any other unexpected key is an error.
TOLERATED_EXTRA_KEYS = frozenset({"backbone.embeddings.position_ids"})

# The heads' targets as post-processing names them; config.json's `target_sizes` gives the
# order (= head index) and sizes.
SCORE_TARGETS = (
    "creativity_scope",
    "reasoning",
    "contextual_knowledge",
    "number_of_few_shots",
    "domain_knowledge",
    "no_label_reason",
    "constraint_ct",
)


class CheckpointUnavailable(RuntimeError):
    """The checkpoint cannot be had right now (offline, no such directory): worth retrying."""


class CheckpointError(RuntimeError):
    """The checkpoint is there but does not fit the model (bad config, keys or shapes)."""


@dataclass(frozen=True)
class HeadsConfig:
    """What config.json says about the heads and their post-processing."""

    targets: list[str]  # head order
    sizes: list[int]
    task_type_map: dict[int, str]
    weights_map: dict[str, list[float]]
    divisor_map: dict[str, float]
    backbone_overrides: dict[str, Any]

    def head_index(self, target: str) -> int:
        return self.targets.index(target)


# The hub error's first characters are enough to tell offline from 404 from auth.
_MAX_CAUSE = 160


def resolve(model: str, cache_dir: str = "") -> Path:
    """A local directory, or the hub snapshot of repo id `model` (HF_HUB_OFFLINE honoured)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    if path.is_absolute() or model.startswith((".", "~")) or model.count("/") != 1:
        raise CheckpointUnavailable(
            f"FREESCALING_CLASSIFIER_MODEL={model!r}: no such directory, and not a hub id "
            "(owner/name)"
        )
    from huggingface_hub import snapshot_download

    try:
        return Path(
            snapshot_download(
                repo_id=model,
                cache_dir=cache_dir or None,
                allow_patterns=[CONFIG, WEIGHTS, "spm.model", "tokenizer.json", "*.json"],
            )
        )
    except Exception as exc:  # the hub client raises many kinds: offline, 404, auth, network
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}
        hint = " (HF_HUB_OFFLINE is set and the snapshot is not in the cache)" if offline else ""
        # One line: the hub's messages run over several, with advice that does not apply.
        cause = " ".join(str(exc).split())[:_MAX_CAUSE]
        raise CheckpointUnavailable(
            f"cannot get hub snapshot {model!r}{hint}: {type(exc).__name__}: {cause}"
        ) from exc


def read_heads_config(directory: Path) -> HeadsConfig:
    file = directory / CONFIG
    try:
        raw = json.loads(file.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{file} is missing") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{file} is not valid JSON: {exc}") from None
    try:
        sizes = raw["target_sizes"]
        pairs = list(sizes.items()) if isinstance(sizes, dict) else [tuple(p) for p in sizes]
        targets = [str(name) for name, _ in pairs]
        config = HeadsConfig(
            targets=targets,
            sizes=[int(size) for _, size in pairs],
            task_type_map={int(k): str(v) for k, v in raw["task_type_map"].items()},
            weights_map={k: [float(w) for w in v] for k, v in raw["weights_map"].items()},
            divisor_map={k: float(v) for k, v in raw["divisor_map"].items()},
            backbone_overrides=dict(raw.get(OVERRIDE_KEY) or {}),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(
            f"{file}: cannot read target_sizes/task_type_map/weights_map/divisor_map: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    missing = [t for t in ("task_type", *SCORE_TARGETS) if t not in targets]
    if missing:
        raise CheckpointError(f"{file}: target_sizes lacks {missing}")
    for target in SCORE_TARGETS:
        size = config.sizes[targets.index(target)]
        if len(config.weights_map.get(target, [])) != size or target not in config.divisor_map:
            raise CheckpointError(
                f"{file}: weights_map/divisor_map for {target} do not fit its {size} classes"
            )
    if len(config.task_type_map) != config.sizes[targets.index("task_type")]:
        raise CheckpointError(f"{file}: task_type_map does not fit the task_type head")
    return config


def fingerprint(directory: Path) -> str:
    """Identifies the model: a digest of config.json, the weights file's header (every tensor's
    name, shape and offsets) and 64 KiB samples spread over the weights (another training run
    differs everywhere), cheap even on a 735 MB file."""
    digest = hashlib.sha256((directory / CONFIG).read_bytes())
    weights = directory / WEIGHTS
    size = weights.stat().st_size
    digest.update(str(size).encode())
    with open(weights, "rb") as f:
        header = int.from_bytes(f.read(8), "little")
        digest.update(f.read(header))
        for i in range(_SAMPLES):
            f.seek(8 + header + (size - 8 - header) * i // _SAMPLES)
            digest.update(f.read(_SAMPLE_BYTES))
    return digest.hexdigest()[:16]


_SAMPLES, _SAMPLE_BYTES = 64, 64 * 1024


def _listing(title: str, keys: list[str], limit: int = 20) -> str:
    shown = ", ".join(keys[:limit])
    more = f" ... and {len(keys) - limit} more" if len(keys) > limit else ""
    return f"{title} ({len(keys)}): {shown}{more}"


def check_state_dict(expected: dict[str, tuple], found: dict[str, tuple], source: str) -> None:
    """Raise CheckpointError naming every missing, unexpected and mis-shaped key."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected) - TOLERATED_EXTRA_KEYS)
    misshaped = sorted(
        f"{k} (checkpoint {list(found[k])}, model {list(expected[k])})"
        for k in set(expected) & set(found)
        if tuple(found[k]) != tuple(expected[k])
    )
    problems = [
        _listing(title, keys)
        for title, keys in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("mis-shaped keys", misshaped),
        )
        if keys
    ]
    if problems:
        raise CheckpointError(
            f"{source} does not match the classifier's structure; " + "; ".join(problems)
        )


def build_model(heads: HeadsConfig, device: str = "cpu"):
    """The model with uninitialised storage on `device` ('meta' allocates nothing)."""
    import torch

    from services.classifier.model import PromptClassifier

    with torch.device("meta"):
        model = PromptClassifier(backbone_config(heads.backbone_overrides), heads.sizes)
    return model if device == "meta" else model.to_empty(device=device)


def load_model(directory: Path):
    """Strictly load the checkpoint in `directory` on the CPU, in eval mode."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file

    heads = read_heads_config(directory)
    weights = directory / WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"{weights} is missing")
    model = build_model(heads, device="meta")
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    with safe_open(str(weights), framework="pt") as f:
        found = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118
    check_state_dict(expected, found, str(weights))
    state = load_file(str(weights))
    for key in TOLERATED_EXTRA_KEYS & set(state):
        del state[key]
    state = {k: v.float() for k, v in state.items()}
    model.load_state_dict(state, strict=True, assign=True)
    # Non-persistent buffers are not in the state dict: give them their constructed values.
    for name, module in model.named_modules():
        if name.endswith("embeddings") and hasattr(module, "position_ids"):
            size = module.position_ids.shape[-1]
            module.position_ids = torch.arange(size).expand((1, -1))
    leftover = [n for n, b in model.named_buffers() if b.is_meta]
    leftover += [n for n, p in model.named_parameters() if p.is_meta]
    if leftover:
        raise CheckpointError(f"{weights}: tensors left unset after loading: {leftover}")
    model.eval()
    return model, heads
