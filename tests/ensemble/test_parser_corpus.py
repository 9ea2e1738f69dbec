"""The answer parser against its labelled corpus (parser_corpus.yaml): realistic outputs in
English, Chinese (with and without punctuation), Japanese and Russian, with the answer a careful
reader takes from each. No output may parse as another allowed answer; `-s` prints the figures:

    ./.venv/bin/python -m pytest tests/ensemble/test_parser_corpus.py -q -s
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from services.ensemble.parser import parse_answer

CORPUS = Path(__file__).with_name("parser_corpus.yaml")


@dataclass(frozen=True)
class Case:
    group: str
    output: str
    patterns: tuple[str, ...]
    expected: str | None
    # The reader understands it, no rule can safely: abstaining is a miss, not a failure.
    hard: bool = False


def load() -> list[Case]:
    cases = []
    for group in yaml.safe_load(CORPUS.read_text(encoding="utf-8")):
        patterns = tuple(group["patterns"])
        assert all(isinstance(p, str) for p in patterns), group["group"]
        for raw in group["cases"]:
            if isinstance(raw, dict):
                output, expected, hard = raw["out"], raw["want"], raw.get("hard", False)
            else:
                (output, expected), hard = raw, False
            assert isinstance(output, str), (group["group"], raw)
            assert expected is None or expected in patterns, (group["group"], raw)
            cases.append(Case(group["group"], output, patterns, expected, hard))
    return cases


CASES = load()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.group}: {c.output[:40]!r}" for c in CASES])
def test_corpus_case(case: Case):
    parsed = parse_answer(case.output, case.patterns)
    allowed = {case.expected, None} if case.hard else {case.expected}
    assert parsed in allowed, f"{case.output!r} with {list(case.patterns)}: got {parsed!r}"


def test_corpus_size_accuracy_and_no_flips():
    """At least 300 outputs; none parses as an answer other than the expected one (a flip),
    abstentions allowed only where a reader would abstain or the case is marked hard."""
    results = [(c, parse_answer(c.output, c.patterns)) for c in CASES]
    exact = sum(parsed == c.expected for c, parsed in results)
    flips = [(c.output, c.expected, parsed) for c, parsed in results
             if parsed is not None and parsed != c.expected]  # fmt: skip
    misses = [(c.output, c.expected) for c, parsed in results
              if parsed is None and c.expected is not None]  # fmt: skip
    print(
        f"\nparser corpus: {len(CASES)} outputs, accuracy {exact / len(CASES):.1%} "
        f"({exact} exact), {len(flips)} flips, {len(misses)} abstentions on answerable outputs"
    )
    assert len(CASES) >= 300
    assert {c.group.split()[0] for c in CASES} >= {"english", "chinese", "japanese", "russian"}
    assert not flips, flips
    assert all(c.hard for c, parsed in results if parsed is None and c.expected is not None)
