"""Typed reads of JSON request fields: each returns the value or raises a 400 naming the field
and what it should be. `null` counts as absent, as in OpenAI's API."""

from __future__ import annotations

from services.gateway.http.errors import invalid

_JSON_TYPES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def json_type(value) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _wrong(name: str, wanted: str, value) -> Exception:
    return invalid(f"{name} must be {wanted}; got {json_type(value)}", param=name)


def string(body: dict, name: str, *, required: bool = False) -> str:
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(f"{name} is required", param=name)
        return ""
    if not isinstance(value, str):
        raise _wrong(name, "a string", value)
    return value


def boolean(body: dict, name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _wrong(name, "a boolean (true or false)", value)
    return value


def number(body: dict, name: str, low: float, high: float | None = None) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(name, "a number", value)
    if value < low or (high is not None and value > high):
        span = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise invalid(f"{name} must be {span}; got {value:g}", param=name)
    return float(value)


def integer(body: dict, name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise _wrong(name, "an integer", value)
    if not low <= value <= high:
        raise invalid(f"{name} must be between {low} and {high}; got {value}", param=name)
    return value


def strings(body: dict, name: str, *, most: int | None = None) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _wrong(name, "an array of strings", value)
    if most is not None and len(value) > most:
        raise invalid(f"{name} takes at most {most} entries; got {len(value)}", param=name)
    return value
