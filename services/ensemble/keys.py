"""Whether the ensemble has the provider keys it needs to do its work: the keys of the models in
the default panels (default-k1, -k3, -k5), which answer every request that names no models.
Without them the service is alive but not ready, and says which variables to set."""

from __future__ import annotations

from services.ensemble.provider import Provider
from services.ensemble.registry import DEFAULT_PANEL_SIZES, Registry, default_panel_name


def missing_keys(registry: Registry, provider: Provider) -> dict[str, list[str]]:
    """{the variable(s) to set: the default-panel aliases that need it}; empty when all set."""
    missing: dict[str, list[str]] = {}
    for k in DEFAULT_PANEL_SIZES:
        for alias in registry.panels.get(default_panel_name(k), []):
            model = registry.get(alias)
            if model is None or not model.api_key_env:
                continue  # an unknown alias is the registry's error; no key: OAuth providers
            key, names = provider.key_for(model)
            if key is None and alias not in missing.setdefault(names, []):
                missing[names].append(alias)
    return {names: aliases for names, aliases in missing.items() if aliases}


def not_ready_reason(missing: dict[str, list[str]]) -> str:
    """What a person reads in the log and GetInfo while keys are missing."""
    parts = [f"set {names} (needed by {', '.join(aliases)})" for names, aliases in missing.items()]
    return (
        "no provider API key for the default panels' models: "
        + "; ".join(parts)
        + " in the ensemble's environment (in Kubernetes, the freescaling-secrets Secret); "
        "FREESCALING_ENSEMBLE_REQUIRE_KEYS=false serves without them"
    )
