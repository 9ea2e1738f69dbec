"""The backbone's linear layers on oneDNN, their weights packed once (CPU, float32).

PyTorch's `nn.Linear` on a CPU goes to MKL's sgemm, which on the AMD EPYC cores measured here
reaches 50-85 GFLOPS (least for the short batches a classifier sees); oneDNN's matmul with a
weight reordered once into its blocked layout reaches 105-120 on the same shapes (768x3072,
112 to 2584 rows, two threads). The packed weight replaces the dense one (the same memory),
so a packed model is for inference only: its state dict no longer holds those weights.
`pack_linears` checks each layer's output against the dense product before swapping it and
keeps `nn.Linear` (with a warning) where the operators are missing or disagree.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

logger = logging.getLogger(__name__)

# Packed and dense products differ by summation order only: a few ulps of float32.
AGREEMENT = 1e-4


def available() -> bool:
    ops = torch.ops.mkldnn
    return (
        torch.backends.mkldnn.is_available()
        and hasattr(ops, "_reorder_linear_weight")
        and hasattr(ops, "_linear_pointwise")
    )


class PackedLinear(nn.Module):
    """`nn.Linear`'s product through oneDNN with a prepacked weight."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        # No batch-size hint: measured fastest across the lengths a classifier sees.
        self.packed = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach(), None)
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, oneDNN"


def pack_linears(module: nn.Module) -> int:
    """Swap every float32 `nn.Linear` under `module` for a `PackedLinear` that agrees with it;
    returns how many were swapped (0 where oneDNN is not available)."""
    if not available():
        logger.warning("oneDNN is not available in this torch build; linear layers stay on MKL")
        return 0
    swapped = 0
    probe_rows = torch.Generator().manual_seed(0)
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is not nn.Linear or child.weight.dtype != torch.float32:
                continue
            if child.weight.device.type != "cpu":
                continue
            packed = PackedLinear(child)
            probe = torch.randn(3, child.in_features, generator=probe_rows)
            with torch.inference_mode():
                expected, got = child(probe), packed(probe)
            error = (expected - got).abs().max().item()
            scale = max(expected.abs().max().item(), 1.0)
            if error > AGREEMENT * scale:
                logger.warning(
                    "oneDNN's product for %s differs from MKL's by %.3g; keeping nn.Linear",
                    name,
                    error,
                )
                continue
            setattr(parent, name, packed)
            swapped += 1
    return swapped
