"""DeBERTa's disentangled self-attention, arranged for inference: the same arithmetic as
transformers' `DisentangledSelfAttention`, with the work that does not depend on the input done
once at load, and only the position rows a pass can use multiplied.

Three things the library's forward does on every pass, whatever the prompt:
- it projects the relative-position table (2 x 256 rows of 768 for DeBERTa-v3) through each
  layer's query and key projections: 24 products, about 7 GMAC, 200 ms per pass on two CPU
  cores. Neither the table nor the projections depend on the input, so they are computed once
  (float32, before any int8 quantization), divided by the attention scale once, and kept as
  non-persistent buffers: they follow the model to its device and are not in the state dict;
- it multiplies every token by all 512 projected rows, though a text of L tokens only reaches
  the rows of relative distances up to L - 1 (2L - 1 rows while L <= 128, then log buckets):
  here only that window is multiplied, a twelfth of the work for a 40-token prompt;
- it divides, masks, softmaxes and multiplies by the values in separate passes over the
  (batch, heads, L, L) scores: here the position bias is masked once and handed to
  `scaled_dot_product_attention`, which fuses the rest.

Padded rows and columns are masked exactly as the library masks them, so real tokens see the
same scores. `optimize_attention` swaps each layer's class for a subclass that adds this
forward; a call the fast path does not cover (attention maps asked for, separate query states)
goes to the library's own. Inference only: training would change the projections under the cache.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import nn
from torch.nn import functional


@functools.lru_cache(maxsize=1024)
def position_window(length: int, buckets: int, max_relative: int, span: int) -> tuple[int, int]:
    """[first, last + 1) of the position rows that a text of `length` tokens indexes, for both
    directions of the bias: the rows of the relative distances it has, bucketed as the library
    buckets them."""
    from transformers.models.deberta_v2.modeling_deberta_v2 import build_relative_position

    probe = torch.empty(1, length, 1)
    relative = build_relative_position(probe, probe, bucket_size=buckets, max_position=max_relative)
    rows = torch.cat([relative + span, -relative + span]).clamp(0, span * 2 - 1)
    return int(rows.min()), int(rows.max()) + 1


def _split_heads(projected: torch.Tensor, heads: int) -> torch.Tensor:
    """(batch, length, heads x d) -> (batch, heads, length, d), a view."""
    batch, length, _ = projected.shape
    return projected.view(batch, length, heads, -1).transpose(1, 2)


class _InferenceAttentionMixin:
    """Adds the forward described in the module's doc to transformers' DisentangledSelfAttention."""

    def forward(
        self,
        hidden_states,
        attention_mask,
        output_attentions=False,
        query_states=None,
        relative_pos=None,
        rel_embeddings=None,
    ):
        if output_attentions or query_states is not None or relative_pos is None:
            return super().forward(
                hidden_states,
                attention_mask,
                output_attentions=output_attentions,
                query_states=query_states,
                relative_pos=relative_pos,
                rel_embeddings=rel_embeddings,
            )
        batch, length = hidden_states.shape[:2]
        heads = self.num_attention_heads
        query, key = self.query_proj(hidden_states), self.key_proj(hidden_states)
        value = self.value_proj(hidden_states)
        # Head-major: (heads, batch, L, L), so each position product is one matrix product per
        # head over every token of the batch.
        bias = self._position_bias(query, key, relative_pos, batch, length)
        padded = ~attention_mask.bool().transpose(0, 1)  # (1, batch, L, L)
        bias.masked_fill_(padded, torch.finfo(bias.dtype).min)
        context = functional.scaled_dot_product_attention(
            _split_heads(query, heads),
            _split_heads(key, heads),
            _split_heads(value, heads),
            attn_mask=bias.transpose(0, 1).to(query.dtype),
            scale=self.inference_scale,
        )
        return context.transpose(1, 2).reshape(batch, length, -1), None

    def _position_bias(self, query, key, relative_pos, batch, length):
        """The c2p and p2c terms, (heads, batch, L, L), from the window of cached rows."""
        span, heads = self.pos_ebd_size, self.num_attention_heads
        first, last = position_window(
            length, self.position_buckets, self.max_relative_positions, span
        )
        relative = relative_pos.to(device=query.device, dtype=torch.long).view(1, 1, length, -1)
        shape = (heads, batch, length, length)
        terms = []
        if "c2p" in self.pos_att_type:
            index = (relative + span).clamp(0, span * 2 - 1) - first
            against = _against_rows(query, self.position_keys[:, first:last], batch, length)
            terms.append(torch.gather(against, -1, index.expand(shape)))
        if "p2c" in self.pos_att_type:
            index = (-relative + span).clamp(0, span * 2 - 1) - first
            against = _against_rows(key, self.position_queries[:, first:last], batch, length)
            terms.append(torch.gather(against, -1, index.expand(shape)).transpose(-1, -2))
        if not terms:  # relative attention with neither term: content only
            return query.new_zeros(shape)
        bias = terms[0] if terms[0].is_contiguous() else terms[0].contiguous()
        for term in terms[1:]:
            bias.add_(term)
        return bias


def _against_rows(projected: torch.Tensor, rows: torch.Tensor, batch: int, length: int):
    """Each head's tokens (from `projected`, (batch, L, heads x d)) times its position rows
    (heads, R, d) transposed: (heads, batch, L, R)."""
    heads = rows.size(0)
    per_head = projected.view(batch * length, heads, -1).transpose(0, 1)
    return torch.bmm(per_head, rows.transpose(-1, -2)).view(heads, batch, length, -1)


_CLASSES: dict[type, type] = {}


def _inference_class(base: type) -> type:
    if base not in _CLASSES:
        _CLASSES[base] = type(f"Inference{base.__name__}", (_InferenceAttentionMixin, base), {})
    return _CLASSES[base]


def _cached_rows(attention: nn.Module, projection: nn.Module, table: torch.Tensor) -> torch.Tensor:
    """The table through `projection`, divided by the attention scale: (heads, rows, d)."""
    rows = projection(table[: attention.pos_ebd_size * 2, :])
    heads = attention.num_attention_heads
    per_head = rows.view(rows.size(0), heads, -1).permute(1, 0, 2).contiguous()
    return per_head / inference_scale_divisor(attention)


def inference_scale_divisor(attention: nn.Module) -> float:
    """sqrt(d x (1 + one per position term)): what the library divides every score by."""
    terms = 1 + sum(kind in attention.pos_att_type for kind in ("c2p", "p2c"))
    return math.sqrt(attention.attention_head_size * terms)


def optimize_attention(backbone: nn.Module) -> int:
    """Give every relative-attention layer of `backbone` the inference forward (see the
    module's doc); returns how many layers now have it (0 for a backbone without relative
    attention, which keeps the library's forward)."""
    encoder = backbone.encoder
    if not getattr(encoder, "relative_attention", False):
        return 0
    layers = 0
    with torch.no_grad():
        table = encoder.get_rel_embedding()
        for layer in encoder.layer:
            attention = layer.attention.self
            if not attention.relative_attention:
                continue
            if attention.share_att_key:
                query_proj, key_proj = attention.query_proj, attention.key_proj
            else:
                query_proj = getattr(attention, "pos_query_proj", None)
                key_proj = getattr(attention, "pos_key_proj", None)
            if "c2p" in attention.pos_att_type:
                keys = _cached_rows(attention, key_proj, table)
                attention.register_buffer("position_keys", keys, persistent=False)
            if "p2c" in attention.pos_att_type:
                queries = _cached_rows(attention, query_proj, table)
                attention.register_buffer("position_queries", queries, persistent=False)
            attention.inference_scale = 1 / inference_scale_divisor(attention)
            attention.__class__ = _inference_class(type(attention))
            layers += 1
    return layers
