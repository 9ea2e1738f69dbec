"""The published classifier's module structure: a DeBERTa-v2 backbone, a parameter-free
attention-masked mean pool, and one linear head per target (`head_i.fc`). No dropout: this
module only ever runs inference, and its state-dict keys are exactly the checkpoint's."""

from __future__ import annotations

import torch
from torch import nn


class MeanPooling(nn.Module):
    """Mean of the last hidden state over real tokens (padding excluded)."""

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        summed = (hidden * mask).sum(dim=1)
        counts = mask.sum(dim=1).clamp(min=1e-9)
        return summed / counts


class Head(nn.Module):
    """One target's head: `head_i.fc` in the checkpoint."""

    def __init__(self, hidden_size: int, size: int) -> None:
        super().__init__()
        self.fc = nn.Linear(hidden_size, size)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.fc(pooled)


class PromptClassifier(nn.Module):
    """Backbone + mean pool + heads; `forward` gives the pooled embedding and each head's logits."""

    def __init__(self, backbone_config, head_sizes: list[int]) -> None:
        super().__init__()
        from transformers import DebertaV2Model

        self.backbone = DebertaV2Model(backbone_config)
        self.pool = MeanPooling()
        self.head_sizes = list(head_sizes)
        for i, size in enumerate(head_sizes):
            self.add_module(f"head_{i}", Head(backbone_config.hidden_size, size))

    @property
    def heads(self) -> list[Head]:
        return [getattr(self, f"head_{i}") for i in range(len(self.head_sizes))]

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = self.pool(hidden, attention_mask)
        return pooled, [head(pooled) for head in self.heads]
