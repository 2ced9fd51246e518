"""BERT's uncased WordPiece tokenizer in pure Python, with character offsets into the input text.

The same steps as the ``tokenizers`` fast tokenizer all-MiniLM-L6-v2 ships (``BertNormalizer`` with
``lowercase`` and accents stripped, ``BertPreTokenizer``, ``WordPiece`` with the ``##`` prefix): control
characters are dropped, whitespace splits, every punctuation character and every CJK ideograph is a word of its
own, each word is lower-cased and stripped of combining marks (and of control characters such as U+200B,
removed without splitting the word), then split greedily longest-match-first into
vocabulary pieces (a word with no split, or longer than 100 characters, becomes ``[UNK]``).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping

MAX_WORD_CHARS = 100


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF
            or 0x2F800 <= cp <= 0x2FA1F)


def _is_control(ch: str) -> bool:
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch) in ("Cc", "Cf") or ord(ch) == 0xFFFD or ord(ch) == 0


def _is_space(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def words_with_offsets(text: str) -> list[tuple[str, int, int]]:
    """Basic tokenization: (word, start, end) with offsets into ``text``."""
    out: list[tuple[str, int, int]] = []
    start = -1
    for i, ch in enumerate(text):
        if _is_control(ch):
            continue  # removed (clean_text), without splitting the word around it
        if _is_space(ch):
            if start >= 0:
                out.append((text[start:i], start, i))
                start = -1
        elif _is_punct(ch) or _is_cjk(ord(ch)):
            if start >= 0:
                out.append((text[start:i], start, i))
                start = -1
            out.append((ch, i, i + 1))
        elif start < 0:
            start = i
    if start >= 0:
        out.append((text[start:], start, len(text)))
    return out


def _normalize(word: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", word.lower())
                   if unicodedata.category(ch) != "Mn" and not _is_control(ch))


class WordPiece:
    """Greedy longest-match-first WordPiece over a vocabulary (token → id)."""

    def __init__(self, vocab: Mapping[str, int], unk: str = "[UNK]") -> None:
        self.vocab = dict(vocab)
        self.unk_id = self.vocab[unk]
        self.cls_id = self.vocab["[CLS]"]
        self.sep_id = self.vocab["[SEP]"]
        self.pad_id = self.vocab.get("[PAD]", 0)
        self._pieces = functools.lru_cache(maxsize=1 << 16)(self._word_pieces)

    def _word_pieces(self, word: str) -> tuple[tuple[int, int, int], ...]:
        """(id, start, end) of ``word``'s pieces, offsets into the normalised word (or one [UNK])."""
        if len(word) > MAX_WORD_CHARS:
            return ((self.unk_id, 0, len(word)),)
        out: list[tuple[int, int, int]] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = -1
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                tid = self.vocab.get(piece)
                if tid is not None:
                    found = tid
                    break
                end -= 1
            if found < 0:
                return ((self.unk_id, 0, len(word)),)
            out.append((found, start, end))
            start = end
        return tuple(out)

    def tokenize(self, text: str) -> list[tuple[int, int, int]]:
        """(id, start, end) per piece, without [CLS]/[SEP]; offsets into ``text`` (a piece of a word whose
        normalisation changed its length is mapped to the whole word)."""
        out: list[tuple[int, int, int]] = []
        for w, s, e in words_with_offsets(text):
            norm = _normalize(w)
            if not norm:
                continue
            pieces = self._pieces(norm)
            same = len(norm) == len(w)
            for tid, ps, pe in pieces:
                out.append((tid, s + ps, s + pe) if same else (tid, s, e))
        return out

    def encode(self, text: str, max_len: int = 256) -> list[int]:
        """[CLS] ids [SEP], truncated to ``max_len`` ids in all."""
        ids = [t for t, _, _ in self.tokenize(text)][: max_len - 2]
        return [self.cls_id, *ids, self.sep_id]


__all__ = ["WordPiece", "words_with_offsets"]
