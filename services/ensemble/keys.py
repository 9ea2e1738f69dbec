"""Which models the ensemble may call now: a model whose credentials are absent (its key
variable unset, or no GitHub Copilot login) is unavailable, with the reason a person reads in
ListModels, /v1/models and the CLI, and is never put on a panel, routed to, or used as a judge
or stand-in. With FREESCALING_ENSEMBLE_REQUIRE_KEYS=false no credential is required: calls go
without a key, as a keyless local OpenAI-compatible server (vLLM, Ollama, llama.cpp, LM Studio)
wants. The service is ready while the default panels (default-k1, -k3, -k5) can be filled with
available models, and otherwise says which variable to set and how."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from services.ensemble.registry import Model, Registry

# NIM's key: our name first, then litellm's own.
NIM_KEY_ENVS = ("NVIDIA_API_KEY", "NVIDIA_NIM_API_KEY")
# Where litellm's Copilot provider keeps the OAuth token (its device-code login writes it).
COPILOT_TOKEN_DIR = "~/.config/litellm/github_copilot"


@dataclass
class Credentials:
    """Credentials as the environment has them; `required` is FREESCALING_ENSEMBLE_REQUIRE_KEYS."""

    required: bool = True
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def key_for(self, model: Model) -> tuple[str | None, str]:
        """(the key or None, the variable(s) it comes from, for messages)."""
        if not model.api_key_env:
            return None, ""
        names = (model.api_key_env,)
        if model.api_key_env in NIM_KEY_ENVS:
            names = (model.api_key_env, *(n for n in NIM_KEY_ENVS if n != model.api_key_env))
        for name in names:
            value = self.environ.get(name, "")
            if value:
                return value, name
        return None, " or ".join(names)

    def missing(self, model: Model) -> str:
        """The variable (or login) `model` lacks, for messages; empty when it has what it
        needs or none is required."""
        if not self.required:
            return ""
        if model.api_key_env:
            key, names = self.key_for(model)
            return names if key is None else ""
        if model.provider == "github_copilot":
            folder = self.environ.get("GITHUB_COPILOT_TOKEN_DIR") or COPILOT_TOKEN_DIR
            token = self.environ.get("GITHUB_COPILOT_ACCESS_TOKEN_FILE") or "access-token"
            if not (Path(folder).expanduser() / token).is_file():
                return "a GitHub Copilot login"
        return ""

    def unavailable(self, model: Model) -> str:
        """Why `model` cannot be called now; empty when it can."""
        lacking = self.missing(model)
        if not lacking:
            return ""
        if lacking == "a GitHub Copilot login":
            return (
                "no GitHub Copilot login: log in once (litellm's device flow) and point "
                "GITHUB_COPILOT_TOKEN_DIR at the folder holding its access-token"
            )
        return f"no API key: set {lacking} in the ensemble's environment"


def missing_by_variable(registry: Registry, credentials: Credentials) -> dict[str, list[str]]:
    """{what is missing (a variable, or a login): the aliases of the file's models that lack
    it}, in registry order."""
    missing: dict[str, list[str]] = {}
    for alias, model in registry.models.items():
        lacking = credentials.missing(model)
        if lacking and alias not in registry.registered:
            missing.setdefault(lacking, []).append(alias)
    return missing


def _fix(variable: str) -> str:
    if variable.split(" or ")[0] in NIM_KEY_ENVS:
        return (
            f"no {variable.split(' or ')[0]}: export it (a free key at build.nvidia.com), or "
            "point FREESCALING_ENSEMBLE_API_BASE at an OpenAI-compatible server (with "
            "FREESCALING_ENSEMBLE_REQUIRE_KEYS=false when it takes no key)"
        )
    if variable == "a GitHub Copilot login":
        return "no GitHub Copilot login (GITHUB_COPILOT_TOKEN_DIR)"
    return f"no {variable}: export it"


def not_ready_reason(registry: Registry, credentials: Credentials, short: list[str]) -> str:
    """What a person reads in the log, GetInfo and `make run` while the default panels in
    `short` cannot be filled with available models."""
    missing = missing_by_variable(registry, credentials)
    wanted = {a for name in short for a in registry.panels.get(name, [])}
    causes = [v for v, aliases in missing.items() if wanted & set(aliases)] or list(missing)
    fixes = "; ".join(_fix(v) for v in causes) or "no model of the registry is available"
    return (
        f"{fixes} (too few models can be called for {', '.join(short)}; in Kubernetes, keys "
        "come from the freescaling-secrets Secret)"
    )
