"""The semantic answer cache on a labelled set of question pairs (bench/data/cache_pairs.jsonl,
written for this benchmark): paraphrases, which may share an answer, and near misses ("Is 91
prime?" / "Is 97 prime?", "Fahrenheit to Celsius" / "Celsius to Fahrenheit"), which must not.

Each pair is judged as the gateway's semantic lookup judges it: the questions normalised, their
numbers compared (services/gateway/answer_cache.py), and the cosine of their embeddings by the
classifier's default embedder (all-MiniLM-L6-v2, through services/classifier/embedder.py) against
a threshold. Side by side, the rule without the numbers guard. Figures: at the default threshold
(FREESCALING_GATEWAY_CACHE_THRESHOLD's), near-miss hits (target 0) and the paraphrase hit rate;
and the curve over thresholds.

    python bench/cache.py [--quick | --smoke]

Quick and smoke modes take the same pairs (the set is small); smoke mode skips the curve.
Ends with one JSON line of its figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from services.classifier.embedder import SentenceEmbedder, resolve  # noqa: E402
from services.gateway.answer_cache import normalise, numbers  # noqa: E402
from services.gateway.config import GatewaySettings  # noqa: E402
from tests.support.bench_system import report  # noqa: E402

PAIRS = ROOT / "bench" / "data" / "cache_pairs.jsonl"
THRESHOLDS = (0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.993, 0.995, 0.997)


def judge(
    cosines: np.ndarray, guard: np.ndarray, same: np.ndarray, threshold: float, guarded: bool
):
    hit = cosines >= threshold
    if guarded:
        hit &= guard
    return int((hit & same).sum()), int((hit & ~same).sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the same pairs (the set is small)")
    parser.add_argument("--smoke", action="store_true", help="the default threshold only")
    args = parser.parse_args()
    started = time.monotonic()
    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    embedder = SentenceEmbedder.load(resolve("minilm"), "cpu")
    texts_a = [normalise(p["a"]) for p in pairs]
    texts_b = [normalise(p["b"]) for p in pairs]
    a = np.stack(embedder.run(embedder.encode(texts_a)))
    b = np.stack(embedder.run(embedder.encode(texts_b)))
    cosines = (a * b).sum(axis=1)
    same = np.array([bool(p["same"]) for p in pairs])
    guard = np.array([numbers(p["a"]) == numbers(p["b"]) for p in pairs])
    default = GatewaySettings().cache_threshold
    paraphrases, near = int(same.sum()), int((~same).sum())
    print(f"{len(pairs)} pairs: {paraphrases} paraphrases, {near} near misses; "
          f"embedder {embedder.id}")  # fmt: skip
    if not args.smoke:
        print(f"{'threshold':>9s} {'paraphrase hits':>16s} {'near-miss hits':>15s} "
              f"{'(no numbers guard)':>19s}")  # fmt: skip
        for threshold in THRESHOLDS:
            p_hits, n_hits = judge(cosines, guard, same, threshold, True)
            _, raw_near = judge(cosines, guard, same, threshold, False)
            mark = "  <- default" if threshold == default else ""
            print(f"{threshold:>9g} {p_hits:>8d}/{paraphrases:<7d} {n_hits:>8d}/{near:<6d} "
                  f"{raw_near:>12d}/{near}{mark}")  # fmt: skip
    p_hits, n_hits = judge(cosines, guard, same, default, True)
    closest_near = float(cosines[~same & guard].max()) if (~same & guard).any() else 0.0
    report(
        {
            "pairs": len(pairs),
            "threshold": default,
            "near_miss_hits": n_hits,
            "paraphrase_hit_rate": round(p_hits / paraphrases, 4),
            "near_misses_stopped_by_numbers": int((~same & ~guard).sum()),
            "closest_near_miss_cosine": round(closest_near, 4),
            "embedder": embedder.id,
            "wall_s": round(time.monotonic() - started, 1),
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
