"""Retrieval: dense (E5 + FAISS) and keyword (BM25) scores fused into one ranking.

Dense search carries cross-lingual questions (English question, Polish text); keyword search
nails names, numbers and same-language wording. `hybrid` adds a small share of the min-max
normalised BM25 score to the normalised dense score; `hybrid-rrf` is reciprocal-rank fusion,
kept for comparison: with ranks alone BM25 pulls English questions towards paragraphs that
merely share a name, while the weighted score fusion keeps dense quality and still lets exact
names and numbers break ties. Three further parts of `hybrid`, each needed:
- sentence scores (dense = half paragraph cosine, half best sentence cosine): a long paragraph's
  single vector blurs the one sentence that answers;
- neighbour lift (a share of the better adjacent paragraph's normalised dense score):
  "the day after that call, Biden said ..." only matches through the paragraph before it;
- BM25 weight times query coverage (share of query tokens in the index vocabulary): an English
  question over Polish text matches only names and numbers, and BM25 would then rank any
  paragraph with the same name high.
The README's evaluation tables give the figures.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag import settings
from rag.chunk_table import adjacent_rows  # noqa: F401 (part of this module's interface)
from rag.dense_index import candidate_rows
from rag.index_build import build_store
from rag.retrieval_config import RetrievalConfig
from rag.store import Store, StoreError, StoreMismatch, is_stale
from rag.types import Chunk, Embedder, Passage

log = logging.getLogger(__name__)



def default_embedder() -> Embedder:
    from rag.embeddings import load_embedder

    return load_embedder()


def open_store(store_dir: Path | None, corpus_dir: Path | None, embedder: Embedder, auto_build: bool = True,
               progress: bool = True) -> Store:
    """Open the index, building or refreshing it first when it is missing, stale or mismatched."""
    store_dir = Path(store_dir) if store_dir else settings.store_dir()
    try:
        store = Store.load(store_dir, embedder.fingerprint())
        corpus = Path(corpus_dir or store.manifest.get("corpus_dir") or settings.corpus_dir())
        if auto_build and corpus.is_dir() and is_stale(store_dir, corpus):
            raise StoreError("corpus changed since the index was built")
    except StoreError as exc:
        if not auto_build:
            raise
        corpus = Path(corpus_dir) if corpus_dir else settings.corpus_dir()
        verb = "rebuilding" if isinstance(exc, StoreMismatch) or store_dir.exists() else "building"
        print(f"rag: {verb} index {store_dir} from {corpus} ({exc})", file=sys.stderr)
        report = build_store(corpus, store_dir, embedder, progress=progress)
        print(f"rag: indexed {report.summary()}", file=sys.stderr)
        store = Store.load(store_dir, embedder.fingerprint())
    return store


class Retriever:
    """Searches one loaded Store. Open with `rag.retrievers.load_retriever()`; share one per process.

    A large index is not scored row by row: the dense side's nearest paragraphs, BM25's best rows
    and their adjacent paragraphs form the candidate set, which is then scored exactly as a small
    index scores all its rows (normalisation, sentence blend and neighbour lift over the candidates).
    """

    MODES = ("keyword", "dense", "hybrid", "hybrid-rrf")

    def __init__(self, store: Store, embedder: Embedder, config: RetrievalConfig | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config or RetrievalConfig()
        self._adjacent = store.chunks.adjacent()
        _single_threaded_numpy_blas()

    @property
    def chunks(self) -> Sequence[Chunk]:
        return self.store.chunks

    @classmethod
    def load(cls, store_dir: Path | None = None, corpus_dir: Path | None = None, embedder: Embedder | None = None,
             auto_build: bool = True, progress: bool = True) -> Retriever:
        """The in-process (FAISS) retriever over the index, built or refreshed first if needed.

        `rag.retrievers.load_retriever` is the entry that honours RAG_VECTOR_BACKEND.
        """
        embedder = embedder or default_embedder()
        return cls(open_store(store_dir, corpus_dir, embedder, auto_build, progress), embedder)

    def neighbours(self, passages: list[Passage], window: int = 2) -> list[Passage]:
        """Paragraphs near the given ones in the same section, not already in the list.

        A question often matches one paragraph ("30 December": the line with the date) while the
        answer sits two paragraphs further down the same section. Retrieval scores are per
        paragraph, so the answer layer widens its evidence with these neighbours.
        """
        seen = {p.chunk.id for p in passages}
        extra: list[Passage] = []
        for p in passages:
            i = self.store.chunks.row_of(p.chunk)
            if i is None:
                continue
            around = range(max(0, i - window), min(len(self.chunks), i + window + 1))
            for c in self.store.chunks.many(around):
                if c.id in seen or c.source != p.source or c.section != p.chunk.section:
                    continue
                seen.add(c.id)
                extra.append(Passage(chunk=c, score=p.score * 0.5, neighbour_of=p.start_line))
        return extra

    # -- ranking ------------------------------------------------------------------------------------

    def _mask(self, filters: dict[str, Any] | None) -> np.ndarray:
        """Boolean row mask for the filters: lang, source (str or list), date_from/date_to ("YYYY-MM")."""
        return self.store.chunks.mask(filters)

    def embed_query(self, question: str) -> np.ndarray:
        return np.asarray(self.embedder.embed_queries([question]), dtype=np.float32)[0]

    def dense_scores(self, question: str) -> np.ndarray:
        """Per chunk, a blend of the paragraph's cosine and its best sentence's cosine (`RetrievalConfig.sentence_share`)."""
        return self._dense_for(self.embed_query(question), np.arange(len(self.chunks)))

    def _dense_for(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        vectors = self.store.dense_vectors
        out = np.asarray(vectors.chunk_scores(query, rows), dtype=np.float32)
        best = vectors.best_sentence_scores(query, rows)
        has = best > -np.inf
        share = self.config.sentence_share
        out[has] = (1 - share) * out[has] + share * best[has]
        return out

    def keyword_scores(self, question: str) -> np.ndarray:
        return self.store.keyword.scores(question)

    def _keyword_for(self, question: str, filters: dict[str, Any] | None) -> np.ndarray:
        """BM25 score of every row (a backend with its own keyword search fills only its best rows)."""
        return self.keyword_scores(question)

    def hybrid_scores(self, question: str, dense: np.ndarray, keyword: np.ndarray, mask: np.ndarray,
                      adjacent: np.ndarray | None = None) -> np.ndarray:
        """Normalised dense score, lifted by the adjacent paragraphs, plus BM25 weighted by query coverage.

        The neighbour lift serves paragraphs that only make sense after the one before ("the day after
        that call, Biden said ..."): they borrow part of the score of the paragraph they continue.
        `adjacent` indexes into the given arrays (all rows by default).
        """
        adjacent = self._adjacent if adjacent is None else adjacent
        semantic = _minmax(dense, mask)
        semantic = _minmax(semantic + self.config.neighbour_share * neighbour_best(np.where(mask, semantic, 0.0), adjacent), mask)
        weight = self.config.keyword_weight * self.store.keyword.coverage(question)
        return semantic + weight * _minmax(keyword, mask)

    def candidates(self, query: np.ndarray | None, keyword: np.ndarray | None, mask: np.ndarray,
                   filters: dict[str, Any] | None = None) -> np.ndarray:
        """Rows to score (ascending): all of a small index; else ANN and BM25 candidates plus their neighbours."""
        if len(self.chunks) <= self.config.full_scan_rows:
            return np.arange(len(self.chunks))
        parts = []
        if query is not None:
            parts.append(candidate_rows(self.store.dense, self.store.dense_vectors, query, self.config.dense_candidates, mask))
        if keyword is not None:
            allowed = np.where(mask & (keyword > 0), keyword, 0.0)
            n = self.config.keyword_candidates
            top = np.argpartition(-allowed, min(n, len(allowed) - 1))[:n]
            parts.append(top[allowed[top] > 0])
        rows = np.unique(np.concatenate(parts).astype(np.int64))
        around = self._adjacent[rows].ravel()
        return np.unique(np.concatenate([rows, around[around >= 0]]))

    def search(self, question: str, k: int = 5, mode: str = "hybrid",
               filters: dict[str, Any] | None = None) -> list[Passage]:
        """Top-k passages, best first. `mode` is one of MODES."""
        if mode not in self.MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; choose from {', '.join(self.MODES)}")
        if not question.strip():
            raise ValueError("empty question")
        query = self.embed_query(question) if mode != "keyword" else None
        return self.search_vector(question, query, k, mode, filters)

    def search_vector(self, question: str, query: np.ndarray | None, k: int = 5, mode: str = "hybrid",
                      filters: dict[str, Any] | None = None) -> list[Passage]:
        """`search` with the question already embedded (`query`; None for keyword mode)."""
        if mode not in self.MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; choose from {', '.join(self.MODES)}")
        if query is None and mode != "keyword":
            raise ValueError(f"mode {mode!r} needs the embedded question")
        full_mask = self._mask(filters)
        if not full_mask.any():
            return []
        keyword_all = self._keyword_for(question, filters) if mode != "dense" else None
        rows = self.candidates(query if mode != "keyword" else None, keyword_all, full_mask, filters)
        mask = full_mask[rows]
        if not mask.any():
            return []
        dense = self._dense_for(query, rows) if mode != "keyword" and query is not None else None
        keyword = keyword_all[rows] if keyword_all is not None else None
        rankings: dict[str, list[int]] = {}
        if dense is not None:
            rankings["dense"] = _ranked(dense, mask)
        if keyword is not None:
            rankings["keyword"] = _ranked(keyword, mask & (keyword > 0))
        if mode == "hybrid":
            fused = _ranked_scores(self.hybrid_scores(question, dense, keyword, mask, _local_adjacent(self._adjacent, rows)),
                                   mask)
        elif mode == "hybrid-rrf":
            fused = _rrf(rankings, self.config.rrf_k)
        else:
            fused = _single(rankings[mode], dense if mode == "dense" else keyword)
        top = fused[:k]
        chunks = self.store.chunks.many(int(rows[i]) for i, _ in top)
        positions = {name: _positions(ranking, len(rows)) for name, ranking in rankings.items()}
        passages = []
        for chunk, (i, score) in zip(chunks, top):
            passages.append(Passage(
                chunk=chunk, score=float(score),
                dense_score=None if dense is None else float(dense[i]),
                keyword_score=None if keyword is None else float(keyword[i]),
                ranks={name: int(pos[i]) for name, pos in positions.items() if pos[i]},
            ))
        return passages


@functools.cache
def _single_threaded_numpy_blas() -> None:
    """One query is matrix-vector products: extra BLAS / OpenMP threads only spin-wait against each other.

    On this shared 2-core machine one thread took a 10k-paragraph hybrid query from 104 ms to
    13 ms and a 100k one from 64 to ~20 ms (load average 6-8). numpy's BLAS and FAISS's OpenMP
    are limited (FAISS also trains IVF indexes single-threaded afterwards in this process);
    torch, which embeds, keeps its threads.
    """
    faiss.omp_set_num_threads(1)
    try:
        from threadpoolctl import ThreadpoolController

        controller = ThreadpoolController()
        numpy_blas = [lib for lib in controller.lib_controllers if "numpy" in lib.filepath]
        for lib in numpy_blas:
            lib.set_num_threads(1)
    except Exception as exc:  # only speed is at stake
        log.debug("numpy BLAS threads not limited: %s", exc)


def _positions(ranking: list[int], n: int) -> np.ndarray:
    """1-based rank of each position in `ranking` (0 where it is not ranked)."""
    out = np.zeros(n, dtype=np.int64)
    out[np.asarray(ranking, dtype=np.int64)] = np.arange(1, len(ranking) + 1)
    return out


def _local_adjacent(adjacent: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """`adjacent` restricted to `rows` (ascending) and renumbered into positions of `rows` (-1: not scored)."""
    if len(rows) == len(adjacent):
        return adjacent
    sub = adjacent[rows]
    pos = np.searchsorted(rows, sub)
    inside = (sub >= 0) & (pos < len(rows)) & (rows[np.minimum(pos, len(rows) - 1)] == sub)
    return np.where(inside, pos, -1)


def best_per_row(scores: np.ndarray, rows: np.ndarray, n_rows: int) -> np.ndarray:
    """The highest of `scores` for each row id in `rows` (-inf where a row has none)."""
    best = np.full(n_rows, -np.inf, dtype=np.float32)
    np.maximum.at(best, rows, scores.astype(np.float32))
    return best


def neighbour_best(scores: np.ndarray, adjacent: np.ndarray) -> np.ndarray:
    """For each row, the higher score of its two adjacent rows (0 where there is none)."""
    padded = np.append(scores, 0.0)  # index -1 reads this zero
    return np.maximum(padded[adjacent[:, 0]], padded[adjacent[:, 1]])


def _rrf(rankings: dict[str, list[int]], k: int) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for ranking in rankings.values():
        for rank, i in enumerate(ranking, start=1):
            scores[i] = scores.get(i, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def _minmax(scores: np.ndarray | None, mask: np.ndarray) -> np.ndarray:
    """Scale the allowed rows to [0, 1]; all-equal scores (e.g. no keyword match) contribute nothing."""
    assert scores is not None
    allowed = scores[mask]
    lo, hi = float(allowed.min()), float(allowed.max())
    if hi - lo < 1e-9:
        return np.zeros_like(scores)
    return (scores - lo) / (hi - lo)


def _ranked_scores(scores: np.ndarray, mask: np.ndarray) -> list[tuple[int, float]]:
    order = _ranked(scores, mask)
    return list(zip(order, scores[order].tolist()))


def _ranked(scores: np.ndarray, mask: np.ndarray) -> list[int]:
    order = np.argsort(-scores, kind="stable")
    return order[mask[order]].tolist()


def _single(ranking: list[int], scores: np.ndarray | None) -> list[tuple[int, float]]:
    assert scores is not None
    return [(i, float(scores[i])) for i in ranking]


def _as_set(value: str | Iterable[str] | None) -> set[str]:
    if not value:
        return set()
    return {value} if isinstance(value, str) else set(value)
