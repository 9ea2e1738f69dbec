"""The model registry: models (alias, litellm string, tier, prices, key variable) and named
panels, loaded from a YAML file and validated entry by entry, plus the models registered at run
time (RegisterModel; kept by learning when the ensemble is connected to it). The default file
ships in this package (`registry.yaml`). A model of the file is never replaced by a run-time
registration."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from services.common.entry_secrets import api_base_problem, api_key_env_problem

DEFAULT_PATH = Path(__file__).with_name("registry.yaml")
TIERS = ("fast", "medium", "thinking")
DEFAULT_TIER_COSTS = {"fast": 1.0, "medium": 3.0, "thinking": 6.0}
DEFAULT_PANEL_SIZES = (1, 3, 5)
# Learning keeps aliases in 200-character columns.
MAX_ALIAS = 200
_MODEL_KEYS = {
    "alias",
    "model",
    "tier",
    "input_cost_per_mtok",
    "output_cost_per_mtok",
    "cost",
    "thinking",
    "api_base",
    "api_key_env",
}


class RegistryError(ValueError):
    """The registry file is unusable; the message names the file and the bad entry."""


class AlreadyRegistered(RegistryError):
    """A run-time registration under an alias that names another definition (ALREADY_EXISTS)."""


@dataclass(frozen=True)
class Model:
    """One registry entry. `api_key_env` names the variable with the key, never the key."""

    alias: str
    litellm_model: str
    tier: str
    input_cost_per_mtok: float = 0.0
    output_cost_per_mtok: float = 0.0
    cost: float = 1.0
    thinking: bool = False
    api_base: str = ""
    api_key_env: str = ""

    @property
    def provider(self) -> str:
        return self.litellm_model.split("/", 1)[0]

    def usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_cost_per_mtok + completion_tokens * self.output_cost_per_mtok
        ) / 1e6


def default_panel_name(k: int) -> str:
    return f"default-k{k}"


@dataclass(frozen=True)
class Adoption:
    """What adopting learning's run-time models changed here (aliases), and what was refused
    (alias: why)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


@dataclass
class Registry:
    """Models in file order, then the models registered at run time in registration order, and
    named panels (the defaults per k included; panels name file models only)."""

    models: dict[str, Model]
    panels: dict[str, list[str]] = field(default_factory=dict)
    source: str = ""
    # Aliases registered at run time; every other alias of `models` is the file's.
    registered: set[str] = field(default_factory=set)

    def get(self, alias: str) -> Model | None:
        return self.models.get(alias)

    def from_file(self, alias: str) -> Model | None:
        """The file's model of that alias (None for one registered at run time, or unknown)."""
        return None if alias in self.registered else self.models.get(alias)

    def _file_conflict(self, model: Model, known: Model) -> AlreadyRegistered:
        return AlreadyRegistered(
            f"model {model.alias!r} is defined by the registry file {self.source} "
            f"({known.litellm_model}, tier {known.tier}); a run-time registration cannot change "
            "it: register the new definition under another alias"
        )

    def check_new(self, model: Model) -> Model | None:
        """Whether `model` may be registered at run time: the file's model when the file
        defines exactly it already, None when it may be; RegistryError when it is invalid and
        AlreadyRegistered when the file defines its alias otherwise."""
        problem = validate_model(model)
        if problem:
            raise RegistryError(f"model {model.alias!r}: {problem}")
        known = self.from_file(model.alias)
        if known is None:
            return None
        if known == model:
            return known
        raise self._file_conflict(model, known)

    def add(self, model: Model) -> bool:
        """Add a model at run time. False when the same definition is already there; a
        different definition under a known alias is AlreadyRegistered."""
        if self.check_new(model) is not None:
            return False
        known = self.models.get(model.alias)
        if known is not None:
            if known == model:
                return False
            raise AlreadyRegistered(
                f"model {model.alias!r} is already registered with a different definition "
                f"({known.litellm_model}, tier {known.tier}); register the new definition "
                "under another alias"
            )
        self.models[model.alias] = model
        self.registered.add(model.alias)
        return True

    def put(self, model: Model) -> None:
        """Hold `model` as registered at run time, replacing a registered one of its alias (as
        learning has it); the caller has checked it with `check_new`."""
        self.models[model.alias] = model
        self.registered.add(model.alias)

    def adopt(self, entries: Iterable[Model]) -> Adoption:
        """Make the run-time models exactly `entries` (learning's, in its order): entries not
        here are added, a different definition replaces the one held, models no longer listed
        are dropped. An entry whose alias the file defines, or that is invalid, is refused and
        the file's model (or nothing) stays."""
        adoption = Adoption()
        wanted: dict[str, Model] = {}
        for model in entries:
            problem = validate_model(model)
            known = self.from_file(model.alias)
            if problem:
                adoption.refused[model.alias] = problem
            elif known is not None:
                if known != model:
                    adoption.refused[model.alias] = (
                        f"the registry file {self.source} defines {model.alias!r} "
                        f"({known.litellm_model}, tier {known.tier}) and wins"
                    )
            else:
                wanted[model.alias] = model
        adoption.removed.extend(a for a in self.models if a in self.registered and a not in wanted)
        for alias, model in wanted.items():
            held = self.models.get(alias) if alias in self.registered else None
            if held is None:
                adoption.added.append(alias)
            elif held != model:
                adoption.changed.append(alias)
        # One new dict, swapped in at once: whoever iterates the old one is not disturbed.
        models = {a: m for a, m in self.models.items() if a not in self.registered}
        models.update(wanted)
        self.models = models
        self.registered = set(wanted)
        return adoption


def validate_model(model: Model) -> str | None:
    if not model.alias or not model.alias.strip():
        return "alias is empty"
    if model.alias != model.alias.strip() or len(model.alias) > MAX_ALIAS:
        return f"alias must have no spaces around it and at most {MAX_ALIAS} characters"
    if "/" not in model.litellm_model or not model.litellm_model.split("/", 1)[1]:
        return (
            f"model {model.litellm_model!r} is not a litellm model string "
            "('<provider>/<model id>', e.g. nvidia_nim/meta/llama-3.3-70b-instruct)"
        )
    if model.tier not in TIERS:
        return f"tier {model.tier!r} is not one of {', '.join(TIERS)}"
    for name in ("input_cost_per_mtok", "output_cost_per_mtok", "cost"):
        value = getattr(model, name)
        if not math.isfinite(value) or value < 0:
            return f"{name} must be a number, 0 or more; got {value!r}"
    return api_key_env_problem(model.api_key_env) or api_base_problem(model.api_base)


def _number(entry: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RegistryError(f"{where}: {key} must be a number, got {value!r}")
    return float(value)


def _text(entry: Mapping[str, Any], key: str, default: str, where: str) -> str:
    value = entry.get(key, default)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RegistryError(f"{where}: {key} must be text, got {value!r}")
    return value


def parse(data: Any, source: str = "<registry>") -> Registry:
    """Build a Registry from the file's parsed content; RegistryError names the bad entry."""
    if not isinstance(data, Mapping):
        raise RegistryError(f"{source}: expected a mapping with 'models' (and 'panels')")
    unknown = set(data) - {"defaults", "tier_costs", "models", "panels"}
    if unknown:
        raise RegistryError(f"{source}: unknown top-level keys {sorted(unknown)}")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, Mapping) or set(defaults) - _MODEL_KEYS:
        raise RegistryError(f"{source}: 'defaults' must map model keys to values")
    tier_costs = dict(DEFAULT_TIER_COSTS)
    for tier, cost in (data.get("tier_costs") or {}).items():
        if tier not in TIERS:
            raise RegistryError(f"{source}: tier_costs: unknown tier {tier!r}")
        tier_costs[tier] = _number({"c": cost}, "c", 0, f"{source}: tier_costs.{tier}")

    entries = data.get("models")
    if not isinstance(entries, list) or not entries:
        raise RegistryError(f"{source}: 'models' must be a non-empty list")
    models: dict[str, Model] = {}
    for position, raw in enumerate(entries, start=1):
        where = f"{source}: models entry {position}"
        if not isinstance(raw, Mapping):
            raise RegistryError(f"{where}: expected a mapping, got {raw!r}")
        alias = raw.get("alias")
        if isinstance(alias, str) and alias:
            where = f"{source}: model {alias!r} (entry {position})"
        extra = set(raw) - _MODEL_KEYS
        if extra:
            raise RegistryError(f"{where}: unknown keys {sorted(extra)}")
        for required in ("alias", "model", "tier"):
            if not raw.get(required):
                raise RegistryError(f"{where}: '{required}' is required")
        entry = {**defaults, **raw}
        tier = _text(entry, "tier", "", where)
        thinking = entry.get("thinking", False)
        if not isinstance(thinking, bool):
            raise RegistryError(f"{where}: thinking must be true or false, got {thinking!r}")
        model = Model(
            alias=_text(entry, "alias", "", where),
            litellm_model=_text(entry, "model", "", where),
            tier=tier,
            input_cost_per_mtok=_number(entry, "input_cost_per_mtok", 0.0, where),
            output_cost_per_mtok=_number(entry, "output_cost_per_mtok", 0.0, where),
            cost=_number(entry, "cost", tier_costs.get(tier, 1.0), where),
            thinking=thinking,
            api_base=_text(entry, "api_base", "", where),
            api_key_env=_text(entry, "api_key_env", "", where),
        )
        problem = validate_model(model)
        if problem:
            raise RegistryError(f"{where}: {problem}")
        if model.alias in models:
            raise RegistryError(f"{where}: alias {model.alias!r} is defined twice")
        models[model.alias] = model

    panels: dict[str, list[str]] = {}
    raw_panels = data.get("panels") or {}
    if not isinstance(raw_panels, Mapping):
        raise RegistryError(f"{source}: 'panels' must map names to lists of aliases")
    for name, members in raw_panels.items():
        where = f"{source}: panel {name!r}"
        if not isinstance(members, list) or not members:
            raise RegistryError(f"{where}: expected a non-empty list of aliases")
        for alias in members:
            if alias not in models:
                raise RegistryError(f"{where}: unknown model {alias!r}")
        if len(set(members)) != len(members):
            raise RegistryError(f"{where}: a model is listed twice")
        panels[str(name)] = list(members)
    for k in DEFAULT_PANEL_SIZES:
        name = default_panel_name(k)
        if name in panels and len(panels[name]) != k:
            raise RegistryError(
                f"{source}: panel {name!r} must have {k} models, has {len(panels[name])}"
            )
        if name not in panels and len(models) >= k:
            # No default configured: the first k entries, in file order.
            panels[name] = list(models)[:k]
    ordered = {
        default_panel_name(k): panels.pop(default_panel_name(k))
        for k in (1, 3, 5)
        if default_panel_name(k) in panels
    }
    return Registry(models=models, panels={**ordered, **panels}, source=source)


def load(path: str | Path = "") -> Registry:
    """Load and validate a registry file (the packaged default when `path` is empty)."""
    file = Path(path) if path else DEFAULT_PATH
    try:
        text = file.read_text()
    except OSError as exc:
        raise RegistryError(f"cannot read the model registry {file}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{file}: not valid YAML: {exc}") from None
    return parse(data, str(file))


def with_api_base(registry: Registry, api_base: str) -> Registry:
    """The registry with every entry's API base replaced (the global override)."""
    if not api_base:
        return registry
    models = {a: replace(m, api_base=api_base) for a, m in registry.models.items()}
    return Registry(
        models=models,
        panels=registry.panels,
        source=registry.source,
        registered=set(registry.registered),
    )


def same_provider(models: Iterable[Model], provider: str) -> list[Model]:
    return [m for m in models if m.provider == provider]
