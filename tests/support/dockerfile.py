"""Reading the Dockerfile the way a builder does, for tests on machines without a container
engine: stages with their parents, ARG defaults and ENV values substituted, COPY sources
filtered by .dockerignore, RUN lines in build order, and each target's ENTRYPOINT.

Only the instructions this project's Dockerfile uses are understood; anything else is an error,
so that a new instruction cannot be skipped silently by the tests that run the file."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

KNOWN = {"FROM", "ARG", "ENV", "WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "ENTRYPOINT"}


@dataclass
class Step:
    instruction: str
    args: str


@dataclass
class Stage:
    name: str
    parent: str  # a stage name, or the base image
    steps: list[Step] = field(default_factory=list)


@dataclass
class Dockerfile:
    global_args: dict[str, str]
    stages: dict[str, Stage]

    def chain(self, target: str) -> list[Stage]:
        """The stages `target` is built on, oldest first, ending with `target`."""
        chain = []
        name = target
        while name in self.stages:
            chain.insert(0, self.stages[name])
            name = self.stages[name].parent
        return chain

    def base_image(self, target: str) -> str:
        return self.chain(target)[0].parent

    def build_args(self, target: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
        """ARG values as the builder sees them in `target`: overrides (--build-arg) first, then
        the defaults, each expanded with the values declared before it."""
        overrides = overrides or {}
        values: dict[str, str] = {}
        for name, default in self.global_args.items():
            values[name] = overrides.get(name, substitute(default, values))
        for stage in self.chain(target):
            for step in stage.steps:
                if step.instruction == "ARG":
                    name, _, default = step.args.partition("=")
                    values.setdefault(name, overrides.get(name, substitute(default, values)))
        values.update(overrides)
        return values


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    return lines


def parse(path: Path) -> Dockerfile:
    global_args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    stage: Stage | None = None
    for line in _logical_lines(path.read_text()):
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction not in KNOWN:
            raise ValueError(f"{path.name}: {instruction} is not understood by {__name__}")
        if instruction == "FROM":
            match = re.fullmatch(r"(\S+)\s+AS\s+(\S+)", args.strip(), re.IGNORECASE)
            if not match:
                raise ValueError(f"{path.name}: every stage needs a name: FROM {args}")
            stage = Stage(name=match.group(2), parent=match.group(1))
            stages[stage.name] = stage
        elif stage is None:
            if instruction != "ARG":
                raise ValueError(f"{path.name}: {instruction} before the first FROM")
            name, _, default = args.strip().partition("=")
            global_args[name] = default
        else:
            stage.steps.append(Step(instruction, args.strip()))
    return Dockerfile(global_args, stages)


def substitute(text: str, values: dict[str, str], shell: bool = False) -> str:
    """${NAME} and $NAME as the builder expands them in ARG/ENV-aware instructions; `shell`: a
    RUN line, where the shell expands them, so a name that is no ARG or ENV (a shell variable)
    stays as written."""

    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0) if shell else "")

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, text)


def run_mounts(args: str) -> tuple[list[dict[str, str]], str]:
    """RUN [--mount=type=...,key=value ...] COMMAND: the mounts, each as its key-value pairs,
    and the shell command. Any other RUN flag is an error (not understood here)."""
    mounts = []
    rest = args.strip()
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        rest = rest.lstrip()
        if not flag.startswith("--mount="):
            raise ValueError(f"RUN {flag}: not understood by {__name__}")
        mounts.append(dict(pair.partition("=")[::2] for pair in flag[8:].split(",")))
    return mounts, rest


def env_pairs(args: str) -> list[tuple[str, str]]:
    """ENV KEY=VALUE [KEY=VALUE ...] (the only form used here)."""
    pairs = []
    for word in shlex.split(args):
        name, sep, value = word.partition("=")
        if not sep:
            raise ValueError(f"ENV {args}: use the KEY=VALUE form")
        pairs.append((name, value))
    return pairs


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise ValueError(f"not the exec (JSON list) form: {args}")
    return value


def ignored(relative: str, patterns: list[str]) -> bool:
    """Whether .dockerignore's patterns leave `relative` out of the build context (last match
    wins, `!` re-includes, `**/` matches any depth)."""
    verdict = False
    parts = relative.split("/")
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if pattern.startswith("**/"):
            tail = pattern[3:]
            hit = any(fnmatch.fnmatch(p, tail) for p in parts)
        else:
            hit = any(fnmatch.fnmatch(c, pattern) for c in candidates)
        if hit:
            verdict = not negate
    return verdict


def dockerignore(path: Path) -> list[str]:
    if not path.exists():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]
