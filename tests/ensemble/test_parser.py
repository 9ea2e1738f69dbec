"""The answer parser of SPEC section 4, case by case."""

from __future__ import annotations

import pytest

from services.ensemble.parser import check_patterns, parse_answer

YN = ["YES", "NO"]
URG = ["URGENT", "NORMAL", "LOW"]
ZH = ["是", "否"]

CASES = [
    # (raw output, patterns, expected, why)
    ("YES", YN, "YES", "bare answer"),
    ("yes", YN, "YES", "case-insensitive, returned as spelt in the patterns"),
    ("Yes.", YN, "YES", "trailing punctuation"),
    ("**YES**", YN, "YES", "markdown bold"),
    ("`NO`", YN, "NO", "code span"),
    ("(NO)", YN, "NO", "brackets"),
    ("Answer: NO", YN, "NO", "explicit answer"),
    ("**Answer:** YES", YN, "YES", "bold explicit marker"),
    ("Final answer is NO.", YN, "NO", "final answer phrase"),
    ("The answer is: yes", YN, "YES", "answer is"),
    ("YES at first glance, but checking again.\nAnswer: NO", YN, "NO", "explicit beats mention"),
    ("Answer: YES\nWait, I was wrong.\nAnswer: NO", YN, "NO", "last explicit answer wins"),
    ("Answer: NO\nsome afterthought about YES", YN, "NO", "explicit beats a later mention"),
    ("<think>It is clearly NO... or YES?</think>\nYES", YN, "YES", "think block ignored"),
    ("<think>Answer: NO</think>Answer: YES", YN, "YES", "explicit inside think ignored"),
    ("<think>long reasoning that never ends NO", YN, None, "unclosed think is reasoning only"),
    ("<thinking>NO</thinking> YES", YN, "YES", "thinking tag variant"),
    ("This is NORMAL traffic.", ["NO", "NORMAL"], "NORMAL", "NO never matches in NORMAL"),
    ("NO", ["NO", "NORMAL"], "NO", "short pattern alone"),
    ("NOTHING to see", YN, None, "no match inside a word"),
    ("I know the answer", YN, None, "no inside know is not a match"),
    ("This is not URGENT.", URG, None, "negated mention is not an answer"),
    ("This is not URGENT. It is LOW.", URG, "LOW", "negation only reaches its own mention"),
    ("It isn't URGENT; it's NORMAL", URG, "NORMAL", "contraction negation"),
    ("Never URGENT, always LOW", URG, "LOW", "never"),
    ("No, it is URGENT", URG, "URGENT", "comma stops the negation"),
    ("NOT URGENT", ["URGENT", "NOT URGENT"], "NOT URGENT", "longer pattern wins the overlap"),
    ("The priority: URGENT", URG, "URGENT", "single mention"),
    ("It could be URGENT or LOW.", URG, None, "two different mentions abstain"),
    ("Between URGENT and LOW...\nLOW", URG, "LOW", "last line decides"),
    ("I'm not sure.", YN, None, "nothing matched is an abstention"),
    ("", YN, None, "empty output"),
    ("是", ZH, "是", "Chinese bare answer"),
    ("答案：否", ZH, "否", "Chinese explicit answer"),
    ("我认为是的", ZH, "是", "Chinese needs no word boundary"),
    ("这不是真的，答案：否", ZH, "否", "Chinese negation then explicit"),
    ("不是", ZH, None, "Chinese negated mention"),
    ("Answer: B", ["A", "B", "C"], "B", "single letters"),
    ("A) is wrong, the answer is C", ["A", "B", "C"], "C", "explicit letter among mentions"),
    ("Answer: yes!", ["Yes", "No"], "Yes", "patterns in mixed case"),
    ("YES\n\n", YN, "YES", "trailing blank lines"),
    ("Verdict - NO", YN, "NO", "verdict marker"),
    ("POSITIVE", ["POSITIVE", "NEGATIVE", "NEUTRAL"], "POSITIVE", "three-way"),
    ("Sentiment: non-NEGATIVE, so POSITIVE", ["POSITIVE", "NEGATIVE"], "POSITIVE", "non- negates"),
]

ABCD = ["A", "B", "C", "D"]
AJ = list("ABCDEFGHIJ")
# Chain-of-thought replies to a multiple-choice question, in the shapes real models write.
MULTIPLE_CHOICE = [
    (
        "Sodium is an alkali metal. The answer is (B).\nNow, let's combine all the answers:\n"
        "The answer is (F).",
        AJ, "B", "a summary of all the answers after the answer is not the answer",
    ),
    (
        "Heuristics are mental shortcuts. The answer is (J).\nNow, let's总结以上答案：\n"
        "The answer is (H).",
        AJ, "J", "a summary announced in Chinese",
    ),
    (
        "Helium is a noble gas. The answer is (D).\n\nQuestion: Which metal rusts?\n"
        "Options: A. Iron B. Gold C. Neon D. Argon\nAnswer: Iron oxidises. The answer is (A).",
        ABCD, "D", "a new question block after the answer is another question's",
    ),
    (
        "Water boils at 100 C at sea level. The answer is (E).\nFinal Answer: The answer is (G).",
        AJ, "E", "a bare restatement that disagrees does not replace the reasoned answer",
    ),
    (
        "The answer is (B).\n\nThe answer is (H).\n\nThe answer is (A).",
        ABCD, "B", "a run of bare answers, some not even options: the first is the model's",
    ),
    (
        "The answer is (B).\nWait, 3 x 4 is 12, not 14.\nThe answer is (C).",
        ABCD, "C", "a correction after reasoning still replaces the earlier answer",
    ),
    (
        "Checking each option.\n\nA. Iron: a metal.\n\nB. Neon: a noble gas.\n\n"
        "C. Argon: a noble gas.\n\nThe answer is (B, C).",
        ABCD, None, "options restated with blank lines between them are a list, not answers",
    ),
    (
        "The closest option is B, but it is not exact.\nThe answer is (D) given the provided "
        "options.",
        ABCD, "D", "'provided' as an adjective states no condition",
    ),
    (
        "Lake B is more acidic than lake A. The correct statement is D. Both lakes acidify.",
        ABCD, "D", "'the correct statement is' announces the answer",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "patterns", "expected", "why"), CASES, ids=[c[3] for c in CASES])
def test_parse_answer(raw, patterns, expected, why):
    assert parse_answer(raw, patterns) == expected, why


@pytest.mark.parametrize(
    ("raw", "patterns", "expected", "why"), MULTIPLE_CHOICE, ids=[c[3] for c in MULTIPLE_CHOICE]
)
def test_parse_multiple_choice(raw, patterns, expected, why):
    assert parse_answer(raw, patterns) == expected, why


@pytest.mark.parametrize(
    ("patterns", "problem"),
    [
        (["YES"], "at least two"),
        ([], "at least two"),
        (["YES", ""], "answer_patterns[1] is empty"),
        (["YES", "  "], "answer_patterns[1] is empty"),
        (["YES", "yes"], "'yes' twice"),
    ],
)
def test_bad_patterns_are_named(patterns, problem):
    assert problem in check_patterns(patterns)


def test_good_patterns_pass():
    assert check_patterns(["YES", "NO"]) is None
