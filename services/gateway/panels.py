"""Which models answer when the caller names none: the champion panel from learning (its
evolution's choice), topped up from the ensemble's default panel for k; the default panel alone
when learning has no champion or cannot be reached (voting never waits on learning). A champion
the ensemble cannot call now (dead, or without its credentials) is left out."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import grpc

from freescaling.common.v1 import models_pb2
from freescaling.learning.v1 import learning_pb2
from services.gateway.deadline import Deadline
from services.gateway.downstream import DownstreamError, Downstreams

logger = logging.getLogger(__name__)

CHAMPION = "champion"
# Panels change on evolve (rare); a short cache keeps two lookups off every call.
CACHE_S = 10.0


class Panels:
    def __init__(
        self,
        downstreams: Downstreams,
        live: Callable[[Deadline], Awaitable[frozenset[str] | None]] | None = None,
    ) -> None:
        self.downstreams = downstreams
        # The models the ensemble can call now (None: it cannot say), e.g. Router.live_models.
        self.live = live
        self._champion: tuple[float, list[str]] = (0.0, [])
        self._defaults: tuple[float, dict[str, list[str]]] = (0.0, {})

    async def champion(self, deadline: Deadline) -> list[str]:
        fetched, members = self._champion
        if time.monotonic() - fetched < CACHE_S:
            return members
        try:
            panel = await self.downstreams.call(
                "learning", "GetPanel", learning_pb2.GetPanelRequest(name=CHAMPION), deadline
            )
            members = list(panel.models)
        except DownstreamError as exc:
            if exc.code not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNIMPLEMENTED):
                logger.warning("no champion panel from learning (%s); using defaults", exc.message)
            members = []
        self._champion = (time.monotonic(), members)
        return members

    async def defaults(self, deadline: Deadline) -> dict[str, list[str]]:
        fetched, panels = self._defaults
        if time.monotonic() - fetched < CACHE_S and panels:
            return panels
        listed = await self.downstreams.call(
            "ensemble", "ListPanels", models_pb2.ListPanelsRequest(), deadline
        )
        panels = {p.name: list(p.models) for p in listed.panels}
        self._defaults = (time.monotonic(), panels)
        return panels

    async def for_k(self, k: int, deadline: Deadline) -> list[str]:
        """k aliases: the champion's best first, then the default panel's, without repeats;
        empty when neither is known (the ensemble then uses its own default)."""
        champion = await self.champion(deadline)
        if not champion:
            return []  # no champion: the ensemble's own default panel for k answers
        live = await self.live(deadline) if self.live is not None and champion else None
        chosen = [m for m in champion if live is None or m in live][:k]
        if not chosen:
            return []  # no champion can be called now: the ensemble's own default answers
        if len(chosen) < k:
            for alias in (await self.defaults(deadline)).get(f"default-k{k}", []):
                if len(chosen) == k:
                    break
                if alias not in chosen:
                    chosen.append(alias)
        return chosen if len(chosen) == k else []
