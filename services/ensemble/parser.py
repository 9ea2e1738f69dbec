"""The answer parser (SPEC section 4): which of the allowed answer patterns a model's raw output
gives, or None (an abstention).

Rules, in order:
1. Reasoning is ignored: `<think>...</think>` blocks (and an unclosed `<think>` to the end) are
   removed; a provider's separate reasoning field is never passed here.
2. Patterns match case-insensitively as whole words; a pattern with CJK characters needs no word
   boundary on its CJK side (Chinese has none). Where matches overlap, the longest wins, so "NO"
   never matches inside "NORMAL" nor "NOT URGENT" count as "URGENT" when both are patterns.
3. A negated mention ("not URGENT", "isn't YES", "不是") is not that answer.
4. An explicit answer ("Answer: NO", "Final answer is **YES**", "答案：是") wins over mentions;
   the last explicit answer wins.
5. Otherwise the last non-empty line decides when its mentions name a single pattern.
6. Otherwise the whole text decides when its mentions name a single pattern; else abstention.
Markdown emphasis (`**`, `__`, backticks) and surrounding punctuation are ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

_THINK = re.compile(r"<think(?:ing)?>.*?(?:</think(?:ing)?>|\Z)", re.DOTALL | re.IGNORECASE)
_EMPHASIS = re.compile(r"\*\*|__|\*|`")
# Words that negate the mention that follows them within the same clause.
_NEGATIONS = {
    "not",
    "no",
    "never",
    "isn't",
    "isnt",
    "aren't",
    "wasn't",
    "weren't",
    "don't",
    "doesn't",
    "didn't",
    "cannot",
    "can't",
    "won't",
    "shouldn't",
    "wouldn't",
    "neither",
    "nor",
    "without",
    "non",
}
_CJK_NEGATIONS = ("不是", "并非", "不", "没有", "没", "非", "無", "无", "未")
# The clause a negation reaches: words back from the mention, stopping at punctuation.
_NEGATION_WINDOW = 3
_CLAUSE_END = re.compile(r"[.,;:!?\n。，；：！？]")
_EXPLICIT = re.compile(
    r"(?:final\s+answer|answer|verdict|decision|label|classification|conclusion|"
    r"最终答案|答案|回答|结论|答)"
    r"\s*(?:is|would\s+be|will\s+be|should\s+be|=|:|：|-|—|为|是)?\s*[\"'“”‘’(\[{<]*\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    pattern: str
    negated: bool = False


def _is_cjk(ch: str) -> bool:
    return ch != "" and (
        "CJK" in unicodedata.name(ch, "")
        or "HIRAGANA" in unicodedata.name(ch, "")
        or "KATAKANA" in unicodedata.name(ch, "")
        or "HANGUL" in unicodedata.name(ch, "")
    )


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def strip_reasoning(text: str) -> str:
    """The output without `<think>` blocks."""
    return _THINK.sub(" ", text)


def _find(text: str, patterns: Sequence[str]) -> list[_Match]:
    """Every whole-word match of every pattern, overlaps resolved by the longest match."""
    folded = text.casefold()
    found: list[_Match] = []
    for pattern in patterns:
        needle = pattern.casefold().strip()
        if not needle:
            continue
        start = folded.find(needle)
        while start != -1:
            end = start + len(needle)
            before = folded[start - 1] if start > 0 else ""
            after = folded[end] if end < len(folded) else ""
            ok_left = _is_cjk(needle[0]) or not (before and _word_char(before))
            ok_right = _is_cjk(needle[-1]) or not (after and _word_char(after))
            if ok_left and ok_right:
                found.append(_Match(start, end, pattern))
            start = folded.find(needle, start + 1)
    # Longest first; a match inside a longer one's span is dropped.
    found.sort(key=lambda m: (-(m.end - m.start), m.start))
    kept: list[_Match] = []
    for m in found:
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            kept.append(m)
    kept.sort(key=lambda m: m.start)
    return [_Match(m.start, m.end, m.pattern, _negated(folded, m.start, m.pattern)) for m in kept]


def _negated(folded: str, start: int, pattern: str) -> bool:
    before = folded[:start]
    if any(before.endswith(neg) for neg in _CJK_NEGATIONS) and _is_cjk(pattern.strip()[0]):
        return True
    clause = _CLAUSE_END.split(before)[-1]
    words = re.findall(r"[\w']+", clause)[-_NEGATION_WINDOW:]
    # "No" at the very start of a line is an answer of its own ("No, it is URGENT" is handled by
    # the comma); inside a clause it negates ("no URGENT need").
    return any(w.replace("’", "'") in _NEGATIONS for w in words)


def _single(matches: Sequence[_Match]) -> str | None:
    names = {m.pattern for m in matches if not m.negated}
    return names.pop() if len(names) == 1 else None


def parse_answer(text: str, patterns: Sequence[str]) -> str | None:
    """The pattern `text` answers (as spelt in `patterns`), or None for an abstention."""
    if not text:
        return None
    body = _EMPHASIS.sub("", strip_reasoning(text))
    matches = _find(body, patterns)
    if not matches:
        return None
    explicit = [
        m
        for m in matches
        if not m.negated
        and _EXPLICIT.search(body[max(0, body.rfind("\n", 0, m.start) + 1) : m.start])
    ]
    if explicit:
        return explicit[-1].pattern
    lines = [line for line in body.splitlines() if line.strip()]
    if lines:
        last_start = body.rfind(lines[-1])
        last = [m for m in matches if m.start >= last_start]
        answer = _single(last)
        if answer is not None:
            return answer
    return _single(matches)


def check_patterns(patterns: Sequence[str]) -> str | None:
    """Why these answer patterns are unusable, or None: at least two, none empty, distinct
    ignoring case and surrounding spaces."""
    if len(patterns) < 2:
        return f"answer_patterns needs at least two allowed answers, got {len(patterns)}"
    seen: dict[str, str] = {}
    for position, pattern in enumerate(patterns):
        key = pattern.strip().casefold()
        if not key:
            return f"answer_patterns[{position}] is empty"
        if key in seen:
            return f"answer_patterns has {pattern!r} twice (patterns are compared ignoring case)"
        seen[key] = pattern
    return None
