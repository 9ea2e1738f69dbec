"""The model pool: the registry, the dead-model table, and how a request's models are chosen
(panels, explicit lists) and asked with self-healing (a dead model is replaced by a live model
of the same tier and provider, before the call or as soon as it answers 404/410). A model
without its credentials (keys.py) is never chosen: a configured panel's place goes to an
available model of the same tier (else of any tier), and an explicit list naming one is
refused with the reason."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from services.ensemble.deadmodels import DeadModels
from services.ensemble.provider import Provider, ProviderError, Reply
from services.ensemble.registry import Model, Registry, default_panel_name

logger = logging.getLogger(__name__)


class BadRequest(ValueError):
    """The request cannot be served as asked (INVALID_ARGUMENT); the message says what to fix."""


class UnknownModel(LookupError):
    """An alias or panel the registry does not know (NOT_FOUND)."""


class NoModel(RuntimeError):
    """No usable model for the request (FAILED_PRECONDITION), e.g. no default panel for k."""


@dataclass
class Asked:
    """One slot's outcome: the model that answered (a substitute's when the asked one was dead),
    its reply or error, and how many provider calls it took."""

    model: Model
    substituted_for: str = ""
    reply: Reply | None = None
    error: ProviderError | None = None
    calls: int = 0


class Pool:
    def __init__(
        self,
        registry: Registry,
        provider: Provider,
        dead: DeadModels,
        max_models: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.provider = provider
        self.dead = dead
        self.max_models = max_models
        self.clock = clock

    # -- choosing ----------------------------------------------------------------------------
    def unavailable(self, model: Model) -> str:
        """Why `model` cannot be called (no credentials); empty when it can."""
        return self.provider.credentials.unavailable(model)

    def usable(self, model: Model) -> bool:
        """Available and not dead: a model that may be put on a panel or stand in."""
        return not self.unavailable(model) and not self.dead.is_dead(model.alias)

    def require_available(self, models: Sequence[Model], what: str = "models") -> list[Model]:
        """`models` as they are; NoModel naming the first that lacks its credentials."""
        for model in models:
            why = self.unavailable(model)
            if why:
                raise NoModel(f"{what}: {model.alias} is unavailable: {why}")
        return list(models)

    def filled(self, aliases: Sequence[str], what: str) -> list[Model]:
        """A configured panel's models, each unavailable one replaced by an available model
        of its tier (else of any tier) not on the panel yet, in registry order; NoModel when
        too few are available."""
        members = self.lookup(aliases, what)
        chosen = [m for m in members if not self.unavailable(m)]
        if len(chosen) == len(members):
            return members
        taken = {m.alias for m in members}
        spare = [
            m for m in self.registry.models.values() if m.alias not in taken and self.usable(m)
        ]
        out: list[Model] = []
        for member in members:
            if not self.unavailable(member):
                out.append(member)
                continue
            stand_in = next((m for m in spare if m.tier == member.tier), None) or next(
                iter(spare), None
            )
            if stand_in is None:
                missing = sorted({self.unavailable(m) for m in members if self.unavailable(m)})
                raise NoModel(
                    f"{what}: too few models can be called ({len(chosen)} of {len(members)} "
                    f"available): {'; '.join(missing)}"
                )
            spare.remove(stand_in)
            out.append(stand_in)
        return out

    def lookup(self, aliases: Sequence[str], what: str = "models") -> list[Model]:
        if len(aliases) > self.max_models:
            raise BadRequest(f"{what} lists {len(aliases)} models; at most {self.max_models}")
        seen: set[str] = set()
        found = []
        for alias in aliases:
            if not alias.strip():
                raise BadRequest(f"{what} has an empty alias")
            if alias in seen:
                raise BadRequest(f"{what} lists {alias!r} twice")
            seen.add(alias)
            model = self.registry.get(alias)
            if model is None:
                raise UnknownModel(
                    f"unknown model {alias!r}; ListModels shows the registry's aliases"
                )
            found.append(model)
        return found

    def panel(self, k: int, models: Sequence[str], panel: str) -> list[Model]:
        """The models a request asks: explicit `models`, else the named panel, else the
        default panel for k (k in 1, 3, 5)."""
        if models:
            return self.require_available(self.lookup(models))
        if panel:
            members = self.registry.panels.get(panel)
            if members is None:
                raise UnknownModel(
                    f"unknown panel {panel!r}; known: {', '.join(self.registry.panels)}"
                )
            return self.filled(members, f"panel {panel!r}")
        if k not in (1, 3, 5):
            raise BadRequest(f"k must be 1, 3 or 5 (or give models explicitly); got {k}")
        members = self.registry.panels.get(default_panel_name(k))
        if not members:
            raise NoModel(f"the registry has no {default_panel_name(k)} panel")
        return self.filled(members, default_panel_name(k))

    def substitute(self, model: Model, exclude: Iterable[str]) -> Model | None:
        """A live model of the same tier and provider, not in `exclude`, in registry order."""
        taken = set(exclude) | {model.alias}
        for candidate in self.registry.models.values():
            if (
                candidate.alias not in taken
                and candidate.tier == model.tier
                and candidate.provider == model.provider
                and self.usable(candidate)
            ):
                return candidate
        return None

    def outsiders(self, inside: Iterable[str], providers: Iterable[str]) -> list[Model]:
        """Live, available models outside `inside` from the same providers, in registry
        order."""
        inside, providers = set(inside), set(providers)
        return [
            m
            for m in self.registry.models.values()
            if m.alias not in inside and m.provider in providers and self.usable(m)
        ]

    def mark_dead(self, model: Model, why: str) -> float:
        until = self.dead.mark(model.alias, why)
        logger.warning(
            "%s is dead for %.0f s and will be substituted: %s",
            model.alias,
            self.dead.ttl_s,
            why,
            extra={"model": model.alias},
        )
        return until

    # -- asking ------------------------------------------------------------------------------
    async def ask(
        self,
        model: Model,
        messages: list[dict],
        deadline: float,
        taken: set[str],
        **options,
    ) -> Asked:
        """Ask `model`, or a live same-tier stand-in when it is dead (or dies answering).
        `taken` holds the aliases already in use by this request; stand-ins join it."""
        asked = Asked(model=model)
        while True:
            if self.dead.is_dead(asked.model.alias):
                stand_in = self.substitute(asked.model, taken)
                if stand_in is None:
                    asked.error = ProviderError(
                        "dead",
                        f"{asked.model.alias} is dead ({self.dead.why(asked.model.alias)}) and no "
                        f"live {asked.model.tier} model can stand in",
                    )
                    return asked
                taken.add(stand_in.alias)
                asked.substituted_for = asked.substituted_for or asked.model.alias
                asked.model = stand_in
            asked.calls += 1
            try:
                asked.reply = await self.provider.complete(
                    asked.model, messages, deadline, **options
                )
                return asked
            except ProviderError as exc:
                if exc.kind == "config":
                    asked.calls -= 1  # refused before any request left (no key)
                if exc.kind != "dead":
                    asked.error = exc
                    return asked
                self.mark_dead(asked.model, exc.message)
                if deadline - self.clock() <= 0:
                    asked.error = exc
                    return asked
