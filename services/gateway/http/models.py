"""What `model` may name: the registry's aliases (the ensemble's ListModels, cached briefly so
that checking a request's model costs nothing) and the `freescaling/*` virtual models, which
run routing, best-of-k or a vote; and both in OpenAI's model-list shape, with tier and costs in
a `freescaling` extension object."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from freescaling.common.v1 import models_pb2
from services.gateway.deadline import Deadline
from services.gateway.downstream import Downstreams

AUTO = "freescaling/auto"
OWNER = "freescaling"


@dataclass(frozen=True)
class Virtual:
    """A model name that is not one model: what it runs, with what k."""

    id: str
    # "route" (Chat), "best_of" (Generate) or "vote" (Scale).
    kind: str
    k: int
    description: str


VIRTUAL = {
    v.id: v
    for v in (
        Virtual(
            AUTO,
            "route",
            0,
            "routes each prompt to one model as gRPC Chat does: capability profiles, else the "
            "classifier's tier, else the fallback model when the classifier is down ('auto' "
            "is the same)",
        ),
        *(
            Virtual(
                f"freescaling/best-of-{k}",
                "best_of",
                k,
                f"{k} models answer and {k} others judge; the winner's answer is returned "
                "(Generate)",
            )
            for k in (3, 5)
        ),
        *(
            Virtual(
                f"freescaling/vote-{k}",
                "vote",
                k,
                f"{k} models vote among the request's answer_patterns; the answer most likely "
                "right is returned (weighted by the models' profiles, else the majority), a tie "
                "or abstention as an empty answer (Scale)",
            )
            for k in (3, 5)
        ),
        Virtual(
            "freescaling/vote-auto",
            "vote",
            0,
            "k=auto among the request's answer_patterns: models are asked, cheapest likely "
            "first, until the calibrated confidence reaches min_confidence (Scale)",
        ),
    )
}


def virtual(name: str) -> Virtual | None:
    return VIRTUAL.get(AUTO if name == "auto" else name)


def tier_name(tier: int) -> str:
    return models_pb2.ModelTier.Name(tier).removeprefix("MODEL_TIER_").lower()


def model_entry(info: models_pb2.ModelInfo) -> dict:
    return {
        "id": info.alias,
        "object": "model",
        # The registry keeps no creation time; OpenAI's shape requires the field.
        "created": 0,
        "owned_by": info.provider or OWNER,
        "freescaling": {
            "virtual": False,
            "tier": tier_name(info.tier),
            "routing_cost": info.routing_cost,
            "input_cost_per_mtok": info.input_cost_per_mtok,
            "output_cost_per_mtok": info.output_cost_per_mtok,
            "thinking": info.thinking,
            "dead": info.dead,
            # No credentials in the ensemble's environment: never called (the reason says
            # what to set).
            "available": not info.unavailable,
            "unavailable_reason": info.unavailable_reason,
        },
    }


def virtual_entry(model: Virtual, name: str = "") -> dict:
    return {
        "id": name or model.id,
        "object": "model",
        "created": 0,
        "owned_by": OWNER,
        "freescaling": {"virtual": True, "k": model.k, "description": model.description},
    }


class Catalog:
    """The registry's models, refreshed at most every `ttl_s` while names are found in it, and
    at most every `miss_s` for a name that is not (a model registered a moment ago is found
    without waiting for the TTL; a stream of unknown names cannot flood the ensemble)."""

    def __init__(self, downstreams: Downstreams, ttl_s: float = 10.0, miss_s: float = 1.0) -> None:
        self.downstreams, self.ttl_s, self.miss_s = downstreams, ttl_s, miss_s
        self._models: list[models_pb2.ModelInfo] = []
        self._aliases: frozenset[str] = frozenset()
        self._at = -float("inf")
        self._lock = asyncio.Lock()

    async def refresh(self, deadline: Deadline) -> list[models_pb2.ModelInfo]:
        reply = await self.downstreams.call(
            "ensemble", "ListModels", models_pb2.ListModelsRequest(), deadline
        )
        self._models = list(reply.models)
        self._aliases = frozenset(m.alias for m in self._models)
        self._at = time.monotonic()
        return self._models

    async def _refresh_if_older(self, age_s: float, deadline: Deadline) -> None:
        async with self._lock:  # concurrent misses share one ListModels
            if time.monotonic() - self._at >= age_s:
                await self.refresh(deadline)

    async def known(self, alias: str, deadline: Deadline) -> bool:
        age = time.monotonic() - self._at
        if age >= self.ttl_s:
            await self._refresh_if_older(self.ttl_s, deadline)
        elif alias not in self._aliases and age >= self.miss_s:
            await self._refresh_if_older(self.miss_s, deadline)
        return alias in self._aliases

    async def current(self, deadline: Deadline) -> list[models_pb2.ModelInfo]:
        """Every registry model, at most `ttl_s` old (the dashboard's prices and states)."""
        if time.monotonic() - self._at >= self.ttl_s:
            await self._refresh_if_older(self.ttl_s, deadline)
        return self._models

    async def find(self, alias: str, deadline: Deadline) -> models_pb2.ModelInfo | None:
        if not await self.known(alias, deadline):
            return None
        return next((m for m in self._models if m.alias == alias), None)
