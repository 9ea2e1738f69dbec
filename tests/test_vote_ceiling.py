"""tools/vote_ceiling.py on a small file of the MMLU-Pro outputs' layout, built here: its figures
are the ones the data implies."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from tools import vote_ceiling

ROOT = Path(__file__).resolve().parent.parent
LETTERS = "ABCDEFGHIJ"


def _write(folder: Path) -> None:
    """100 questions, answer A. `pro` (price 2) is right from question 20 on; `a` and `b` (0.1)
    are right up to 74 and from 75 on say two different wrong letters; `c`, `d`, `e` (0.5) are
    right one question in two, in step, and otherwise say C."""
    models = {"pro": 2.0, "a": 0.1, "b": 0.1, "c": 0.5, "d": 0.5, "e": 0.5}
    rows = []
    for q in range(100):
        pred = {
            "pro": "A" if q >= 20 else "J",
            "a": "A" if q < 75 else "B",
            "b": "A" if q < 75 else "D",
        }
        for m in ("c", "d", "e"):
            pred[m] = "A" if q % 2 else "C"
        rows.append({"id": q, "category": "math" if q % 3 else "law", "answer": "A",
                     "pred": pred})  # fmt: skip
    with gzip.open(folder / "dev.jsonl.gz", "wt") as f:
        f.write("\n".join(json.dumps(r) for r in rows) + "\n")
    (folder / "models.json").write_text(
        json.dumps({"models": {m: {"price_per_m_tokens": p} for m, p in models.items()}})
    )


def test_the_ceilings_are_the_ones_the_data_implies(tmp_path):
    _write(tmp_path)
    got = vote_ceiling.figures(tmp_path, splits=3, seed=0)
    assert got["best_single_model"] == "pro" and got["best_single_accuracy"] == 0.8
    assert got["top5"][0] == "pro" and set(got["top5"][1:3]) == {"a", "b"}
    # Asking a and b first, pro only where they disagree: right on every question, for
    # 0.2 + 0.25 x 2 = 0.7 a question, 0.35 of pro's price.
    assert got["cascade_first_asked"] == ["a", "b"]
    assert got["cascade_cost_ratio_at_best_single"] == 0.35
    # The weights searched include the best model alone and the plain majority.
    assert got["weighted_top5_hindsight_vs_best_pts"] >= max(0.0, got["majority_top5_vs_best_pts"])
    assert 0 < got["per_subject_policy_cost_ratio_at_best_single"] <= 0.35


def test_it_ends_with_one_json_line(tmp_path):
    _write(tmp_path)
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "vote_ceiling.py"), "--data", str(tmp_path),
         "--splits", "2"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    assert json.loads(out.stdout.strip().splitlines()[-1])["questions"] == 100
