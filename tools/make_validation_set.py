"""Writes freescaling/validation/default.jsonl: the labelled validation set `freescaling
profile` uses when no --data is given. Every label is computed here (arithmetic, comparisons,
counting, the output of a Python snippet, which of two dates is earlier) or is a fact stated in
the item itself (reading comprehension), so that it can be checked by anyone, by this script:

    python tools/make_validation_set.py          # rewrite the file
    python tools/make_validation_set.py --check  # fail when the file differs from what it writes

Items span several task types (arithmetic, yes/no reasoning, code reading, extraction from a
passage, classification of clear-cut sentiment, comparison) in English and Chinese, each with
its allowed answers and its label, one JSON object per line.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "freescaling" / "validation" / "default.jsonl"


def is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, int(n**0.5) + 1))


def item(kind: str, i: int, question: str, patterns: list[str], label: str) -> dict:
    assert label in patterns, (question, label, patterns)
    return {"item_id": f"{kind}-{i:03d}", "question": question, "answer_patterns": patterns,
            "label": label}  # fmt: skip


def arithmetic(rng: random.Random) -> list[dict]:
    out = []
    for i in range(40):
        a, b = rng.randint(12, 99), rng.randint(12, 99)
        op = rng.choice(["+", "-", "*"])
        right = eval(f"{a}{op}{b}")  # two literal integers and an operator
        wrong = right + rng.choice([-10, -2, -1, 1, 2, 10])
        options = [str(right), str(wrong)]
        rng.shuffle(options)
        out.append(item("math-en", i, f"What is {a} {op} {b}? Answer {options[0]} or {options[1]}.",
                        options, str(right)))  # fmt: skip
    return out


def primes(rng: random.Random) -> list[dict]:
    out = []
    for i in range(30):
        n = rng.randint(20, 400)
        out.append(item("prime-en", i, f"Is {n} a prime number? Answer YES or NO.",
                        ["YES", "NO"], "YES" if is_prime(n) else "NO"))  # fmt: skip
    return out


def code(rng: random.Random) -> list[dict]:
    snippets = [
        "print(len('{w}'))",
        "print(sum(range({n})))",
        "print({a} // {b})",
        "print({a} % {b})",
        "print(sorted([{a}, {b}, {n}])[1])",
        "print(len([x for x in range({n}) if x % 2 == 0]))",
        "print('{w}'.upper().count('{c}'))",
        "print(max({a}, {b}) - min({a}, {b}))",
    ]
    words = ["banana", "rhythm", "mississippi", "pepper", "lemonade", "abracadabra"]
    out = []
    for i in range(32):
        w = rng.choice(words)
        template = snippets[i % len(snippets)]
        snippet = template.format(
            w=w, c=rng.choice(w).upper(), n=rng.randint(3, 15), a=rng.randint(20, 90),
            b=rng.randint(2, 9),
        )  # fmt: skip
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(snippet, {})  # the snippets above, with literal values
        right = printed.getvalue().strip()
        wrong = str(int(right) + rng.choice([-1, 1, 2]))
        options = [right, wrong]
        rng.shuffle(options)
        out.append(item("code-en", i, f"What does this Python code print?\n\n    {snippet}\n\n"
                        f"Answer {options[0]} or {options[1]}.", options, right))  # fmt: skip
    return out


def dates(rng: random.Random) -> list[dict]:
    out = []
    start = date(1990, 1, 1)
    for i in range(24):
        a = start + timedelta(days=rng.randint(0, 12000))
        b = a + timedelta(days=rng.choice([-1, 1]) * rng.randint(1, 900))
        question = (f"Which date is earlier: {a.isoformat()} (FIRST) or {b.isoformat()} (SECOND)? "
                    "Answer FIRST or SECOND.")  # fmt: skip
        out.append(
            item("date-en", i, question, ["FIRST", "SECOND"], "FIRST" if a < b else "SECOND")
        )
    return out


NAMES = ["Amara", "Bruno", "Chen", "Dalia", "Emeka", "Farah", "Goran", "Hana"]
CITIES = ["Lisbon", "Nairobi", "Osaka", "Quito", "Tallinn", "Hobart", "Tunis", "Lyon"]


def extraction(rng: random.Random) -> list[dict]:
    out = []
    for i in range(24):
        who, elsewhere = rng.sample(NAMES, 2)
        city, other = rng.sample(CITIES, 2)
        passage = (f"{who} moved to {city} in {rng.randint(2001, 2020)} to work as a nurse. "
                   f"Her brother {elsewhere} stayed in {other}.")  # fmt: skip
        asked = rng.choice([city, other])
        question = (f"{passage}\n\nDoes {who} live in {asked} according to the passage? "
                    "Answer YES or NO.")  # fmt: skip
        out.append(item("extract-en", i, question, ["YES", "NO"], "YES" if asked == city else "NO"))
    return out


POSITIVE = ["I loved every minute of it, absolutely wonderful.", "Best purchase I have made this "
            "year, it works perfectly.", "The staff were kind and the food was delicious.",
            "Brilliant, fast delivery and great quality."]  # fmt: skip
NEGATIVE = ["It broke after one day and support never answered.", "Terrible, a complete waste "
            "of money.", "The room was dirty and the staff were rude.",
            "Awful quality, I want a refund."]  # fmt: skip


def sentiment(rng: random.Random) -> list[dict]:
    out = []
    texts = [(t, "POSITIVE") for t in POSITIVE] + [(t, "NEGATIVE") for t in NEGATIVE]
    for i in range(16):
        text, label = texts[i % len(texts)]
        subject = rng.choice(["a hotel", "a phone", "a restaurant", "a parcel service"])
        out.append(item("sentiment-en", i, f"Review of {subject}: \"{text}\"\n\nIs this review "
                        "POSITIVE or NEGATIVE?", ["POSITIVE", "NEGATIVE"], label))  # fmt: skip
    return out


def chinese(rng: random.Random) -> list[dict]:
    out = []
    for i in range(20):
        a, b = rng.randint(11, 60), rng.randint(11, 60)
        right = a + b
        claimed = right if rng.random() < 0.5 else right + rng.choice([-3, -1, 1, 3])
        out.append(item("math-zh", i, f"{a}加{b}等于{claimed}吗？请回答是或否。", ["是", "否"],
                        "是" if claimed == right else "否"))  # fmt: skip
    for i in range(20):
        n = rng.randint(20, 300)
        out.append(item("prime-zh", i, f"{n}是质数吗？请回答是或否。", ["是", "否"],
                        "是" if is_prime(n) else "否"))  # fmt: skip
    for i in range(12):
        a, b = rng.sample(range(100, 999), 2)
        out.append(item("compare-zh", i, f"{a}和{b}哪个更大？请回答“前者”或“后者”。",
                        ["前者", "后者"], "前者" if a > b else "后者"))  # fmt: skip
    return out


def build() -> list[dict]:
    rng = random.Random(20261203)
    items = []
    for part in (arithmetic, primes, code, dates, extraction, sentiment, chinese):
        items += part(rng)
    return items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in build())
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is not what tools/make_validation_set.py writes; run it", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(text.splitlines())} items to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
