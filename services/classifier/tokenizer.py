"""The classifier's tokenizer: the fast (Rust) tokenizer from `tokenizer.json` when the
checkpoint has one, else one built from `spm.model`'s pieces and scores. Adds the model card's
"Prompt: " prefix, truncates at 512 tokens, and says which texts were truncated."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PREFIX = "Prompt: "
MAX_LENGTH = 512


class TokenizerError(RuntimeError):
    """The checkpoint has no usable tokenizer."""


@dataclass(frozen=True)
class Encoded:
    ids: list[int]
    truncated: bool


def _from_spm(spm_file: Path):
    """transformers 5's DebertaV2Tokenizer ignores `vocab_file` and would map every word to
    [UNK]; build it from the sentencepiece model's pieces and scores instead."""
    import sentencepiece
    from transformers import DebertaV2Tokenizer

    sp = sentencepiece.SentencePieceProcessor(model_file=str(spm_file))
    vocab = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
    tokenizer = DebertaV2Tokenizer(vocab=vocab, unk_id=sp.unk_id())
    return tokenizer.backend_tokenizer


class PromptTokenizer:
    """Texts to token ids, as the model card tokenizes them."""

    def __init__(self, backend, max_length: int = MAX_LENGTH) -> None:
        self.backend = backend
        self.max_length = max_length
        self.backend.no_padding()
        self.backend.enable_truncation(max_length=max_length)
        self.pad_id = self._special_id("[PAD]", 0)
        self.unk_id = self._special_id("[UNK]", None)
        self.source = ""

    def _special_id(self, token: str, default: int | None) -> int | None:
        found = self.backend.token_to_id(token)
        return default if found is None else found

    @classmethod
    def from_dir(cls, directory: Path, max_length: int = MAX_LENGTH) -> PromptTokenizer:
        fast, spm = directory / "tokenizer.json", directory / "spm.model"
        if fast.is_file():
            from tokenizers import Tokenizer

            made = cls(Tokenizer.from_file(str(fast)), max_length)
            made.source = str(fast)
        elif spm.is_file():
            made = cls(_from_spm(spm), max_length)
            made.source = str(spm)
        else:
            raise TokenizerError(f"{directory} has neither tokenizer.json nor spm.model")
        return made

    def encode(self, texts: list[str]) -> list[Encoded]:
        encodings = self.backend.encode_batch([PREFIX + t for t in texts])
        return [Encoded(list(e.ids), bool(e.overflowing)) for e in encodings]
