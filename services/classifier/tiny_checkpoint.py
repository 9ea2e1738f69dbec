"""Writes a checkpoint in the published classifier's format with random weights: config.json
with the real targets and maps, model.safetensors with the real key layout, and a sentencepiece
`spm.model` trained on the spot. Small by default (tests, trying the stack offline); `--full-size`
gives DeBERTa-v3-base's shapes (the benchmark). Its answers are meaningless.

    python -m services.classifier.tiny_checkpoint DIR [--full-size] [--tokenizer-json]
        [--corpus FILE --vocab-size N] [--hidden-size N]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

from services.classifier.backbone_config import OVERRIDE_KEY

# The published config.json's targets and maps (CLASSIFIER.md); the loader reads them back.
TARGET_SIZES = {
    "task_type": 12,
    "creativity_scope": 3,
    "reasoning": 2,
    "contextual_knowledge": 2,
    "number_of_few_shots": 6,
    "domain_knowledge": 4,
    "no_label_reason": 1,
    "constraint_ct": 2,
}
TASK_TYPES = [
    "Brainstorming",
    "Chatbot",
    "Classification",
    "Closed QA",
    "Code Generation",
    "Extraction",
    "Open QA",
    "Other",
    "Rewrite",
    "Summarization",
    "Text Generation",
    "Unknown",
]
WEIGHTS_MAP = {
    "creativity_scope": [2, 1, 0],
    "reasoning": [0, 1],
    "contextual_knowledge": [0, 1],
    "number_of_few_shots": [0, 1, 2, 3, 4, 5],
    "domain_knowledge": [3, 1, 2, 0],
    "no_label_reason": [0],
    "constraint_ct": [1, 0],
}
DIVISOR_MAP = {
    "creativity_scope": 2,
    "reasoning": 1,
    "contextual_knowledge": 1,
    "number_of_few_shots": 1,
    "domain_knowledge": 3,
    "no_label_reason": 1,
    "constraint_ct": 1,
}
TINY_BACKBONE = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 128,
    "position_buckets": 32,
}

CORPUS = """
Write a Python script that uses a for loop to print the numbers from one to ten.
Summarize the following article about climate change in three sentences.
What is the capital of France and why did it become the capital?
Translate this paragraph into German and keep the formal tone of the original.
Classify the sentiment of this product review as positive, negative or neutral.
Extract every date and person mentioned in the meeting notes below.
Brainstorm ten names for a bakery that sells sourdough bread and coffee.
Rewrite this email so that it sounds friendly but still firm about the deadline.
Explain how a transformer neural network uses attention to read a sentence.
Generate a short story about a lighthouse keeper who finds a message in a bottle.
Is seventeen a prime number? Answer yes or no and explain your reasoning step by step.
Write a SQL query that returns the ten customers with the highest total order value.
Hello, how are you today? Can you help me plan a weekend trip to the mountains?
Given the context below, answer the question using only facts from the context.
Prove that the square root of two is irrational, using a proof by contradiction.
Draft a polite message declining an invitation to a conference in December.
List the main causes of the French Revolution and rank them by importance.
Compose a haiku about autumn leaves falling into a quiet river at dawn.
Debug this JavaScript function that should reverse a string but returns undefined.
Compare the economic policies of two countries over the last twenty years.
Write unit tests for a function that parses dates in several international formats.
Describe the water cycle to a ten year old child in simple and friendly words.
Which of these animals are mammals: dolphin, shark, bat, penguin, whale, frog?
Create a workout plan for a beginner who can train three times per week at home.
Refactor this class so that it follows the single responsibility principle.
What are the side effects of the medication and when should a patient see a doctor?
Plan a menu for a dinner party of eight guests, two of whom are vegetarian.
Identify the logical fallacy in the following argument and explain why it fails.
Write a cover letter for a junior data analyst position at a logistics company.
Convert this recipe from imperial units to metric units and round sensibly.
The quick brown fox jumps over the lazy dog while the cat sleeps in the warm sun.
Explain the difference between supervised learning, unsupervised learning and reinforcement.
Please answer the following questions about the history of the Roman Empire.
Design a database schema for a library with books, members, loans and fines.
Give three examples of few shot prompts: Input: apple Output: fruit Input: carrot Output:
""".strip().splitlines()


def train_spm(corpus: list[str], vocab_size: int) -> bytes:
    """A unigram sentencepiece model with DeBERTa-v3's special pieces and ids."""
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        pad_id=0,
        bos_id=1,
        eos_id=2,
        unk_id=3,
        pad_piece="[PAD]",
        bos_piece="[CLS]",
        eos_piece="[SEP]",
        unk_piece="[UNK]",
        user_defined_symbols=["[MASK]"],
        hard_vocab_limit=False,
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
    )
    return model.getvalue()


def _random_state(model, seed: int, head_std: float) -> dict:
    """Random weights with a fixed seed: N(0, 0.02) matrices, LayerNorm at (1, 0), and heads
    large enough that different texts give visibly different scores."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, meta in model.state_dict().items():
        if key.startswith("head_") and key.endswith("weight"):
            value = torch.randn(meta.shape, generator=gen) * head_std
        elif key.startswith("head_"):
            value = torch.randn(meta.shape, generator=gen) * 0.5
        elif "LayerNorm.weight" in key:
            value = torch.ones(meta.shape)
        elif meta.dim() == 1:
            value = torch.zeros(meta.shape)
        else:
            value = torch.randn(meta.shape, generator=gen) * 0.02
        state[key] = value.contiguous()
    return state


def write_checkpoint(
    directory: Path,
    *,
    full_size: bool = False,
    tokenizer_json: bool = False,
    seed: int = 0,
    corpus: list[str] | None = None,
    vocab_size: int = 400,
    head_std: float = 0.5,
    hidden_size: int = 0,
) -> Path:
    from safetensors.torch import save_file

    from services.classifier.checkpoint import HeadsConfig, build_model

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    spm_bytes = train_spm(corpus or CORPUS, vocab_size)
    (directory / "spm.model").write_bytes(spm_bytes)
    import sentencepiece

    pieces = sentencepiece.SentencePieceProcessor(model_proto=spm_bytes).get_piece_size()
    overrides = {} if full_size else {**TINY_BACKBONE, "vocab_size": pieces}
    if hidden_size and not full_size:
        # A wider random backbone keeps more of the prompt's tokens apart in its embedding.
        overrides.update(hidden_size=hidden_size, intermediate_size=2 * hidden_size)
    config = {
        "base_model": "microsoft/DeBERTa-v3-base",
        "fc_dropout": 0.2,
        "max_len": 512,
        "targets": [
            "task_type_1",
            "task_type_2",
            "task_type_prob",
            "creativity_scope",
            "reasoning",
            "contextual_knowledge",
            "number_of_few_shots",
            "domain_knowledge",
            "no_label_reason",
            "constraint_ct",
            "prompt_complexity_score",
        ],
        "target_sizes": TARGET_SIZES,
        "task_type_map": {str(i): name for i, name in enumerate(TASK_TYPES)},
        "weights_map": WEIGHTS_MAP,
        "divisor_map": DIVISOR_MAP,
    }
    if overrides:
        config[OVERRIDE_KEY] = overrides
    (directory / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    heads = HeadsConfig(
        targets=list(TARGET_SIZES),
        sizes=list(TARGET_SIZES.values()),
        task_type_map=dict(enumerate(TASK_TYPES)),
        weights_map={},
        divisor_map={},
        backbone_overrides=overrides,
    )
    model = build_model(heads, device="meta")
    state = _random_state(model, seed, head_std)
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    if tokenizer_json:
        from services.classifier.tokenizer import _from_spm

        _from_spm(directory / "spm.model").save(str(directory / "tokenizer.json"))
    return directory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.classifier.tiny_checkpoint", description=__doc__.split("\n")[0]
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("--full-size", action="store_true", help="DeBERTa-v3-base shapes")
    parser.add_argument("--tokenizer-json", action="store_true", help="also write tokenizer.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--corpus", type=Path, help="train the tokenizer on this text file (one text per line)"
    )
    parser.add_argument("--vocab-size", type=int, default=400, help="tokenizer pieces")
    parser.add_argument("--hidden-size", type=int, default=0, help="width of the small backbone")
    args = parser.parse_args(argv)
    corpus = None
    if args.corpus:
        corpus = [line for line in args.corpus.read_text().splitlines() if line.strip()]
    write_checkpoint(
        args.directory,
        full_size=args.full_size,
        tokenizer_json=args.tokenizer_json,
        seed=args.seed,
        corpus=corpus,
        vocab_size=args.vocab_size,
        hidden_size=args.hidden_size,
    )
    print(
        f"wrote a random-weight classifier checkpoint to {args.directory} (its answers are "
        f"meaningless; it only lets the stack run offline). Use it with:\n"
        f"  FREESCALING_CLASSIFIER_MODEL={args.directory} make run"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
