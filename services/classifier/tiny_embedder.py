"""Writes a small sentence-transformers-format embedder with random weights: a BERT `config.json`
and `model.safetensors` as transformers saves them, a WordPiece `tokenizer.json` trained on the
spot, `modules.json` (Transformer, Pooling, Normalize), `1_Pooling/config.json` and
`sentence_bert_config.json`. Loaded through the same code path as all-MiniLM-L6-v2; for tests
(its vectors are meaningless, but deterministic).

    python -m services.classifier.tiny_embedder DIR [--hidden-size 32] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from services.classifier.tiny_checkpoint import CORPUS

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_wordpiece(corpus: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import WordPieceTrainer

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.train_from_iterator(
        corpus, WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIALS)
    )
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.BertProcessing(("[SEP]", sep), ("[CLS]", cls))
    return tokenizer


def write_embedder(
    directory: Path, hidden_size: int = 32, seed: int = 0, vocab_size: int = 300
) -> Path:
    import torch
    from transformers import BertConfig, BertModel

    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = train_wordpiece(list(CORPUS), vocab_size)
    tokenizer.save(str(directory / "tokenizer.json"))
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=hidden_size,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=hidden_size * 2,
        max_position_embeddings=128,
        pad_token_id=tokenizer.token_to_id("[PAD]"),
    )
    torch.manual_seed(seed)
    model = BertModel(config, add_pooling_layer=False)
    model.save_pretrained(str(directory), safe_serialization=True)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
        {
            "idx": 2,
            "name": "2",
            "path": "2_Normalize",
            "type": "sentence_transformers.models.Normalize",
        },
    ]
    (directory / "modules.json").write_text(json.dumps(modules, indent=2))
    (directory / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64}))
    (directory / "1_Pooling").mkdir(exist_ok=True)
    (directory / "1_Pooling" / "config.json").write_text(
        json.dumps(
            {
                "word_embedding_dimension": hidden_size,
                "pooling_mode_cls_token": False,
                "pooling_mode_mean_tokens": True,
                "pooling_mode_max_tokens": False,
            }
        )
    )
    return directory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--hidden-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    write_embedder(args.directory, args.hidden_size, args.seed)
    print(args.directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
