"""The retrieval step's settings: how dense and keyword scores are fused, and how much is scored.

Both backends (rag.retrieve's FAISS one and rag.milvus_store) read the same values, so the two
rank alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.dense_index import IN_MEMORY_MAX_ROWS


@dataclass(frozen=True)
class RetrievalConfig:
    rrf_k: int = 60  # the usual constant: damps the head so a single list cannot dominate
    keyword_weight: float = 0.2  # share of normalised BM25 in `hybrid`, times the query's keyword coverage
    sentence_share: float = 0.5  # dense score = (1 - share) * paragraph cosine + share * best sentence cosine
    neighbour_share: float = 0.2  # `hybrid` adds this share of the better adjacent paragraph's dense score
    full_scan_rows: int = IN_MEMORY_MAX_ROWS  # up to here every row is scored; above, only candidate rows
    dense_candidates: int = 200  # nearest paragraphs (ANN, re-scored exactly) scored in full above full_scan_rows
    keyword_candidates: int = 100  # best BM25 rows scored in full above full_scan_rows


DEFAULT = RetrievalConfig()
