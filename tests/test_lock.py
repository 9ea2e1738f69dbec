"""The dependency lock: fresh, hashed, nothing the project excludes, one image's share of it
complete; the audit's verdicts (allow-list, unreachable advisory service); compromised releases
excluded in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from packaging.requirements import Requirement

from tests.support.processes import ROOT
from tools import lock

LOCK_TEXT = lock.LOCK.read_text()
ENTRIES = lock.read_lock(LOCK_TEXT)
PROJECT = tomllib.loads(lock.PYPROJECT.read_text())["project"]


def _select(*extras: str) -> set[str]:
    return {e.name for e in lock.select(ENTRIES, lock.roots(PROJECT, list(extras)))}


def test_the_lock_is_fresh_hashed_and_holds_nothing_excluded():
    done = subprocess.run(
        [sys.executable, "tools/lock.py", "check"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "all hashed, none excluded" in done.stdout
    # Every install's packages are in it; torch is installed by TORCH_SPEC/TORCH_HASH.
    assert "torch" not in ENTRIES and {"litellm", "grpcio", "pip", "setuptools"} <= set(ENTRIES)


def test_the_compromised_litellm_releases_are_excluded_in_pyproject():
    requirement = next(
        Requirement(r)
        for r in PROJECT["optional-dependencies"]["ensemble"]
        if r.startswith("litellm")
    )
    for version in ("1.82.7", "1.82.8"):
        assert not requirement.specifier.contains(version)
    assert requirement.specifier.contains(ENTRIES["litellm"].version)


def test_a_locked_compromised_release_fails_the_check():
    version = ENTRIES["litellm"].version
    planted = LOCK_TEXT.replace(f"\nlitellm=={version} ", "\nlitellm==1.82.7 ")
    assert planted != LOCK_TEXT
    found = lock.problems(PROJECT, lock.read_lock(planted), planted)
    assert found == [
        "litellm==1.82.7 is locked: a release pyproject.toml excludes as compromised "
        "(litellm!=1.82.7,!=1.82.8,>=1.60)"
    ]


def test_a_stale_or_unhashed_lock_fails_the_check():
    stale = {**PROJECT, "dependencies": [*PROJECT["dependencies"], "rich>=13"]}
    assert lock.problems(stale, ENTRIES, LOCK_TEXT) == [
        "requirements.lock is stale (pyproject.toml changed since): run `make lock`"
    ]
    unhashed = LOCK_TEXT + "\nleftpad==1.0\n"
    assert lock.problems(PROJECT, lock.read_lock(unhashed), unhashed) == [
        "leftpad==1.0 has no hash"
    ]


def test_each_image_takes_its_extras_share_of_the_lock():
    gateway, ensemble, classifier = _select("gateway"), _select("ensemble"), _select("classifier")
    assert {"starlette", "uvicorn", "grpcio", "protobuf"} <= gateway
    assert not gateway & {"litellm", "sqlalchemy", "transformers", "numpy", "pytest"}
    assert "litellm" in ensemble and "aiohttp" in ensemble and "sqlalchemy" not in ensemble
    # torch's own dependencies come with the classifier's share (torch installs --no-deps).
    assert {"transformers", "numpy", "sympy", "networkx", "jinja2"} <= classifier
    # The dev tools the suite and `make lock` use are locked too.
    assert {"pytest", "hypothesis", "schemathesis", "pip-audit", "uv"} <= _select("dev")
    printed = subprocess.run(
        [sys.executable, "tools/lock.py", "select", "gateway"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert printed.count("==") == len(gateway) and "--hash=sha256:" in printed


def _report(*dependencies: dict) -> dict:
    return {"dependencies": list(dependencies), "fixes": []}


def test_the_audit_fails_on_a_vulnerability_unless_the_allow_list_names_it():
    vulnerable = {
        "name": "starlette",
        "version": "1.10.0",
        "vulns": [{"id": "PYSEC-0000-1", "aliases": ["CVE-0000-1"], "fix_versions": ["1.10.1"]}],
    }
    failures, _, _ = lock.judge_audit(_report(vulnerable), {})
    assert failures == ["starlette==1.10.0: PYSEC-0000-1 / CVE-0000-1, fixed in 1.10.1"]
    failures, accepted, _ = lock.judge_audit(_report(vulnerable), {"CVE-0000-1": "not reachable"})
    assert failures == [] and accepted == [
        "starlette==1.10.0: PYSEC-0000-1 / CVE-0000-1 (allowed: not reachable)"
    ]
    skipped = {"name": "grpcio", "skip_reason": "Dependency not found on PyPI"}
    assert lock.judge_audit(_report(skipped, vulnerable), {"PYSEC-0000-1": "x"})[2] == 1


def test_the_readme_allow_list_gives_a_reason_for_every_entry():
    allowed = lock.allow_list()
    assert all(reason.strip() for reason in allowed.values())
    block = lock.README.read_text().split(lock.ALLOW_START)[1].split(lock.ALLOW_END)[0]
    rows = [line for line in block.splitlines() if line.startswith("|")][2:]
    assert len(rows) == len(allowed)
