"""The published model's post-processing, from each head's logits to the card's scores: top-2
task types with the "NA" rule, softmax-weighted scores over `weights_map` / `divisor_map`, the
few-shots cut-off, and the card's `prompt_complexity_score`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.classifier.checkpoint import HeadsConfig

# The model card's coefficients.
COMPLEXITY_WEIGHTS = {
    "creativity_scope": 0.35,
    "reasoning": 0.25,
    "constraint_ct": 0.15,
    "domain_knowledge": 0.15,
    "contextual_knowledge": 0.05,
    "number_of_few_shots": 0.05,
}


@dataclass(frozen=True)
class Scores:
    task_type_1: str
    task_type_2: str
    task_type_prob: float
    creativity_scope: float
    reasoning: float
    contextual_knowledge: float
    number_of_few_shots: float
    domain_knowledge: float
    no_label_reason: float
    constraint_ct: float
    prompt_complexity_score: float


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def postprocess(logits: list[np.ndarray], heads: HeadsConfig) -> list[Scores]:
    """`logits[i]` is head i's (batch, size) float32 output; one Scores per row."""
    task = logits[heads.head_index("task_type")]
    task_probs = _softmax(task.astype(np.float32))
    top2 = np.argsort(-task, axis=1, kind="stable")[:, :2]
    scores: dict[str, list[float]] = {}
    for target in (
        "creativity_scope",
        "reasoning",
        "contextual_knowledge",
        "number_of_few_shots",
        "domain_knowledge",
        "no_label_reason",
        "constraint_ct",
    ):
        probs = _softmax(logits[heads.head_index(target)].astype(np.float32)).astype(np.float64)
        weighted = (probs * np.asarray(heads.weights_map[target])).sum(axis=1)
        values = [round(float(v), 4) for v in weighted / heads.divisor_map[target]]
        if target == "number_of_few_shots":
            values = [v if v >= 0.05 else 0.0 for v in values]
        scores[target] = values
    out = []
    for row in range(task.shape[0]):
        first, second = (int(i) for i in top2[row])
        p1 = round(float(task_probs[row, first]), 3)
        p2 = round(float(task_probs[row, second]), 3)
        row_scores = {t: v[row] for t, v in scores.items()}
        complexity = round(sum(w * row_scores[t] for t, w in COMPLEXITY_WEIGHTS.items()), 5)
        out.append(
            Scores(
                task_type_1=heads.task_type_map[first],
                task_type_2=heads.task_type_map[second] if p2 >= 0.1 else "NA",
                task_type_prob=p1,
                prompt_complexity_score=complexity,
                **row_scores,
            )
        )
    return out
