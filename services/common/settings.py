"""Typed settings read from `FREESCALING_*` environment variables, overridable by flags.

A service declares a frozen dataclass whose fields are made with `setting(...)`; `load()` reads
each field from its flag, else its environment variable, else its default, converts it to the
field's type, validates it, and fails with a message naming the variable. `describe()` feeds
the README's configuration table.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class SettingsError(ValueError):
    """A setting's value is unusable; the message names the variable and what it expects."""


@dataclasses.dataclass(frozen=True)
class SettingMeta:
    env: str
    help: str
    check: Callable[[Any], str | None] | None = None
    secret: bool = False


def setting(
    default: Any,
    env: str,
    help: str,
    *,
    check: Callable[[Any], str | None] | None = None,
    secret: bool = False,
) -> Any:
    """A settings field: its env var, a one-line meaning, an optional check returning an error,
    and whether its value is a secret (never shown by `public_values`)."""
    meta = {"setting": SettingMeta(env=env, help=help, check=check, secret=secret)}
    if isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def non_negative(value: float) -> str | None:
    return None if value >= 0 else "must be 0 or more"


def port_number(value: int) -> str | None:
    return None if 0 <= value <= 65535 else "must be a port number, 0..65535 (0 picks a free one)"


def one_of(*choices: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _convert(raw: str, kind: Any) -> Any:
    origin = typing.get_origin(kind)
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise ValueError("expected true or false")
    if kind is int:
        return int(raw)
    if kind is float:
        return float(raw)
    if kind is Path:
        return Path(raw)
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_convert(part.strip(), item) for part in raw.split(",") if part.strip()]
    if origin is dict:
        # "key=value,key=value"
        key_kind, value_kind = typing.get_args(kind)
        pairs = {}
        for part in filter(None, (p.strip() for p in raw.split(","))):
            key, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"expected key=value pairs separated by commas, got {part!r}")
            pairs[_convert(key.strip(), key_kind)] = _convert(value.strip(), value_kind)
        return pairs
    if kind is str:
        return raw
    raise TypeError(f"unsupported settings type {kind!r}")


def _type_name(kind: Any) -> str:
    origin = typing.get_origin(kind)
    if origin is list:
        return "list of " + _type_name(typing.get_args(kind)[0]) + " (comma-separated)"
    if origin is dict:
        return "key=value pairs (comma-separated)"
    return {bool: "true/false", int: "integer", float: "number", Path: "path", str: "text"}.get(
        kind, str(kind)
    )


def load(
    cls: type[T],
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    prog: str | None = None,
) -> T:
    """Build `cls` from flags (argv), then environment, then defaults; raise SettingsError."""
    environ = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if "setting" in f.metadata]
    parser = argparse.ArgumentParser(prog=prog, description=cls.__doc__)
    for f in fields:
        meta: SettingMeta = f.metadata["setting"]
        parser.add_argument(
            _flag(f.name), dest=f.name, metavar="VALUE", help=f"{meta.help} [{meta.env}]"
        )
    parsed = vars(parser.parse_args(list(argv or [])))
    values: dict[str, Any] = {}
    for f in fields:
        meta = f.metadata["setting"]
        raw, source = parsed.get(f.name), _flag(f.name)
        if raw is None:
            raw, source = environ.get(meta.env), meta.env
        if raw is None:
            continue
        try:
            value = _convert(raw, hints[f.name])
        except ValueError as exc:
            # A secret's value, or the parser's echo of it, never reaches the message.
            shown, detail = ("(secret)", "") if meta.secret else (repr(raw), f": {exc}")
            raise SettingsError(
                f"{source}={shown} is not a valid {_type_name(hints[f.name])}{detail}"
            ) from None
        values[f.name] = value
    settings = cls(**values)
    for f in fields:
        meta = f.metadata["setting"]
        problem = meta.check(getattr(settings, f.name)) if meta.check else None
        if problem:
            shown = "(secret)" if meta.secret else repr(getattr(settings, f.name))
            raise SettingsError(f"{meta.env} (flag {_flag(f.name)}): {problem}; got {shown}")
    return settings


def describe(cls: type) -> list[dict[str, str]]:
    """One row per setting: env var, flag, type, default and meaning (for docs)."""
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        if "setting" not in f.metadata:
            continue
        meta: SettingMeta = f.metadata["setting"]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        if isinstance(default, list):
            default = ",".join(str(d) for d in default)
        elif isinstance(default, dict):
            default = ",".join(f"{k}={v}" for k, v in default.items())
        elif isinstance(default, bool):
            default = str(default).lower()
        rows.append(
            {
                "env": meta.env,
                "flag": _flag(f.name),
                "type": _type_name(hints[f.name]),
                "default": str(default),
                "help": meta.help,
            }
        )
    return rows


def public_values(settings: Any) -> dict[str, str]:
    """Every setting as text for GetInfo; secrets only say whether they are set."""
    values = {}
    for f in dataclasses.fields(settings):
        meta: SettingMeta | None = f.metadata.get("setting")
        if meta is None:
            continue
        value = getattr(settings, f.name)
        if meta.secret:
            values[f.name] = "(set)" if value else "(unset)"
        elif isinstance(value, list):
            values[f.name] = ",".join(str(v) for v in value)
        elif isinstance(value, dict):
            values[f.name] = ",".join(f"{k}={v}" for k, v in value.items())
        else:
            values[f.name] = str(value)
    return values
