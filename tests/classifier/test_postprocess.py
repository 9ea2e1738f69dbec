"""Post-processing: the service's answers equal a straightforward reference computation, written
here from the model card's description, over the model's own logits."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from freescaling.classifier.v1 import classifier_pb2
from services.classifier import checkpoint
from services.classifier.postprocess import postprocess

PROMPTS = [
    "Write a Python script that uses a for loop.",
    "Give three examples of few shot prompts: Input: apple Output: fruit Input: carrot Output:",
    "Plan a menu for a dinner party of eight guests, two of whom are vegetarian.",
    "Hi",
]


def reference(logits: list[list[float]], config: dict) -> dict:
    """One prompt: head i's logits in `target_sizes` order -> the card's fields."""
    targets = list(config["target_sizes"])

    def softmax(xs):
        top = max(xs)
        exps = [math.exp(x - top) for x in xs]
        return [e / sum(exps) for e in exps]

    out = {}
    task = logits[targets.index("task_type")]
    probs = softmax(task)
    order = sorted(range(len(task)), key=lambda i: -task[i])
    first, second = order[0], order[1]
    out["task_type_1"] = config["task_type_map"][str(first)]
    second_prob = round(probs[second], 3)
    out["task_type_2"] = config["task_type_map"][str(second)] if second_prob >= 0.1 else "NA"
    out["task_type_prob"] = round(probs[first], 3)
    for target in targets[1:]:
        p = softmax(logits[targets.index(target)])
        weights = config["weights_map"][target]
        value = round(sum(pi * w for pi, w in zip(p, weights, strict=True))
                      / config["divisor_map"][target], 4)  # fmt: skip
        if target == "number_of_few_shots" and value < 0.05:
            value = 0
        out[target] = value
    out["prompt_complexity_score"] = round(
        0.35 * out["creativity_scope"]
        + 0.25 * out["reasoning"]
        + 0.15 * out["constraint_ct"]
        + 0.15 * out["domain_knowledge"]
        + 0.05 * out["contextual_knowledge"]
        + 0.05 * out["number_of_few_shots"],
        5,
    )
    return out


def _config(directory) -> dict:
    return json.loads((directory / "config.json").read_text())


def test_service_answers_equal_the_reference_over_the_models_logits(stub, classifier_checkpoint):
    from services.classifier.engine import Engine

    engine = Engine.load(classifier_checkpoint, device="cpu")
    config = _config(classifier_checkpoint)
    for text in PROMPTS:
        _, logits = engine.forward(engine.encode([text]))
        want = reference([head[0].tolist() for head in logits], config)
        got = stub.Classify(classifier_pb2.ClassifyRequest(text=text), timeout=30).classification
        for name, value in want.items():
            if isinstance(value, str):
                assert getattr(got, name) == value, name
            else:
                assert getattr(got, name) == pytest.approx(value, abs=2e-4), name


@pytest.mark.parametrize("seed", range(5))
def test_postprocess_equals_the_reference_on_random_logits(classifier_checkpoint, seed):
    heads = checkpoint.read_heads_config(classifier_checkpoint)
    config = _config(classifier_checkpoint)
    rng = np.random.default_rng(seed)
    # Wide logits reach the edges: a runner-up under 0.1 ("NA") and few-shots under 0.05.
    logits = [rng.normal(0, 1 + 4 * seed, size=(16, n)).astype(np.float32) for n in heads.sizes]
    got = postprocess(logits, heads)
    for row in range(16):
        want = reference([head[row].tolist() for head in logits], config)
        for name, value in want.items():
            if isinstance(value, str):
                assert getattr(got[row], name) == value, name
            else:
                # The service's softmax is float32 and the reference's float64: a value on a
                # rounding boundary may land one step (1e-3 or 1e-4) apart.
                assert getattr(got[row], name) == pytest.approx(value, abs=1.01e-3), name
    assert any(s.task_type_2 == "NA" for s in got) or seed < 2
    assert any(s.number_of_few_shots == 0 for s in got) or seed < 2


def test_the_na_rule_and_few_shots_cut_off(classifier_checkpoint):
    heads = checkpoint.read_heads_config(classifier_checkpoint)
    logits = [np.zeros((1, n), dtype=np.float32) for n in heads.sizes]
    logits[0][0, 4] = 10.0  # Code Generation, far ahead of the rest
    logits[4][0, 0] = 10.0  # number_of_few_shots: nearly all mass on 0 shots
    (s,) = postprocess(logits, heads)
    assert (s.task_type_1, s.task_type_2, s.task_type_prob) == ("Code Generation", "NA", 1.0)
    assert s.number_of_few_shots == 0
    assert s.no_label_reason == 0
