"""The shipped validation set: what tools/make_validation_set.py computes, labels among their
answer patterns, enough items of several kinds in English and Chinese."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

from freescaling.validation import DEFAULT
from tests.support.processes import ROOT


def test_the_file_is_what_the_generator_computes():
    done = subprocess.run(
        [sys.executable, "tools/make_validation_set.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_items_are_labelled_and_varied():
    items = [json.loads(line) for line in DEFAULT.read_text(encoding="utf-8").splitlines()]
    assert len(items) >= 200
    assert len({i["item_id"] for i in items}) == len(items)
    for i in items:
        assert i["label"] in i["answer_patterns"], i
        assert len(set(i["answer_patterns"])) >= 2, i
    kinds = Counter(i["item_id"].rsplit("-", 1)[0] for i in items)
    assert len(kinds) >= 8, kinds
    chinese = [i for i in items if i["item_id"].split("-")[1] == "zh"]
    assert len(chinese) >= 40
    # Neither answer dominates a yes/no kind: a model always saying one thing scores poorly.
    yes_no = [i for i in items if i["answer_patterns"] == ["YES", "NO"]]
    assert 0.25 < sum(i["label"] == "YES" for i in yes_no) / len(yes_no) < 0.75
