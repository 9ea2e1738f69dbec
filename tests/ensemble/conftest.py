"""Fixtures for the ensemble: a local OpenAI-compatible server playing scripted models, and the
ensemble process pointed at it with a test registry and a recognisable fake key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fake_openai import FakeOpenAI, Step
from tests.support.processes import ServiceProcess

# A key nobody would type by accident: tests grep logs and errors for it.
FAKE_KEY = "nvapi-TESTKEY-4f1c9e2b7a-do-not-leak"

FAST = [f"f{i}" for i in range(1, 13)]
MEDIUM = [f"m{i}" for i in range(1, 7)]
THINKING = ["t1", "t2"]


def registry_yaml(api_base: str = "") -> str:
    lines = ["defaults: {api_key_env: NVIDIA_API_KEY}", "models:"]
    for tier, aliases in (("fast", FAST), ("medium", MEDIUM), ("thinking", THINKING)):
        for alias in aliases:
            base = f", api_base: '{api_base}'" if api_base else ""
            lines.append(
                f"  - {{alias: {alias}, model: nvidia_nim/test/{alias}, tier: {tier}, "
                f"input_cost_per_mtok: 2.0, output_cost_per_mtok: 10.0{base}}}"
            )
    lines += [
        "panels:",
        "  default-k1: [f1]",
        "  default-k3: [f1, f2, f3]",
        "  default-k5: [f1, f2, f3, f4, f5]",
        "  judges: [m1, m2, m3]",
        "  pair: [f1, f2]",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def fake():
    server = FakeOpenAI(default=Step(text="Answer: YES")).start()
    yield server
    server.stop()


def start_ensemble(tmp: Path, fake: FakeOpenAI, **env: str) -> ServiceProcess:
    tmp.mkdir(parents=True, exist_ok=True)
    registry = tmp / "registry.yaml"
    registry.write_text(registry_yaml())
    process = ServiceProcess(
        "ensemble",
        tmp,
        env={
            "NVIDIA_API_KEY": FAKE_KEY,
            "FREESCALING_ENSEMBLE_REGISTRY": str(registry),
            "FREESCALING_ENSEMBLE_API_BASE": fake.base_url,
            "FREESCALING_ENSEMBLE_RATE_LIMIT_RPM": "0",
            "FREESCALING_ENSEMBLE_CALL_TIMEOUT_S": "10",
            **env,
        },
    )
    return process.start().wait_serving(timeout=60).wait_ready()


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory, fake):
    process = start_ensemble(tmp_path_factory.mktemp("ensemble"), fake)
    yield process
    assert process.stop() == 0
