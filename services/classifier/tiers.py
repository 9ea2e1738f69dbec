"""Tiers from scores: the card's complexity score or the "compass" formula, compared with
configurable thresholds, and the model alias each tier maps to."""

from __future__ import annotations

from dataclasses import dataclass

from services.classifier.postprocess import Scores

SIMPLE, MEDIUM, COMPLEX = "simple", "medium", "complex"
TIERS = (SIMPLE, MEDIUM, COMPLEX)
COMPLEXITY, COMPASS = "complexity", "compass"

# SPEC.md section 2: the compass formula's weight per task type (unknown labels weigh 0.5).
COMPASS_TASK_WEIGHTS = {
    "Code Generation": 0.8,
    "Text Generation": 0.7,
    "Summarization": 0.6,
    "Brainstorming": 0.6,
    "Open QA": 0.5,
    "Rewrite": 0.5,
    "Other": 0.5,
    "Unknown": 0.5,
    "Closed QA": 0.4,
    "Classification": 0.3,
    "Extraction": 0.3,
    "Chatbot": 0.2,
}


@dataclass(frozen=True)
class TierPolicy:
    complexity_thresholds: tuple[float, float]
    compass_thresholds: tuple[float, float]
    models: dict[str, str]

    def score(self, scores: Scores, scoring: str) -> float:
        if scoring == COMPASS:
            task_weight = COMPASS_TASK_WEIGHTS.get(scores.task_type_1, 0.5)
            return round(
                0.4 * scores.domain_knowledge
                + 0.3 * scores.reasoning
                + 0.2 * scores.creativity_scope
                + 0.1 * task_weight,
                5,
            )
        return scores.prompt_complexity_score

    def tier(self, score: float, scoring: str) -> str:
        low, high = self.compass_thresholds if scoring == COMPASS else self.complexity_thresholds
        if score < low:
            return SIMPLE
        return MEDIUM if score < high else COMPLEX

    def decide(self, scores: Scores, scoring: str) -> tuple[str, float, str]:
        """(tier, tier score, model alias) for one prompt."""
        value = self.score(scores, scoring)
        tier = self.tier(value, scoring)
        return tier, value, self.models.get(tier, "")
