"""Registry entries as protobuf `ModelInfo` and back: what RegisterModel receives, what learning
keeps for every replica and gives back."""

from __future__ import annotations

from freescaling.common.v1 import models_pb2
from services.ensemble.registry import DEFAULT_TIER_COSTS, Model, RegistryError

TIERS = {
    models_pb2.MODEL_TIER_FAST: "fast",
    models_pb2.MODEL_TIER_MEDIUM: "medium",
    models_pb2.MODEL_TIER_THINKING: "thinking",
}
TIER_ENUMS = {v: k for k, v in TIERS.items()}


def from_info(info: models_pb2.ModelInfo) -> Model:
    """The entry a ModelInfo describes (routing cost 0: the tier's default); RegistryError when
    a required field is missing. `provider`, `dead` and `dead_until` are not part of an entry."""
    tier = TIERS.get(info.tier)
    if not info.alias.strip() or not info.litellm_model or tier is None:
        raise RegistryError("model.alias, model.litellm_model and model.tier are required")
    return Model(
        alias=info.alias,
        litellm_model=info.litellm_model,
        tier=tier,
        input_cost_per_mtok=info.input_cost_per_mtok,
        output_cost_per_mtok=info.output_cost_per_mtok,
        cost=info.routing_cost or DEFAULT_TIER_COSTS[tier],
        thinking=info.thinking,
        api_base=info.api_base,
        api_key_env=info.api_key_env,
    )


def to_info(model: Model) -> models_pb2.ModelInfo:
    return models_pb2.ModelInfo(
        alias=model.alias,
        litellm_model=model.litellm_model,
        tier=TIER_ENUMS[model.tier],
        input_cost_per_mtok=model.input_cost_per_mtok,
        output_cost_per_mtok=model.output_cost_per_mtok,
        routing_cost=model.cost,
        thinking=model.thinking,
        api_base=model.api_base,
        api_key_env=model.api_key_env,
        provider=model.provider,
    )
