"""A model registry entry says where a provider key is, never the key: `api_key_env` names an
environment variable and `api_base` is a plain URL. The ensemble (its registry file and the
models registered at run time) and learning (which keeps those) check entries by these rules,
and neither message ever repeats the value refused: it may be the very key."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Capital letters, digits and underscores, as environment variables are conventionally named:
# provider keys have dashes (nvapi-..., sk-...) or lower-case letters (hf_..., ghp_...), so a
# key pasted where the variable's name belongs is refused.
KEY_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")


def api_key_env_problem(name: str) -> str | None:
    """Why `name` cannot be an entry's api_key_env; None when it can (empty: no key needed)."""
    if not name or KEY_ENV_NAME.fullmatch(name):
        return None
    return (
        "api_key_env must name the environment variable that holds the key (capital letters, "
        "digits and _, at most 128, e.g. NVIDIA_API_KEY), never the key itself"
    )


def api_base_problem(url: str) -> str | None:
    """Why `url` cannot be an entry's api_base; None when it can (empty: the provider's)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        return "api_base is not a valid URL; give http(s)://HOST[:PORT][/PATH]"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "api_base must be an http:// or https:// URL with a host"
    if parts.username is not None or parts.password is not None or parts.query:
        return (
            "api_base must not carry credentials (user:password@ or a query string); the key "
            "goes in the variable api_key_env names"
        )
    return None
