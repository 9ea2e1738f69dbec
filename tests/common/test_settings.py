"""Typed settings: flag over environment over default, readable errors naming the variable, and
processes that refuse to start with such an error (exit 2) instead of a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import dataclass

import pytest

from services.common.settings import (
    SettingsError,
    describe,
    load,
    port_number,
    positive,
    public_values,
    setting,
)
from services.gateway.config import GatewaySettings
from tests.support.processes import ROOT


@dataclass(frozen=True)
class Example:
    """An example."""

    port: int = setting(8080, "EX_PORT", "Port", check=port_number)
    ratio: float = setting(0.5, "EX_RATIO", "Ratio", check=positive)
    names: list[str] = setting(["a"], "EX_NAMES", "Names")
    flag: bool = setting(False, "EX_FLAG", "A switch")
    weights: dict[str, float] = setting({"x": 1.0}, "EX_WEIGHTS", "Weights")
    token: str = setting("", "EX_TOKEN", "A secret", secret=True)


def test_defaults_env_and_flags_in_that_order_of_precedence():
    assert load(Example, [], {}).port == 8080
    assert load(Example, [], {"EX_PORT": "9000"}).port == 9000
    assert load(Example, ["--port", "9100"], {"EX_PORT": "9000"}).port == 9100


def test_values_are_converted_to_the_field_types():
    loaded = load(
        Example,
        ["--flag", "yes"],
        {"EX_RATIO": "2.5", "EX_NAMES": "b, c,,d", "EX_WEIGHTS": "fast=1,thinking=6.5"},
    )
    assert loaded.ratio == 2.5
    assert loaded.names == ["b", "c", "d"]
    assert loaded.flag is True
    assert loaded.weights == {"fast": 1.0, "thinking": 6.5}
    assert load(Example, [], {"EX_NAMES": ""}).names == []


def test_list_defaults_are_not_shared_between_instances():
    first, second = load(Example, [], {}), load(Example, [], {})
    first.names.append("z")
    assert second.names == ["a"]


@pytest.mark.parametrize(
    ("environ", "argv", "expected"),
    [
        ({"EX_PORT": "eighty"}, [], "EX_PORT='eighty' is not a valid integer"),
        ({}, ["--ratio", "fast"], "--ratio='fast' is not a valid number"),
        (
            {"EX_FLAG": "maybe"},
            [],
            "EX_FLAG='maybe' is not a valid true/false: expected true or false",
        ),
        ({"EX_PORT": "70000"}, [], "EX_PORT (flag --port): must be a port number"),
        ({"EX_RATIO": "0"}, [], "EX_RATIO (flag --ratio): must be greater than 0; got 0.0"),
        ({"EX_WEIGHTS": "fast"}, [], "expected key=value pairs"),
    ],
)
def test_bad_values_name_the_variable_and_what_it_expects(environ, argv, expected):
    with pytest.raises(SettingsError) as err:
        load(Example, argv, environ)
    assert expected in str(err.value)


def test_secrets_are_never_shown():
    values = public_values(load(Example, [], {"EX_TOKEN": "nvapi-very-secret"}))
    assert values["token"] == "(set)"
    assert "nvapi-very-secret" not in repr(values)
    assert public_values(load(Example, [], {}))["token"] == "(unset)"


def test_describe_lists_every_setting_for_the_docs():
    rows = {r["env"]: r for r in describe(Example)}
    assert set(rows) == {"EX_PORT", "EX_RATIO", "EX_NAMES", "EX_FLAG", "EX_WEIGHTS", "EX_TOKEN"}
    assert rows["EX_NAMES"]["default"] == "a"
    assert rows["EX_PORT"]["flag"] == "--port"


def test_gateway_refuses_an_unknown_required_downstream():
    with pytest.raises(SettingsError) as err:
        load(GatewaySettings, [], {"FREESCALING_GATEWAY_REQUIRED": "ensemble,databse"})
    assert "FREESCALING_GATEWAY_REQUIRED" in str(err.value)
    assert "databse" in str(err.value)


def _run(module: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={**(env or {}), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bad_setting_stops_the_process_with_a_clear_message():
    done = _run("services.learning", env={"FREESCALING_GRACE_S": "soon"})
    assert done.returncode == 2
    assert "learning: bad setting: FREESCALING_GRACE_S='soon' is not a valid number" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_taken_port_stops_the_process_with_a_clear_message():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = _run("services.ensemble", "--host", "127.0.0.1", "--port", str(port))
    assert done.returncode == 2
    assert f"ensemble cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "FREESCALING_ENSEMBLE_PORT" in done.stderr
    assert "Traceback" not in done.stderr


@dataclass(frozen=True)
class WithSecretCheck:
    """Secrets with checks."""

    token: str = setting("", "EX_TOKEN", "A secret", check=lambda v: "too short", secret=True)
    keys: list[int] = setting([], "EX_KEYS", "Secret numbers", secret=True)


def test_errors_never_repeat_a_secret_value():
    with pytest.raises(SettingsError) as err:
        load(WithSecretCheck, [], {"EX_TOKEN": "nvapi-abc123"})
    assert "nvapi-abc123" not in str(err.value) and "(secret)" in str(err.value)
    with pytest.raises(SettingsError) as err:
        load(WithSecretCheck, [], {"EX_KEYS": "12,nvapi-xyz"})
    assert "nvapi-xyz" not in str(err.value) and "EX_KEYS" in str(err.value)
