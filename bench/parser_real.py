"""The answer parser on real text: 12 models' chain-of-thought outputs on 3,000 MMLU-Pro questions
(../shared/data/mmlu-pro-outputs, its README says how they were made), each parsed as the ensemble
parses a multiple-choice reply: `parse_answer(output, ["A", "B", ...])`, one letter per option.

Per model: the parser's accuracy against the key, side by side with MMLU-Pro's own extraction
(`pred`, the first "answer is (X)" and, for some models, a fallback letter), and the outputs where
the parser loses a right extraction (it reads another letter, or none, where `pred` was right).
Questions are split in two halves by a hash of their id (`tune`: even, `check`: odd) so that a
rule tuned on one half can be judged on the other; the table is over the questions asked for,
the JSON line has both halves. `whole` is the gap over the outputs the data kept whole: 2% of
them were cut to their last 2,000 characters, and `pred` was read from the uncut text (often a
letter picked from a repetition loop), which the parser never sees.

    python bench/parser_real.py [--quick | --smoke] [--half all|tune|check]

FREESCALING_MMLU_DATA names another folder holding dev.jsonl.gz. Targets (issue 20): per model
the parser at least as accurate as the extraction; the parser reading ANOTHER letter where the
extraction was right (`lost_share`, abstentions not counted) under 0.2% of all outputs. Ends with
one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository root, not bench/, first: bench/http.py must not stand in for the stdlib's http.
sys.path[0] = str(ROOT)

from services.ensemble.parser import parse_answer  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mmlu-pro-outputs"
LETTERS = "ABCDEFGHIJ"
# The data's mark of an output cut to its last 2,000 characters; `pred` was read from the whole.
TRIMMED = "…"
# --quick parses one question in QUICK_EVERY (about 600 of 3,000: under a minute on one core).
QUICK_EVERY = 5
# --smoke parses one question in SMOKE_EVERY (does it still run?).
SMOKE_EVERY = 100


def half(question_id: int) -> str:
    """`tune` or `check`, fixed by the id alone (not by Python's salted hash)."""
    digest = hashlib.sha256(str(question_id).encode()).digest()
    return "tune" if digest[-1] % 2 == 0 else "check"


def load(folder: Path) -> list[dict]:
    path = folder / "dev.jsonl.gz"
    if not path.exists():
        raise SystemExit(f"{path} not found: set FREESCALING_MMLU_DATA to the data folder")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


class Tally:
    def __init__(self) -> None:
        self.n = self.parser_right = self.pred_right = 0
        self.lost = self.lost_to_none = self.gained = self.abstained = 0
        # Right answers less right extractions over the outputs kept whole (see whole_gap).
        self.whole_margin = 0

    def add(self, parsed: str | None, pred: str | None, answer: str, whole: bool) -> None:
        self.n += 1
        if whole:
            self.whole_margin += (parsed == answer) - (pred == answer)
        self.parser_right += parsed == answer
        self.pred_right += pred == answer
        self.abstained += parsed is None
        if pred == answer and parsed != answer:
            if parsed is None:
                self.lost_to_none += 1
            else:
                self.lost += 1
        self.gained += parsed == answer and pred != answer

    def figures(self) -> dict:
        n = max(self.n, 1)
        return {
            "outputs": self.n,
            "parser_accuracy": round(self.parser_right / n, 4),
            "mmlu_extraction_accuracy": round(self.pred_right / n, 4),
            "parser_lost_share": round(self.lost / n, 4),
            "whole_gap_pts": round(100 * self.whole_margin / n, 2),
            "parser_lost_to_abstention_share": round(self.lost_to_none / n, 4),
            "parser_gained_share": round(self.gained / n, 4),
            "parser_abstention_share": round(self.abstained / n, 4),
        }


def run(rows: list[dict], wanted: str) -> tuple[dict[str, Tally], dict[str, Tally]]:
    """Tallies per model (over the wanted half) and per half (over all models)."""
    per_model: dict[str, Tally] = defaultdict(Tally)
    per_half: dict[str, Tally] = defaultdict(Tally)
    for row in rows:
        side = half(row["id"])
        patterns = list(LETTERS[: len(row["options"])])
        for model, text in row["outputs"].items():
            parsed = parse_answer(text, patterns)
            pred, answer = row["pred"][model], row["answer"]
            whole = not text.startswith(TRIMMED)
            per_half[side].add(parsed, pred, answer, whole)
            if wanted in ("all", side):
                per_model[model].add(parsed, pred, answer, whole)
    return per_model, per_half


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one question in 5")
    parser.add_argument("--smoke", action="store_true", help="one question in 100: does it run?")
    parser.add_argument("--half", choices=("all", "tune", "check"), default="all")
    args = parser.parse_args()
    folder = Path(os.environ.get("FREESCALING_MMLU_DATA") or DEFAULT_DATA)
    rows = load(folder)
    if args.quick or args.smoke:
        rows = rows[:: SMOKE_EVERY if args.smoke else QUICK_EVERY]
    started = time.monotonic()
    per_model, per_half = run(rows, args.half)

    print(f"{'model':28s} {'n':>5s} {'parser':>7s} {'mmlu':>7s} {'gap pts':>8s} {'whole':>6s} "
          f"{'lost':>6s} {'->none':>6s} {'gained':>6s} {'abstain':>7s}")  # fmt: skip
    total = Tally()
    worst_gap, worst_model, worst_whole = float("inf"), "", float("inf")
    for model in sorted(per_model, key=lambda m: -per_model[m].pred_right):
        t = per_model[model]
        f = t.figures()
        gap = 100 * (f["parser_accuracy"] - f["mmlu_extraction_accuracy"])
        if gap < worst_gap:
            worst_gap, worst_model = gap, model
        worst_whole = min(worst_whole, f["whole_gap_pts"])
        print(
            f"{model:28s} {t.n:5d} {f['parser_accuracy']:7.1%} "
            f"{f['mmlu_extraction_accuracy']:7.1%} {gap:+8.1f} {f['whole_gap_pts']:+6.1f} "
            f"{t.lost:6d} {t.lost_to_none:6d} {t.gained:6d} {f['parser_abstention_share']:7.1%}"
        )
        for name in ("n", "parser_right", "pred_right", "lost", "lost_to_none", "gained",
                     "abstained", "whole_margin"):  # fmt: skip
            setattr(total, name, getattr(total, name) + getattr(t, name))

    figures = {"half": args.half, "quick": args.quick, **total.figures()}
    figures["worst_model_gap_pts"] = round(worst_gap, 2)
    figures["worst_model"] = worst_model
    figures["worst_model_whole_gap_pts"] = round(worst_whole, 2)
    for side in ("tune", "check"):
        f = per_half[side].figures()
        figures[f"parser_accuracy_{side}"] = f["parser_accuracy"]
        figures[f"mmlu_extraction_accuracy_{side}"] = f["mmlu_extraction_accuracy"]
        figures[f"parser_lost_share_{side}"] = f["parser_lost_share"]
    figures["wall_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
