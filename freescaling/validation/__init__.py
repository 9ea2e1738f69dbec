"""The labelled validation set that ships with Free Scaling (`default.jsonl`: 218 items with
verifiable answers over several task types, English and Chinese), used by `freescaling profile`
when no --data is given. `tools/make_validation_set.py` writes it and says how each label is
computed."""

from __future__ import annotations

from pathlib import Path

DEFAULT = Path(__file__).resolve().parent / "default.jsonl"
