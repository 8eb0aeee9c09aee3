"""Keyword index: BM25 (bm25s) over tokens that survive inflection (Polish and Romanian among others).

Tokens are case- and diacritic-folded ("Ławrow" -> "lawrow", "sancțiuni" -> "sanctiuni") and
cut to a fixed prefix: a crude, language-free stemmer that maps "Biden/Bidena/Bidenem" and
"sankcje/sankcji" together and even joins some cognates across languages ("ukraine/ukrainy").
The strategy is a parameter so the evaluation can compare it with no stemming.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag import languages
from rag.languages import LanguagePack
from rag.text import fold

if TYPE_CHECKING:  # bm25s loads with an index: `tokenize` alone (rag.select reads it) needs none of it
    import bm25s

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

_WORD = re.compile(r"\w+", re.UNICODE)
STRATEGIES = ("plain", "prefix5", "prefix6")
DEFAULT_STRATEGY = "prefix5"


def _stopwords(packs: tuple[LanguagePack, ...]) -> frozenset[str]:
    """Function words of every language pack: IDF handles most, these only add noise to short queries."""
    return frozenset().union(*(p.stopwords for p in packs))


stopwords = languages.derived(_stopwords)


def tokenize(text: str, strategy: str = DEFAULT_STRATEGY) -> list[str]:
    """Folded word tokens minus stopwords, optionally cut to a prefix (see module docstring)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown keyword strategy {strategy!r}; choose from {STRATEGIES}")
    stop = stopwords()
    words = [w for w in _WORD.findall(fold(text)) if w not in stop and (len(w) > 1 or w.isdigit())]
    if strategy.startswith("prefix"):
        n = int(strategy[len("prefix"):])
        words = [w[:n] for w in words]
    return words


@dataclass
class KeywordIndex:
    """BM25 over chunk texts; row i scores chunk i of the store."""

    bm25: bm25s.BM25
    strategy: str
    size: int

    @classmethod
    def build(cls, texts: Iterable[str], strategy: str = DEFAULT_STRATEGY) -> KeywordIndex:
        """Tokens become ids as they are read, so a million paragraphs never exist as token strings at once."""
        vocab: dict[str, int] = {}
        corpus: list[list[int]] = []
        for text in texts:
            # An empty document would break bm25s' vocabulary; a placeholder token keeps rows aligned.
            tokens = tokenize(text, strategy) or ["\u2205"]
            corpus.append([vocab.setdefault(t, len(vocab)) for t in tokens])
        import bm25s

        bm25 = bm25s.BM25()
        bm25.index((corpus, vocab), show_progress=False)
        return cls(bm25=bm25, strategy=strategy, size=len(corpus))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for `query` (zeros when no query token is in the vocabulary).

        Summed here from the (memory-mapped) posting arrays: within one token's postings each
        document occurs once, so a plain indexed add is exact and much faster than np.add.at.
        """
        out = np.zeros(self.size, dtype=np.float32)
        vocab, matrix = self.bm25.vocab_dict, self.bm25.scores
        data, indices, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
        for token in tokenize(query, self.strategy):
            if token in vocab:
                start, end = int(indptr[vocab[token]]), int(indptr[vocab[token] + 1])
                out[indices[start:end]] += data[start:end]
        return out

    def coverage(self, query: str) -> float:
        """Share of the query's tokens that occur in the index at all.

        An English question over Polish text matches only names and numbers, so BM25 ranks on a
        fragment of the question; the hybrid fusion trusts BM25 in proportion to this share.
        """
        tokens = tokenize(query, self.strategy)
        if not tokens:
            return 0.0
        return sum(t in self.bm25.vocab_dict for t in tokens) / len(tokens)

    def save(self, folder: Path) -> None:
        self.bm25.save(str(folder), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, strategy: str, size: int) -> KeywordIndex:
        """Memory-mapped: a large index is paged in by the postings queries touch, not read whole."""
        import bm25s

        bm25 = bm25s.BM25.load(str(folder), allow_pickle=False, mmap=True)
        if int(bm25.scores["num_docs"]) != size:
            raise ValueError(f"keyword index holds {bm25.scores['num_docs']} documents, expected {size}")
        return cls(bm25=bm25, strategy=strategy, size=size)
