"""What any vote or cascade could reach on the MMLU-Pro outputs, in hindsight: the ceilings that
issue 20's targets are measured against, from MMLU-Pro's own extracted letters (no system, no
parser of ours, no profile).

- the best single model, and a majority vote of the five most accurate;
- a weighted vote of those five: the best model weighs 1 and each other 0, 1/4, 1/2, 3/4 or 1;
  the best weights chosen on all questions (in hindsight: an upper bound), then chosen on a
  random half and scored on the other (as a fitted rule would do), over `--splits` halves; and
  the same with weights chosen per subject (labels the system never sees);
- a two-step cascade: a set of up to four of the cheaper models asked first; when they all
  agree (two or more), their answer, else the best model's. The cheapest such set whose
  accuracy is at least the best model's, its cost over the best model's price;
- that cascade, the cheapest model alone and the best model alone, one chosen per subject in
  hindsight (a Lagrangian sweep): the lowest cost at which accuracy stays at least the best
  model's.

Costs are the blended prices per question (models.json), not token counts.

    python tools/vote_ceiling.py [--data DIR] [--splits 20] [--seed 0]

Ends with one JSON line of its figures.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.parser_real import DEFAULT_DATA, LETTERS  # noqa: E402
from bench.parser_real import load as load_rows  # noqa: E402

GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
TOP = 5


def load(data: Path):
    """(models, predictions (questions, models) as option indexes, -1 where none, answers,
    subjects, prices), models in the file's order."""
    rows = load_rows(data)
    meta = json.loads((data / "models.json").read_text())["models"]
    models = list(rows[0]["pred"])
    predicted = np.array(
        [[LETTERS.find(r["pred"].get(m) or "?") for m in models] for r in rows], dtype=np.int64
    )
    answers = np.array([LETTERS.index(r["answer"]) for r in rows], dtype=np.int64)
    subjects = np.array([r["category"] for r in rows])
    prices = np.array([float(meta[m]["price_per_m_tokens"]) for m in models])
    return models, predicted, answers, subjects, prices


def vote(weights, predicted: np.ndarray) -> np.ndarray:
    """Each question's weighted winner; the first column (the best model) breaks ties."""
    scores = np.zeros((len(predicted), len(LETTERS)))
    rows = np.arange(len(predicted))
    for j, w in enumerate(weights):
        cast = predicted[:, j] >= 0
        scores[rows[cast], predicted[cast, j]] += w + (1e-6 if j == 0 else 0.0)
    return scores.argmax(axis=1)


def accuracy(chosen: np.ndarray, answers: np.ndarray) -> float:
    return float((chosen == answers).mean()) if len(answers) else 0.0


def best_weights(candidates, predicted, answers):
    """The weights with the highest accuracy; ties to the one closest to a plain majority."""
    return max(
        candidates,
        key=lambda w: (accuracy(vote(w, predicted), answers), -sum(abs(1 - x) for x in w)),
    )


def cascade(first: list[int], predicted: np.ndarray, prices: np.ndarray, best: int):
    """(answers, cost per question) of asking `first`, then `best` unless they all agree."""
    asked = predicted[:, first]
    agree = np.zeros(len(predicted), dtype=bool)
    if len(first) > 1:
        agree = (asked == asked[:, [0]]).all(axis=1) & (asked[:, 0] >= 0)
    chosen = np.where(agree, asked[:, 0], predicted[:, best])
    return chosen, prices[first].sum() + (~agree) * prices[best]


def figures(data: Path, splits: int, seed: int) -> dict:
    models, predicted, answers, subjects, prices = load(data)
    right = predicted == answers[:, None]
    order = np.argsort(-right.mean(axis=0), kind="stable")
    best = int(order[0])
    top = predicted[:, order[:TOP]]
    best_acc = float(right[:, best].mean())
    pts = lambda a, b: round(100 * (a - b), 2)  # noqa: E731
    grid = [(1.0, *rest) for rest in itertools.product(GRID, repeat=TOP - 1)]
    hindsight = best_weights(grid, top, answers)
    rng = np.random.default_rng(seed)
    fitted, by_subject = [], []
    for _ in range(splits):
        shuffled = rng.permutation(len(answers))
        a, b = shuffled[: len(shuffled) // 2], shuffled[len(shuffled) // 2 :]
        w = best_weights(grid, top[a], answers[a])
        fitted.append(100 * (accuracy(vote(w, top[b]), answers[b]) - right[b, best].mean()))
        hits = 0
        for s in np.unique(subjects):
            sa, sb = a[subjects[a] == s], b[subjects[b] == s]
            hits += (vote(best_weights(grid, top[sa], answers[sa]), top[sb]) == answers[sb]).sum()
        by_subject.append(100 * (hits / len(b) - right[b, best].mean()))

    cheaper = [j for j in range(len(models)) if j != best]
    frontier = []
    for size in range(1, 5):
        for first in itertools.combinations(cheaper, size):
            chosen, cost = cascade(list(first), predicted, prices, best)
            if accuracy(chosen, answers) >= best_acc:
                frontier.append((float(cost.mean()) / prices[best], [models[j] for j in first]))
    cheapest_cascade = min(frontier) if frontier else (1.0, [])

    # One policy per subject in hindsight: the best model, the cheapest model, or the cheapest
    # cascade above; the lowest cost at which the total accuracy is the best model's or more.
    cheapest = int(np.argmin(prices))
    first = [models.index(m) for m in cheapest_cascade[1]] or [cheapest]
    policies = [
        (predicted[:, best], np.full(len(answers), prices[best])),
        (predicted[:, cheapest], np.full(len(answers), prices[cheapest])),
        cascade(first, predicted, prices, best),
    ]
    per = {
        s: [(cost[subjects == s].sum(), (chosen == answers)[subjects == s].sum())
            for chosen, cost in policies]
        for s in np.unique(subjects)
    }  # fmt: skip
    target, lowest = right[:, best].sum(), None
    for mu in np.linspace(0, 20 * prices.max(), 4001):
        cost = hits = 0.0
        for options in per.values():
            c, h = min(options, key=lambda o: o[0] - mu * o[1])
            cost, hits = cost + c, hits + h
        if hits >= target and (lowest is None or cost < lowest[0]):
            lowest = (cost, hits)
    hindsight_acc = accuracy(vote(hindsight, top), answers)
    return {
        "questions": len(answers),
        "best_single_model": models[best],
        "best_single_accuracy": round(best_acc, 4),
        "top5": [models[j] for j in order[:TOP]],
        "majority_top5_vs_best_pts": pts(accuracy(vote([1.0] * TOP, top), answers), best_acc),
        "weighted_top5_hindsight_vs_best_pts": pts(hindsight_acc, best_acc),
        "weighted_top5_hindsight_weights": list(hindsight),
        "weighted_top5_fit_half_vs_best_pts_mean": round(float(np.mean(fitted)), 2),
        "weighted_top5_fit_half_vs_best_pts_sd": round(float(np.std(fitted)), 2),
        "weighted_top5_per_subject_fit_half_vs_best_pts_mean": round(float(np.mean(by_subject)), 2),
        "cascade_cost_ratio_at_best_single": round(cheapest_cascade[0], 3),
        "cascade_first_asked": cheapest_cascade[1],
        "per_subject_policy_cost_ratio_at_best_single": (
            round(lowest[0] / len(answers) / prices[best], 3) if lowest else 1.0
        ),
        "splits": splits,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(json.dumps(figures(args.data, args.splits, args.seed)))


if __name__ == "__main__":
    main()
