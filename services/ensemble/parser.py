"""The answer parser (SPEC section 4): which of the allowed answer patterns a model's raw output
gives, or None (an abstention). A wrong answer is worse than none: when unsure, it abstains.

Rules, in order:
1. Reasoning is ignored: `<think>...</think>` blocks, an unclosed `<think>` to the end, and
   everything before a closing `</think>` that has no opening one (some NIM models stream the
   reasoning without its opening tag). A provider's separate reasoning field is never passed here.
2. Text is compared after Unicode NFKC (full-width forms) and case folding; Markdown emphasis,
   headings, quotes and list bullets are ignored. Patterns match as whole words; a pattern in
   Chinese or Japanese needs no word boundary on its CJK side. Where matches overlap, the
   longest wins ("NO" never matches inside "NORMAL"; "NOT URGENT" beats "URGENT").
3. A mention is not an answer when it is part of a longer word or phrase: of a marker ("是" in
   "答案是"), of a word ("是否", "但是", "安全性", "はい" in "してはいけません"), of an idiom
   ("safe to say", "false positive"), or a determiner ("no doubt", "no issues"). A one-character
   Chinese answer must end its clause ("是的", "是。"), else it is a copula ("这是一个").
4. Nor is a mention that is negated ("not URGENT", "不太安全", "安全ではない"), hedged ("might be
   YES", "可能是"), someone else's ("the subject says URGENT"), conditional ("YES if ..., NO
   otherwise"), inside a question ("Is it SAFE?"), or one option of a list ("YES or NO",
   "URGENT, NORMAL or IGNORE", a list of options line by line, blank lines between them or
   not). Negation reaches back a few words within its clause, up to a contrast ("not X but Y").
5. An explicit answer wins over mentions. Explicit: after a marker ("Answer:", "Final answer
   is", "The correct option is", "Verdict -", "答案是：", "结论", "答え：", "Ответ:", "Final:"),
   after a concluding word at the start of a clause ("So, YES", "所以否", "Итак, нет"), the
   value of a short "key: value" line ("Priority: URGENT"), a line or sentence that is the
   answer alone ("NO."), or a line that starts with the answer and punctuation ("No, because").
6. The model's own answer is the last explicit one it reasoned to. Text after its first
   explicit answer that opens another question ("Question:") or a summary of several answers
   ("combining all the answers", "总结以上答案") is another question's and is dropped. A later
   explicit answer replaces an earlier one only with reasoning or a correction between them;
   one that follows with nothing but answer markers between ("The answer is (B).\nFinal
   answer: The answer is (F).") restates, and where restatements disagree the first stands.
7. Otherwise the mentions decide when they name a single pattern (a pattern both asserted and
   negated in the text is not counted); else abstention.
The words behind these rules, by language, are in answer_words.py.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from services.ensemble import answer_words as W

_OPEN = re.compile(r"<think(?:ing)?>", re.IGNORECASE)
_CLOSE = re.compile(r"</think(?:ing)?>", re.IGNORECASE)
_BLOCK = re.compile(r"<think(?:ing)?>.*?(?:</think(?:ing)?>|\Z)", re.DOTALL | re.IGNORECASE)
_EMPHASIS = re.compile(r"\*\*|__|\*|`|~~")
# Line prefixes: headings, quotes, bullets and numbered items ("1. ", "2) ").
_PREFIX = re.compile(r"^[ \t]*(?:#{1,6}[ \t]*|>[ \t]*|[-+•·][ \t]+|\d{1,3}[.)][ \t]+)+", re.M)
_ANSWER_TAG = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.DOTALL | re.IGNORECASE)
# Sentence ends: . ! ? 。 and newlines ("." only before a space, the end or a CJK character).
_SENTENCE_END = re.compile(r"[!?。\n]|\.(?=\s|$|[^\x00-\x7f])|\.{3}")
_CLAUSE_END = re.compile(r"[.,;:!?\n()\[\]{}|—–。、]|\s-\s")
_QUOTES = " \t\"'“”‘’«»「」『』()[]{}<>.,!?;:。、…-—–"
_WORD = re.compile(r"[\w']+")
# A short answer value after a marker: "(H)", "B", "42".
_VALUE = re.compile(r"[(\[]?[A-Z0-9]{1,3}[)\]]?(?!\w)")
_NEGATION_WINDOW = 4
_CJK_WINDOW = 4


@dataclass
class _Match:
    start: int
    end: int
    pattern: str
    # Why this mention is not an answer; empty when it may be one.
    excluded: str = ""
    negated: bool = False
    hedged: bool = False
    conditional: bool = False
    # A determiner ("no doubt"): no answer, except right after a marker ("Answer: No issues").
    determiner: bool = False

    @property
    def valid(self) -> bool:
        return not (
            self.excluded or self.negated or self.hedged or self.conditional or self.determiner
        )


def _is_cjk(ch: str) -> bool:
    if not ch:
        return False
    name = unicodedata.name(ch, "")
    return any(s in name for s in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL"))


def _is_kana(ch: str) -> bool:
    name = unicodedata.name(ch, "") if ch else ""
    return "HIRAGANA" in name or "KATAKANA" in name


def _word_char(ch: str) -> bool:
    return bool(ch) and (ch.isalnum() or ch == "_")


def _fold(text: str) -> str:
    """Case-folded with the same length as `text`, so positions agree."""
    out = []
    for ch in text:
        folded = ch.casefold()
        out.append(folded if len(folded) == 1 else ch.lower() if len(ch.lower()) == 1 else ch)
    return "".join(out)


def strip_reasoning(text: str) -> str:
    """The output without reasoning: `<think>` blocks, an unclosed `<think>` to the end, and
    what precedes a `</think>` that has no opening tag."""
    while True:
        close = _CLOSE.search(text)
        opened = _OPEN.search(text)
        if close is not None and (opened is None or close.start() < opened.start()):
            text = text[close.end() :]
            continue
        stripped = _BLOCK.sub(" ", text)
        if stripped == text:
            return text
        text = stripped


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")
    text = _ANSWER_TAG.sub(lambda m: f"Answer: {m.group(1)}", text)
    text = _EMPHASIS.sub("", text)
    return _PREFIX.sub("", text)


class _Text:
    """The cleaned output and its folded twin, with the boundaries the rules look for."""

    def __init__(self, clean: str) -> None:
        self.clean = clean
        self.folded = _fold(clean)
        self.lines = _spans(clean, re.compile(r"\n"))
        self.sentences = _spans(clean, _SENTENCE_END)

    @staticmethod
    def _span(spans: list[tuple[int, int]], pos: int) -> tuple[int, int]:
        return spans[max(0, bisect.bisect_right(spans, (pos, math.inf)) - 1)]

    def line_of(self, pos: int) -> tuple[int, int]:
        return self._span(self.lines, pos)

    def sentence_of(self, pos: int) -> tuple[int, int]:
        return self._span(self.sentences, pos)

    def question(self, m: _Match) -> bool:
        """The mention's sentence ends with a question mark."""
        end = _SENTENCE_END.search(self.clean, m.end)
        return end is not None and end.group() == "?"


def _spans(text: str, ends: re.Pattern) -> list[tuple[int, int]]:
    spans, start = [], 0
    for end in ends.finditer(text):
        spans.append((start, end.start()))
        start = end.end()
    spans.append((start, len(text)))
    return spans


def _find(t: _Text, patterns: Sequence[str]) -> list[_Match]:
    """Every whole-word match of every pattern, overlaps resolved by the longest match."""
    folded = t.folded
    found: list[_Match] = []
    for pattern in patterns:
        needle = _fold(unicodedata.normalize("NFKC", pattern).strip())
        if not needle:
            continue
        start = folded.find(needle)
        while start != -1:
            end = start + len(needle)
            before = folded[start - 1] if start > 0 else ""
            after = folded[end] if end < len(folded) else ""
            ok_left = _is_cjk(needle[0]) or not _word_char(before)
            ok_right = _is_cjk(needle[-1]) or not _word_char(after)
            # A one-letter option ("A"..."D") in lower case is an article or pronoun.
            letter = len(needle) == 1 and needle.isalpha() and not _is_cjk(needle)
            if ok_left and ok_right and not (letter and not t.clean[start].isupper()):
                found.append(_Match(start, end, pattern))
            start = folded.find(needle, start + 1)
    found.sort(key=lambda m: (-(m.end - m.start), m.start))
    kept: list[_Match] = []
    for m in found:
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: m.start)


# -- rule 3: part of a longer word or phrase --------------------------------------------------
def _markers(t: _Text, matches: Sequence[_Match]) -> list[tuple[int, int]]:
    """(start, end) of every explicit-answer marker with its separators. A separator can be the
    answer itself ("答案：是", "结论为是", "答え：はい"): the last match among the separators is
    the answer when no other match follows it in its sentence ("答案是：否": then 是 is the
    copula and 否 the answer)."""
    spans = []
    for marker in W.MARKER.finditer(t.folded):
        end = W.SEPARATORS.match(t.folded, marker.end()).end()
        inside = [m for m in matches if m.start < end and m.end > marker.end()]
        if inside:
            last = inside[-1]
            _, sentence_end = t.sentence_of(last.end)
            if not any(last.end <= m.start < sentence_end for m in matches):
                end = last.start
        spans.append((marker.start(), end))
    return spans


def _inside(pos: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(s <= pos < e for s, e in spans)


def _part_of_word(t: _Text, m: _Match, markers: Sequence[tuple[int, int]]) -> str:
    folded, needle = t.folded, t.folded[m.start : m.end]
    if any(s < m.end and m.start < e for s, e in markers):
        return "marker"
    for phrase in W.IDIOMS:
        if needle not in phrase:
            continue
        for hit in re.finditer(
            re.escape(phrase), folded[max(0, m.start - len(phrase)) : m.end + len(phrase)]
        ):
            s = max(0, m.start - len(phrase)) + hit.start()
            if s <= m.start and m.end <= s + len(phrase):
                return "idiom"
    if not _is_cjk(needle[0]):
        return ""
    after = folded[m.end :]
    if len(needle) == 1:
        for word in W.CJK_COMPOUNDS:
            i = word.find(needle)
            while i != -1:
                s = m.start - i
                if folded.startswith(word, s) and not any(
                    _inside(p, markers) for p in range(s, s + len(word))
                ):
                    return "compound"
                i = word.find(needle, i + 1)
        nxt = after[:1]
        if _is_cjk(nxt) and not after.startswith(W.CJK_AFTER_ANSWER):
            return "copula"
    elif all(_is_kana(c) for c in needle):
        before = folded[m.start - 1] if m.start else ""
        if (_is_cjk(before) and not _inside(m.start - 1, markers)) or (
            _is_cjk(after[:1]) and not after.startswith(W.KANA_AFTER_ANSWER)
        ):
            return "glued"
    elif after.startswith(W.CJK_NOUN_SUFFIXES):
        return "longer word"
    return ""


def _determiner(t: _Text, m: _Match) -> bool:
    """English "no" (Russian "нет") before a noun: "no doubt", "нет сомнений"."""
    if t.folded[m.start : m.end] not in W.DETERMINER_ANSWERS:
        return False
    nxt = re.match(r"[ \t]+([^\W\d_][\w'-]*)", t.folded[m.end :])
    return nxt is not None and nxt.group(1) not in W.NO_CONTINUATIONS


# -- rule 4: negated, hedged, conditional, questioned, listed ---------------------------------
def _scope(t: _Text, m: _Match, previous: _Match | None) -> str:
    """The text before the mention that a negation or hedge in it can reach: back to the
    clause's start, a contrast word, or the previous mention."""
    start = previous.end if previous else 0
    before = t.folded[start : m.start]
    cut = 0
    for pattern in (_CLAUSE_END, W.CONTRAST):
        for hit in pattern.finditer(before):
            cut = max(cut, hit.end())
    return before[cut:]


def _negated(t: _Text, m: _Match, scope: str) -> bool:
    if t.folded[m.end :].startswith(W.POST_NEGATIONS):
        return True
    if _is_cjk(t.folded[m.start]):
        tail = scope[-_CJK_WINDOW:]
        for i, ch in enumerate(tail):
            if ch in W.CJK_NEGATION_CHARS and not scope[len(scope) - len(tail) + i :].startswith(
                W.CJK_NOT_NEGATIONS
            ):
                return True
    words = _WORD.findall(scope)[-_NEGATION_WINDOW:]
    if any(w in W.NEGATIONS for w in words):
        return True
    return any(phrase in " ".join(words) for phrase in W.NEGATION_PHRASES)


def _hedged(t: _Text, m: _Match, scope: str) -> bool:
    if t.folded[m.end :].startswith(W.POST_HEDGES):
        return True
    if any(h in scope[-6:] for h in W.CJK_HEDGES):
        return True
    return any(w in W.HEDGES or w in W.REPORTED for w in _WORD.findall(scope)[-_NEGATION_WINDOW:])


def _clauses(t: _Text, start: int, end: int) -> list[tuple[int, int]]:
    spans, s = [], start
    for hit in re.finditer(r"[,;:—–、]", t.folded[start:end]):
        spans.append((s, start + hit.start()))
        s = start + hit.end()
    spans.append((s, end))
    return spans


def _conditional_spans(t: _Text) -> list[tuple[int, int]]:
    """Clauses holding a condition, and each clause right after one ("If UTC, YES")."""
    tainted = []
    for s, e in t.sentences:
        clauses = _clauses(t, s, e)
        for i, (cs, ce) in enumerate(clauses):
            text = t.folded[cs:ce]
            if any(w in W.CONDITIONALS for w in _WORD.findall(text)) or any(
                c in text for c in (*W.CJK_CONDITIONALS, *W.CONDITIONAL_PHRASES)
            ):
                tainted.append((cs, ce))
                if i + 1 < len(clauses):
                    tainted.append(clauses[i + 1])
    return tainted


def _mark_lists(t: _Text, matches: Sequence[_Match]) -> None:
    """Options joined into a list ("YES or NO"), and lists of options line by line."""
    options = [m for m in matches if not m.determiner]
    for a, b in itertools.pairwise(options):
        if a.pattern != b.pattern and W.CONNECTOR.fullmatch(t.folded[a.end : b.start]):
            a.excluded = a.excluded or "listed"
            b.excluded = b.excluded or "listed"
    # Consecutive lines (or answer-only sentences) starting with different patterns: options.
    starts: dict[int, _Match] = {}
    for m in matches:
        ls, _ = t.line_of(m.start)
        if not t.clean[ls : m.start].strip(_QUOTES):
            starts.setdefault(ls, m)
    run: list[_Match] = []
    for ls, le in [*t.lines, (-1, -1)]:
        m = starts.get(ls)
        if m is not None:
            run.append(m)
            continue
        # A blank line between items keeps the run ("A. ...\n\nB. ..." restates the options);
        # any other line ends it.
        if ls >= 0 and not t.clean[ls:le].strip():
            continue
        if len({x.pattern for x in run}) > 1:
            for x in run:
                x.excluded = x.excluded or "listed"
        run = []


# -- rule 5: explicit answers -----------------------------------------------------------------
def _alone(t: _Text, m: _Match, span: tuple[int, int]) -> bool:
    """The span (a line or a sentence) holds the mention and nothing else."""
    s, e = span
    return not t.clean[s : m.start].strip(_QUOTES) and not t.clean[m.end : e].strip(_QUOTES)


def _gap_ok(gap: str, negated_seen: bool) -> bool:
    """Between a marker and its answer: filler words only ("Answer: I think YES")."""
    if "\n" in gap or re.search(r"[.;!?。]", gap):
        return False
    if "," in gap and not negated_seen:
        return False
    words = _WORD.findall(gap)
    allowed = W.FILLER | (W.NEGATIONS | {"but", "rather", "instead"} if negated_seen else set())
    latin = [w for w in words if not any(_is_cjk(c) for c in w)]
    if len(latin) > 4 or any(w not in allowed for w in latin):
        return False
    cjk = "".join(c for c in gap if _is_cjk(c))
    return bool(W.CJK_FILLER.fullmatch(cjk)) or negated_seen


def _after_marker(t: _Text, end: int, matches: Sequence[_Match]) -> _Match | None:
    """The answer a marker (or concluding word) ending at `end` introduces, if any."""
    negated_seen = False
    for m in matches:
        if m.start < end:
            continue
        gap = t.folded[end : m.start]
        if gap.strip() == "" and "\n" in gap:
            # "Answer\nYES", "## Verdict\n\nVULNERABLE": the answer on a line of its own.
            return m if m.valid and _alone(t, m, t.line_of(m.start)) else None
        if not _gap_ok(gap, negated_seen):
            return None
        if m.negated and not (m.excluded or m.conditional):
            negated_seen = True
            continue
        empty = not gap.strip(_QUOTES)
        usable = not (m.excluded or m.negated or m.hedged or m.conditional)
        return m if usable and (empty or not m.determiner) else None
    return None


def _key_value(t: _Text, m: _Match, matches: Sequence[_Match]) -> bool:
    """ "Priority: URGENT", "Category: IGNORE (newsletter)": a short key, the answer as value."""
    ls, le = t.line_of(m.start)
    line = t.clean[ls:le]
    colon = re.search(r"[:=]", line)
    if colon is None or ls + colon.start() >= m.start:
        return False
    key = line[: colon.start()].strip(_QUOTES)
    if not key or re.search(r"\d", key) or len(key.split()) > 4 or len(key) > 40:
        return False
    if any(ls <= x.start < ls + colon.start() for x in matches):
        return False
    before = t.clean[ls + colon.end() : m.start]
    after = re.sub(r"\([^)]*\)\s*$", "", t.clean[m.end : le])
    return not before.strip(_QUOTES) and not after.strip(_QUOTES)


def _explicit(t: _Text, matches: Sequence[_Match], markers) -> list[_Match]:
    found: list[_Match] = []
    for _, end in markers:
        m = _after_marker(t, end, matches)
        if m is not None:
            found.append(m)
    for hit in W.CONCLUSION.finditer(t.folded):
        before = t.folded[: hit.start()]
        clause_start = not before.strip() or re.search(r"[.,;:!?\n。、—–]\s*$", before)
        if clause_start:
            m = _after_marker(t, hit.end(), matches)
            if m is not None:
                found.append(m)
    for m in matches:
        if not m.valid:
            continue
        line = t.line_of(m.start)
        if _alone(t, m, line) or _alone(t, m, t.sentence_of(m.start)) or _key_value(t, m, matches):
            found.append(m)
            continue
        # A line that opens with the answer: "No, because ...", "YES — the draft ..." (not a
        # quotation: '"Yes, we will ship in May," the CEO said').
        opening = t.clean[line[0] : m.start]
        if (
            not opening.strip(_QUOTES)
            and not re.search(r"[\"“‘«「']", opening)
            and re.match(r"\s*(?:[,.!;、。]|\s[-—–]|[—–])", t.clean[m.end :])
        ):
            found.append(m)
    return found


def _read(
    t: _Text, patterns: Sequence[str]
) -> tuple[list[_Match], list[_Match], list[tuple[int, int]]]:
    """The mentions of `patterns` in the text (rules 3 and 4 applied), the explicit answers among
    them (rule 5) and the markers' spans."""
    matches = _find(t, patterns)
    if not matches:
        return [], [], []
    markers = _markers(t, matches)
    conditional = _conditional_spans(t)
    for i, m in enumerate(matches):
        m.excluded = _part_of_word(t, m, markers) or ("question" if t.question(m) else "")
        m.determiner = _determiner(t, m)
        scope = _scope(t, m, matches[i - 1] if i else None)
        m.negated = _negated(t, m, scope)
        m.hedged = _hedged(t, m, scope)
        m.conditional = _inside(m.start, conditional)
    _mark_lists(t, matches)
    explicit = {m.start: m for m in _explicit(t, matches, markers)}
    return sorted(explicit.values(), key=lambda m: m.start), matches, markers


# -- rule 6: running on, restating ------------------------------------------------------------
def _run_on(t: _Text, first: _Match) -> int | None:
    """Where the output, after its first explicit answer, starts another question or a summary
    of several answers (the answers of the prompt's worked examples): the start of that
    sentence, or None."""
    _, answered = t.sentence_of(first.start)
    for s, e in t.sentences:
        if s <= answered:
            continue
        sentence = t.folded[s:e].lstrip(_QUOTES)
        if W.NEW_QUESTION.match(sentence) or W.SUMMARY.search(sentence):
            return s
    return None


def _restates(t: _Text, start: int, end: int, markers: Sequence[tuple[int, int]]) -> bool:
    """Between two explicit answers, nothing but answer markers ("The answer is (B).\nFinal
    answer: The answer is (F)."): the second restates, it was not reasoned to. A concluding
    word ("So YES") concludes from what precedes it, so it is no restatement."""
    gap = list(t.folded[start:end])
    for s, e in markers:
        # With the marker goes a short value that is no allowed answer ("The answer is (H).",
        # where H is not an option): a restated answer all the same.
        value = _VALUE.match(t.clean, e)
        e = value.end() if value else e
        for i in range(max(s, start), min(e, end)):
            gap[i - start] = " "
    return not re.search(r"\w", "".join(gap))


def _own_answer(t: _Text, explicit: Sequence[_Match], markers: Sequence[tuple[int, int]]) -> _Match:
    """The last explicit answer the model reasoned to: a later answer after reasoning or a
    correction replaces the earlier one; answers that only restate do not (when a model
    writes several in a row, the first is the one for its own question)."""
    answer = explicit[0]
    for previous, m in itertools.pairwise(explicit):
        if not _restates(t, previous.end, m.start, markers):
            answer = m
    return answer


def parse_answer(text: str, patterns: Sequence[str]) -> str | None:
    """The pattern `text` answers (as spelt in `patterns`), or None for an abstention."""
    if not text:
        return None
    t = _Text(_clean(strip_reasoning(text)))
    explicit, matches, markers = _read(t, patterns)
    cut = _run_on(t, explicit[0]) if explicit else None
    if cut is not None:
        t = _Text(t.clean[:cut])
        explicit, matches, markers = _read(t, patterns)
    if explicit:
        return _own_answer(t, explicit, markers).pattern
    negated = {m.pattern for m in matches if m.negated and not m.excluded}
    names = {m.pattern for m in matches if m.valid and m.pattern not in negated}
    return names.pop() if len(names) == 1 else None


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
