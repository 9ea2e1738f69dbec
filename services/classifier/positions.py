"""DeBERTa's relative-position projections, computed once instead of on every forward pass.

Disentangled attention projects the relative-position table (2 x 256 rows of 768 for
DeBERTa-v3) through each layer's query and key projections on every pass. Neither the table nor
the projections depend on the input, so at inference those 24 products (about 7 GMAC, 200 ms
per pass on two CPU cores, whatever the batch or the prompt's length) are the same every time.
`cache_position_projections` computes them once, in float32 before any quantization, keeps
them as non-persistent buffers (they follow the model to its device and are not in the state
dict), and gives each attention layer a bias computation that uses them: the same arithmetic,
with the cached projections broadcast over the batch instead of repeated for it.

Inference only: training would change the projections under the cache.
"""

from __future__ import annotations

import torch
from torch import nn


def _heads(attention: nn.Module, projected: torch.Tensor) -> torch.Tensor:
    """(1, rows, all_head_size) -> (heads, rows, head_size)."""
    rows = projected.size(-2)
    return projected.view(rows, attention.num_attention_heads, -1).permute(1, 0, 2).contiguous()


def _against_positions(layer: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """`layer` (batch x heads, length, d) times each head's positions (heads, rows, d)
    transposed: (batch, heads, length, rows), as one matrix product per head over every row of
    the batch (nothing as large as the product is copied)."""
    heads, length, d = positions.size(0), layer.size(-2), layer.size(-1)
    per_head = layer.view(-1, heads, length, d).transpose(0, 1).reshape(heads, -1, d)
    product = torch.bmm(per_head, positions.transpose(-1, -2))
    return product.view(heads, -1, length, positions.size(-2)).transpose(0, 1)


class _CachedPositionsMixin:
    """Replaces `disentangled_attention_bias` of transformers' DisentangledSelfAttention."""

    def disentangled_attention_bias(
        self, query_layer, key_layer, relative_pos, rel_embeddings, scale_factor
    ):
        from transformers.models.deberta_v2 import modeling_deberta_v2 as deberta

        if relative_pos is None:
            relative_pos = deberta.build_relative_position(
                query_layer,
                key_layer,
                bucket_size=self.position_buckets,
                max_position=self.max_relative_positions,
            )
        if relative_pos.dim() == 2:
            relative_pos = relative_pos.unsqueeze(0).unsqueeze(0)
        elif relative_pos.dim() == 3:
            relative_pos = relative_pos.unsqueeze(1)
        elif relative_pos.dim() != 4:
            raise ValueError(f"relative positions have {relative_pos.dim()} dims, not 2 to 4")
        span = self.pos_ebd_size
        relative_pos = relative_pos.to(device=query_layer.device, dtype=torch.long)
        score = 0
        if "c2p" in self.pos_att_type:
            keys = self.position_keys
            scale = deberta.scaled_size_sqrt(keys, scale_factor)
            c2p = _against_positions(query_layer, keys)
            index = torch.clamp(relative_pos + span, 0, span * 2 - 1)
            c2p = torch.gather(
                c2p,
                dim=-1,
                index=index.expand([*c2p.shape[:-1], relative_pos.size(-1)]),
            ).view(-1, query_layer.size(1), relative_pos.size(-1))
            score += c2p / scale.to(dtype=c2p.dtype)
        if "p2c" in self.pos_att_type:
            queries = self.position_queries
            scale = deberta.scaled_size_sqrt(queries, scale_factor)
            r_pos = deberta.build_rpos(
                query_layer,
                key_layer,
                relative_pos,
                self.max_relative_positions,
                self.position_buckets,
            )
            index = torch.clamp(-r_pos + span, 0, span * 2 - 1)
            p2c = _against_positions(key_layer, queries)
            p2c = torch.gather(
                p2c,
                dim=-1,
                index=index.expand([*p2c.shape[:-1], key_layer.size(-2)]),
            ).view(-1, key_layer.size(-2), key_layer.size(-2))
            score += p2c.transpose(-1, -2) / scale.to(dtype=p2c.dtype)
        return score


_CLASSES: dict[type, type] = {}


def _cached_class(base: type) -> type:
    if base not in _CLASSES:
        _CLASSES[base] = type(f"PositionCached{base.__name__}", (_CachedPositionsMixin, base), {})
    return _CLASSES[base]


def cache_position_projections(backbone: nn.Module) -> int:
    """Compute every attention layer's position projections once (see the module's doc);
    returns how many layers now use them (0 for a backbone without relative attention)."""
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
            rows = table[: attention.pos_ebd_size * 2, :].unsqueeze(0)
            if attention.share_att_key:
                query_proj, key_proj = attention.query_proj, attention.key_proj
            else:
                query_proj = getattr(attention, "pos_query_proj", None)
                key_proj = getattr(attention, "pos_key_proj", None)
            if "c2p" in attention.pos_att_type:
                keys = _heads(attention, key_proj(rows))
                attention.register_buffer("position_keys", keys, persistent=False)
            if "p2c" in attention.pos_att_type:
                queries = _heads(attention, query_proj(rows))
                attention.register_buffer("position_queries", queries, persistent=False)
            attention.__class__ = _cached_class(type(attention))
            layers += 1
    return layers
