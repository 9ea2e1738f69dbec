"""The dependency lock, requirements.lock: every package every install takes, pinned with its
hashes, except torch (the right build depends on the machine: see the Makefile's TORCH_SPEC).

    python tools/lock.py compile             refresh it from pyproject.toml (`make lock`)
    python tools/lock.py select EXTRA...     the locked entries one image needs (the Dockerfile)
    python tools/lock.py check               fresh, hashed, and no version the project excludes
    python tools/lock.py audit               pip-audit against it, then `check` (`make audit`, CI)

`select` and `check`'s parsing use the standard library only: the Dockerfile runs `select` with
the base image's Python, before anything is installed."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
README = ROOT / "README.md"
PROJECT = "freescaling"
# Locked beside the project's own dependencies: pip itself, and setuptools, the build backend
# (the project installs with --no-build-isolation, so nothing unhashed is fetched to build it).
# The torch build the lock's torch dependencies are resolved for: its CPU build, whose
# dependencies are platform-independent (a CUDA build adds its CUDA libraries, installed with it
# where TORCH_HASH is empty). torch itself is left out of the file (--no-emit-package).
EXTRA_INPUTS = ("pip", "setuptools>=69", "torch==2.13.0+cpu")
# The lock is resolved for the images' and CI's platform: CPython 3.11 on Linux x86_64.
PLATFORM = ("--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_28")
# Where the CPU build of torch is found when locking: this machine's own copy, else PyTorch's
# CPU index (a page of links, read as --find-links).
TORCH_FIND_LINKS = (
    os.environ.get("TORCH_FIND_LINKS")
    or ("/opt/wheels" if list(Path("/opt/wheels").glob("torch-*.whl")) else None)
    or "https://download.pytorch.org/whl/cpu/torch/"
)
DIGEST_LINE = "# inputs digest: "
ALLOW_START, ALLOW_END = "<!-- audit-allow:start -->", "<!-- audit-allow:end -->"

_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- reading the lock -----------------------------------------------------------------------


class Entry:
    def __init__(self, name: str, version: str) -> None:
        self.name, self.version = normalize(name), version
        self.lines: list[str] = []  # the entry as written (requirement, hashes, annotations)
        self.via: set[str] = set()  # the locked packages (or the project) that require it

    @property
    def hashes(self) -> list[str]:
        return re.findall(r"--hash=(sha256:[0-9a-f]{64})", "\n".join(self.lines))


def read_lock(text: str) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    current: Entry | None = None
    in_via = False
    for line in text.splitlines():
        pinned = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if pinned:
            current = Entry(pinned.group(1), pinned.group(2))
            entries[current.name] = current
            in_via = False
        elif current is None or not line.startswith("    "):
            current, in_via = None, False
            continue
        current.lines.append(line)
        note = line.strip()
        if note.startswith("# via"):
            rest = note.removeprefix("# via").strip()
            in_via = not rest
            if rest:
                current.via.add(normalize(rest.split()[0]))
        elif in_via and note.startswith("#   "):
            current.via.add(normalize(note.removeprefix("#").strip().split()[0]))
    return entries


def _requirement_names(requirements: list[str]) -> list[tuple[str, list[str]]]:
    """(name, extras) of each requirement string."""
    named = []
    for requirement in requirements:
        match = _NAME.match(requirement.strip())
        assert match, f"unparsable requirement {requirement!r}"
        extras = [normalize(e) for e in (match.group(2) or "[]")[1:-1].split(",") if e.strip()]
        named.append((normalize(match.group(1)), extras))
    return named


def roots(project: dict, extras: list[str]) -> set[str]:
    """The project's own requirements for `extras` (its self-references expanded)."""
    optional = {normalize(k): v for k, v in project.get("optional-dependencies", {}).items()}
    names: set[str] = set()
    seen: set[str] = set()

    def add(requirements: list[str]) -> None:
        for name, sub in _requirement_names(requirements):
            if name == PROJECT:
                for extra in sub:
                    add_extra(extra)
            else:
                names.add(name)

    def add_extra(extra: str) -> None:
        if extra in seen:
            return
        if extra not in optional:
            raise SystemExit(f"lock: pyproject.toml has no extra {extra!r}")
        seen.add(extra)
        add(optional[extra])

    add(project.get("dependencies", []))
    for extra in extras:
        add_extra(normalize(extra))
    return names


def select(entries: dict[str, Entry], names: set[str]) -> list[Entry]:
    """`names` and everything they require, transitively, by the lock's `# via` annotations."""
    children: dict[str, set[str]] = {}
    for entry in entries.values():
        for parent in entry.via:
            children.setdefault(parent, set()).add(entry.name)
    chosen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in chosen:
            continue
        chosen.add(name)
        todo += children.get(name, ())
    return [e for n, e in sorted(entries.items()) if n in chosen]


def inputs_digest(project: dict) -> str:
    """What the lock was made from: a change here means `make lock` is due."""
    subject = {
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
        "extra": list(EXTRA_INPUTS),
        "platform": list(PLATFORM),
    }
    return hashlib.sha256(json.dumps(subject, sort_keys=True).encode()).hexdigest()


def load_project() -> dict:
    return tomllib.loads(PYPROJECT.read_text())["project"]


# --- commands -------------------------------------------------------------------------------


def compile_lock(_: argparse.Namespace) -> int:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not uv:
        print("lock: uv is not installed (`make lock` installs it from the lock)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        extra = Path(scratch) / "lock-inputs.txt"
        extra.write_text("\n".join(EXTRA_INPUTS) + "\n")
        out = Path(scratch) / "requirements.lock"
        command = [
            uv, "pip", "compile", str(PYPROJECT.relative_to(ROOT)), str(extra),
            "--all-extras", "--generate-hashes", *PLATFORM,
            "--find-links", TORCH_FIND_LINKS, "--no-emit-package", "torch",
            "--custom-compile-command", "make lock", "--no-header", "--quiet",
            "-o", str(out),
        ]  # fmt: skip
        done = subprocess.run(command, cwd=ROOT, check=False)
        if done.returncode:
            return done.returncode
        body = out.read_text().replace(str(extra), "lock inputs (tools/lock.py)")
    header = [
        "# The lock: every package `make install`, the images and CI install, with hashes.",
        "# Made by `make lock` (tools/lock.py compile) from pyproject.toml; do not edit.",
        "# torch is not in it: the Makefile's TORCH_SPEC and TORCH_HASH install it (its",
        "# dependencies are here, as locked for its CPU build).",
        f"{DIGEST_LINE}{inputs_digest(load_project())}",
    ]
    LOCK.write_text("\n".join(header) + "\n" + body)
    count = len(read_lock(LOCK.read_text()))
    print(f"lock: {count} packages written to {LOCK.relative_to(ROOT)}")
    return 0


def select_command(args: argparse.Namespace) -> int:
    entries = read_lock(LOCK.read_text())
    names = {normalize(n) for n in args.packages}
    if args.extras:
        names |= roots(load_project(), args.extras)
    missing = sorted(n for n in names if n not in entries and n != "torch")
    if missing:
        print(f"lock: not in {LOCK.name}: {', '.join(missing)}", file=sys.stderr)
        return 1
    for entry in select(entries, names):
        print("\n".join(line for line in entry.lines if not line.strip().startswith("#")))
    return 0


def problems(project: dict, entries: dict[str, Entry], lock_text: str) -> list[str]:
    """What is wrong with the lock: stale, an entry without hashes, a version the project's
    requirements exclude (the compromised releases pyproject.toml names with !=)."""
    from packaging.requirements import Requirement

    found = []
    recorded = [line for line in lock_text.splitlines() if line.startswith(DIGEST_LINE)]
    digest = recorded[0].removeprefix(DIGEST_LINE) if recorded else None
    if digest != inputs_digest(project):
        found.append(f"{LOCK.name} is stale (pyproject.toml changed since): run `make lock`")
    for entry in entries.values():
        if not entry.hashes:
            found.append(f"{entry.name}=={entry.version} has no hash")
    requirements = list(project.get("dependencies", []))
    for group in project.get("optional-dependencies", {}).values():
        requirements += group
    for text in requirements:
        requirement = Requirement(text)
        entry = entries.get(normalize(requirement.name))
        if entry is None or normalize(requirement.name) == PROJECT:
            continue
        if not requirement.specifier.contains(entry.version, prereleases=True):
            excluded = [
                s
                for s in requirement.specifier
                if s.operator == "!=" and not s.contains(entry.version)
            ]
            why = (
                "a release pyproject.toml excludes as compromised"
                if excluded
                else "outside pyproject.toml's range"
            )
            found.append(f"{entry.name}=={entry.version} is locked: {why} ({requirement})")
    return found


def check(_: argparse.Namespace) -> int:
    text = LOCK.read_text()
    entries = read_lock(text)
    found = problems(load_project(), entries, text)
    for problem in found:
        print(f"lock: {problem}", file=sys.stderr)
    if not found:
        print(f"lock: {len(entries)} locked packages, all hashed, none excluded by pyproject.toml")
    return 1 if found else 0


def allow_list() -> dict[str, str]:
    """The README's allow-list: advisory id -> the reason it is accepted."""
    text = README.read_text()
    if ALLOW_START not in text:
        return {}
    block = text.split(ALLOW_START, 1)[1].split(ALLOW_END, 1)[0]
    allowed = {}
    for line in block.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if (
            len(cells) >= 3
            and cells[0]
            and not set(cells[0]) <= set("-")
            and cells[0] != "advisory"
        ):
            allowed[cells[0]] = cells[2]
    return allowed


def judge_audit(report: dict, allowed: dict[str, str]) -> tuple[list[str], list[str], int]:
    """(failures, accepted, unaudited) from pip-audit's JSON report."""
    failures, accepted, unaudited = [], [], 0
    for dependency in report.get("dependencies", []):
        if dependency.get("skip_reason"):
            unaudited += 1
            continue
        for vuln in dependency.get("vulns", []):
            ids = [vuln["id"], *vuln.get("aliases", [])]
            reason = next((allowed[i] for i in ids if i in allowed), None)
            where = f"{dependency['name']}=={dependency.get('version', '?')}: {' / '.join(ids)}"
            if reason:
                accepted.append(f"{where} (allowed: {reason})")
            else:
                fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed release"
                failures.append(f"{where}, fixed in {fixed}")
    return failures, accepted, unaudited


def audit(_: argparse.Namespace) -> int:
    entries = read_lock(LOCK.read_text())
    code = 0
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "audit.json"
        done = subprocess.run(
            [
                sys.executable, "-m", "pip_audit", "-r", str(LOCK), "--disable-pip",
                "--require-hashes", "--progress-spinner", "off", "--format", "json",
                "-o", str(out),
            ],
            capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
        report = json.loads(out.read_text()) if out.exists() else None
    if report is None:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"audit: pip-audit could not run ({last[:200]})", file=sys.stderr)
        code = 1
    else:
        failures, accepted, unaudited = judge_audit(report, allow_list())
        for line in accepted:
            print(f"audit: accepted {line}")
        for line in failures:
            print(f"audit: VULNERABLE {line}", file=sys.stderr)
        if unaudited:
            print(
                f"audit: the advisory service did not answer for {unaudited} of "
                f"{len(entries)} locked packages (unreachable from here): those are unaudited; "
                "the check of excluded releases below still runs"
            )
        else:
            print(f"audit: {len(entries)} locked packages audited, {len(failures)} vulnerable")
        code = 1 if failures else 0
    return check(argparse.Namespace()) or code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/lock.py", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("compile", help="refresh the lock from pyproject.toml").set_defaults(
        run=compile_lock
    )
    chosen = commands.add_parser("select", help="the locked entries some extras need")
    chosen.add_argument("extras", nargs="*", help="pyproject.toml extras (gateway, ...)")
    chosen.add_argument("--packages", nargs="*", default=[], help="locked packages by name")
    chosen.set_defaults(run=select_command)
    commands.add_parser("check", help="fresh, hashed, nothing excluded").set_defaults(run=check)
    commands.add_parser("audit", help="pip-audit, then check").set_defaults(run=audit)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
