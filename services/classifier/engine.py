"""The loaded checkpoint on its device: tokenized texts in, scores and pooled embeddings
out, one forward pass per batch (inference mode; attention arranged for inference; bf16/fp16
autocast on CUDA; on CPU, oneDNN-packed linear layers or optional int8 dynamic quantization)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from services.classifier import checkpoint
from services.classifier.attention import optimize_attention
from services.classifier.onednn import pack_linears
from services.classifier.postprocess import Scores, postprocess
from services.classifier.tokenizer import Encoded, PromptTokenizer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Output:
    scores: Scores
    embedding: np.ndarray  # the checkpoint's pooled state
    truncated: bool
    token_count: int


def pick_device(setting: str) -> str:
    """'auto' picks cuda, then mps, then cpu; anything else must be available."""
    if setting == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if setting.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"FREESCALING_CLASSIFIER_DEVICE={setting} but CUDA is not available")
    return setting


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class Engine:
    def __init__(
        self,
        model: torch.nn.Module,
        heads: checkpoint.HeadsConfig,
        tokenizer: PromptTokenizer,
        device: str,
        fingerprint: str,
        quantized: bool = False,
    ) -> None:
        self.model, self.heads, self.tokenizer = model, heads, tokenizer
        self.device, self.fingerprint, self.quantized = device, fingerprint, quantized
        self.dim = int(model.backbone.config.hidden_size)
        self.autocast_dtype: torch.dtype | None = None
        if device.startswith("cuda"):
            self.autocast_dtype = (
                torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            )

    @classmethod
    def load(
        cls,
        directory: Path,
        device: str = "auto",
        quantize_int8: bool = False,
        threads: int = 0,
        onednn: bool = True,
    ) -> Engine:
        device = pick_device(device)
        if device == "cpu":
            torch.set_num_threads(threads or cpu_count())
        tokenizer = PromptTokenizer.from_dir(directory)
        model, heads = checkpoint.load_model(directory)
        # Before quantizing or packing: the cached position projections stay float32.
        optimize_attention(model.backbone)
        quantized = False
        if quantize_int8 and device == "cpu":
            from torch.ao.quantization import quantize_dynamic

            # Only the backbone: the heads are tiny and their outputs feed rounding thresholds.
            model.backbone = quantize_dynamic(model.backbone, {torch.nn.Linear}, torch.qint8)
            quantized = True
        elif quantize_int8:
            logger.warning("int8 dynamic quantization is CPU only; running %s without it", device)
        if device == "cpu" and onednn and not quantized:
            pack_linears(model.backbone)
        model.to(device)
        return cls(model, heads, tokenizer, device, checkpoint.fingerprint(directory), quantized)

    def encode(self, texts: list[str]) -> list[Encoded]:
        return self.tokenizer.encode(texts)

    def _tensors(self, batch: list[Encoded]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(e.ids) for e in batch)
        ids = torch.full((len(batch), width), self.tokenizer.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, e in enumerate(batch):
            ids[row, : len(e.ids)] = torch.tensor(e.ids, dtype=torch.long)
            mask[row, : len(e.ids)] = 1
        return ids.to(self.device), mask.to(self.device)

    def forward(self, batch: list[Encoded]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Pooled embeddings (batch, dim) and each head's logits, float32 on the CPU."""
        ids, mask = self._tensors(batch)
        with torch.inference_mode():
            if self.autocast_dtype is not None:
                with torch.autocast(device_type="cuda", dtype=self.autocast_dtype):
                    pooled, logits = self.model(ids, mask)
            else:
                pooled, logits = self.model(ids, mask)
            pooled_np = pooled.float().cpu().numpy()
            logits_np = [x.float().cpu().numpy() for x in logits]
        return pooled_np, logits_np

    def run(self, batch: list[Encoded]) -> list[Output]:
        """One forward pass over `batch` and its post-processing (runs on the worker thread)."""
        pooled, logits = self.forward(batch)
        scores = postprocess(logits, self.heads)
        return [
            Output(
                scores=s,
                embedding=pooled[i],
                truncated=batch[i].truncated,
                token_count=len(batch[i].ids),
            )
            for i, s in enumerate(scores)
        ]

    def warm_up(self, max_batch: int) -> None:
        """First passes allocate and pick kernels; do them before taking traffic."""
        short = self.encode(["Warm up."])
        longer = self.encode(
            ["Write a short story about a lighthouse keeper. " * 8] * min(max_batch, 4)
        )
        self.run(short)
        self.run(longer)
