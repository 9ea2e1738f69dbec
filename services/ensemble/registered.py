"""Models registered at run time (RegisterModel), without gRPC.

Connected to learning (FREESCALING_ENSEMBLE_LEARNING_ADDR), a registration is stored there
first and used here after: an entry no other replica can load is never in use. Each replica
loads learning's entries at start, before it turns ready, then asks every
FREESCALING_ENSEMBLE_REGISTRY_POLL_S whether they changed, and also at once (at most every
MISS_REFRESH_S) when a request names an alias it does not know, which may just have been
registered through another replica. While learning cannot be reached the replica keeps serving
the models it has, and says so in the log, in GetInfo and in NOT_FOUND messages.

Without learning, registrations live in this process's memory only (one replica; lost at its
restart), as before. Either way the registry file's models win: a registration or a learning
entry under an alias the file defines never replaces the file's model."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from services.ensemble.registry import Adoption, Model, Registry, RegistryError, validate_model
from services.ensemble.shared_registry import SharedRegistry, StoreUnavailable

logger = logging.getLogger(__name__)

# A request naming an unknown alias asks learning at most this often (seconds): a stream of
# mistyped aliases costs learning one small call per second per replica, no more.
MISS_REFRESH_S = 1.0
# How long such a request waits for learning's answer before it is answered NOT_FOUND.
MISS_TIMEOUT_S = 2.0


class RegisteredModels:
    def __init__(
        self,
        registry: Registry,
        shared: SharedRegistry | None,
        poll_s: float,
        api_base: str = "",
        clock: Callable[[], float] = time.monotonic,
        allowed_api_bases: Iterable[str] = (),
    ) -> None:
        self.registry = registry
        self.shared = shared
        self.poll_s = poll_s
        self.api_base = api_base
        # Where a registered entry may send a key: the API bases the registry file's entries
        # use, and those the operator allows besides (FREESCALING_ENSEMBLE_ALLOWED_API_BASES).
        bases = [m.api_base for m in registry.models.values()] + list(allowed_api_bases)
        self.allowed_api_bases = {b.rstrip("/") for b in bases if b}
        self.clock = clock
        self.etag = ""
        # Why learning's models may be missing or stale here; None while learning answers.
        self.problem: str | None = None
        self.loaded = False
        self._lock = asyncio.Lock()
        self._poller: asyncio.Task | None = None
        self._miss: asyncio.Task | None = None
        self._miss_at = 0.0

    def base_problem(self, model: Model) -> str | None:
        """Why this replica will not call `model` with a key: an API base of its own that the
        operator's configuration never sends a key to (a registration could otherwise make
        the service send NVIDIA_API_KEY to any host)."""
        if self.api_base or not model.api_base or not model.api_key_env:
            return None  # the global override, or the provider's own base, is used
        if model.api_base.rstrip("/") in self.allowed_api_bases:
            return None
        return (
            f"api_base {model.api_base!r} is not one the registry file uses, and run-time "
            f"models may send a key ({model.api_key_env}) only there; allow it with "
            "FREESCALING_ENSEMBLE_ALLOWED_API_BASES"
        )

    def _local(self, model: Model) -> Model:
        """The entry as this replica calls it (the global API base override applied)."""
        return replace(model, api_base=self.api_base) if self.api_base else model

    # -- registering --------------------------------------------------------------------------
    async def register(self, model: Model) -> Model:
        """Register `model` (its API base as given: each replica applies its own override) and
        return it as this replica holds it. RegistryError when it is invalid, AlreadyRegistered
        when its alias names another definition (here, in the file, or in learning),
        StoreUnavailable when learning cannot store it (it is then not registered anywhere)."""
        problem = validate_model(model) or self.base_problem(model)
        if problem:
            raise RegistryError(f"model {model.alias!r}: {problem}")
        local = self._local(model)
        if self.shared is None:
            self.registry.add(local)
            return self.registry.models[local.alias]
        same_in_file = self.registry.check_new(local)
        if same_in_file is not None:
            return same_in_file  # configured already: nothing to keep in learning
        if local.alias in self.registry.registered and self.registry.get(local.alias) == local:
            return local  # loaded from learning, so stored there already (even if it is down now)
        async with self._lock:
            try:
                stored = self._local(await self.shared.store(model))
            except StoreUnavailable as exc:
                raise StoreUnavailable(
                    f"{exc}; {model.alias} is not registered: retry once learning answers"
                ) from None
            # Learning holds the truth: a stale entry here (edited there by hand) gives way.
            self.registry.put(stored)
        logger.info(
            "registered %s (%s, tier %s) in learning (%s)",
            stored.alias,
            stored.litellm_model,
            stored.tier,
            self.shared.target,
            extra={"model": stored.alias},
        )
        return stored

    # -- loading ------------------------------------------------------------------------------
    async def refresh(self, timeout_s: float | None = None) -> bool:
        """Adopt learning's registered models when they changed; True when that changed any
        model here. Failures are logged and kept in `problem`, never raised: the models held
        stay in use and the next poll tries again."""
        assert self.shared is not None
        async with self._lock:
            try:
                etag, models = await self.shared.fetch(self.etag, timeout_s)
            except StoreUnavailable as exc:
                if self.problem != str(exc):
                    logger.warning(
                        "registered models: %s; serving the %d this replica has",
                        exc,
                        len(self.registry.registered),
                    )
                self.problem = str(exc)
                return False
            if self.problem is not None:
                logger.info("registered models: learning (%s) answers again", self.shared.target)
                self.problem = None
            if models is None:
                return False
            unsafe = {m.alias: self.base_problem(m) for m in models if self.base_problem(m)}
            adoption = self.registry.adopt(self._local(m) for m in models if m.alias not in unsafe)
            adoption.refused.update(unsafe)
            self.etag = etag
        self._log(adoption, first=not self.loaded)
        self.loaded = True
        return bool(adoption)

    def _log(self, adoption: Adoption, first: bool) -> None:
        for alias, why in adoption.refused.items():
            logger.warning(
                "learning's registered model %r is not used: %s", alias, why, extra={"model": alias}
            )
        parts = [
            f"{what} {', '.join(aliases)}"
            for what, aliases in (
                ("added", adoption.added),
                ("changed", adoption.changed),
                ("removed", adoption.removed),
            )
            if aliases
        ]
        if parts:
            logger.info(
                "registered models from learning (%s): %s",
                self.shared.target,
                "; ".join(parts),
                extra={"etag": self.etag},
            )
        elif first:
            logger.info("no models registered at run time in learning (%s) yet", self.shared.target)

    async def ensure_known(self, aliases: Iterable[str]) -> None:
        """Before a request that names an alias this replica does not know: ask learning (the
        alias may have been registered through another replica since the last poll). Requests
        arriving meanwhile wait for the same answer; at most one ask per MISS_REFRESH_S."""
        # A blank alias is the request's own error (INVALID_ARGUMENT), not learning's to answer.
        if self.shared is None or all(a in self.registry.models or not a.strip() for a in aliases):
            return
        now = self.clock()
        if self._miss is None or (self._miss.done() and now - self._miss_at >= MISS_REFRESH_S):
            self._miss_at = now
            self._miss = asyncio.create_task(self.refresh(MISS_TIMEOUT_S), name="registry-miss")
        # Shielded: a caller that gives up does not cancel the others' answer.
        await asyncio.shield(self._miss)

    def unknown_hint(self) -> str:
        """What a NOT_FOUND for an unknown alias adds while learning cannot be asked."""
        if self.problem is None:
            return ""
        return f" (models registered at run time may be missing here: {self.problem})"

    def summary(self) -> dict[str, str]:
        """For GetInfo: how many models are registered at run time, and where they are kept."""
        if self.shared is None:
            kept = "this process's memory (FREESCALING_ENSEMBLE_LEARNING_ADDR is empty)"
        else:
            kept = f"learning ({self.shared.target}), etag {self.etag or 'none yet'}"
            if self.problem:
                kept += f"; {self.problem}"
        return {"registered_models": str(len(self.registry.registered)), "registered_in": kept}

    # -- lifetime -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Load learning's models (before the replica turns ready), then poll."""
        if self.shared is None:
            return
        await self.refresh()
        self._poller = asyncio.create_task(self._poll(), name="registered-models")

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            await self.refresh()

    async def close(self) -> None:
        for task in (self._poller, self._miss):
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._poller, self._miss) if t is not None), return_exceptions=True
        )
        if self.shared is not None:
            await self.shared.close()
