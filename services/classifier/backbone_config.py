"""The DeBERTa-v3-base backbone configuration, carried in code: the classifier's hub repo holds
only its own config.json, so offline loading needs nothing but the classifier snapshot."""

from __future__ import annotations

from typing import Any

# microsoft/deberta-v3-base's config.json: the backbone of the NVIDIA prompt classifier.
DEBERTA_V3_BASE: dict[str, Any] = {
    "model_type": "deberta-v2",
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 512,
    "type_vocab_size": 0,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-7,
    "relative_attention": True,
    "max_relative_positions": -1,
    "position_buckets": 256,
    "norm_rel_ebd": "layer_norm",
    "share_att_key": True,
    "pos_att_type": ["p2c", "c2p"],
    "position_biased_input": False,
    "pad_token_id": 0,
    "vocab_size": 128100,
}

# config.json key that replaces backbone values (used by the small test checkpoint only; the
# published checkpoint has no such key, so the carried values above apply to it).
OVERRIDE_KEY = "backbone_config"


def backbone_config(overrides: dict[str, Any] | None = None):
    """A transformers DebertaV2Config: DeBERTa-v3-base, with `overrides` applied."""
    from transformers import DebertaV2Config

    values = {**DEBERTA_V3_BASE, **(overrides or {})}
    values.pop("model_type", None)
    return DebertaV2Config(**values)
