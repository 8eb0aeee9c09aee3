"""The process-wide cache of document-side vectors the grounding embeds, one per (embedder, text).

Chat sessions share it across threads and a corpus of a few hundred articles holds more distinct
lines than it keeps, so a call takes a snapshot of what is cached, embeds the rest, and answers
from its own local copy: an entry evicted by a concurrent call (or by this one) is never re-read.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.cache import BoundedCache
from rag.types import Embedder

MAX_VECTORS = 4096

VECTORS: BoundedCache[tuple[str, str], np.ndarray] = BoundedCache(MAX_VECTORS)


def _embedder_id(embedder: Embedder) -> str:
    try:
        return str(embedder.fingerprint())
    except Exception:  # a minimal embedder without fingerprint(): fall back to its identity
        return f"{type(embedder).__name__}:{id(embedder)}"


def embed_documents_cached(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Document-side vectors; lines recur across questions, so each is embedded once while cached."""
    if not texts:
        return np.zeros((0, 1), np.float32)
    eid = _embedder_id(embedder)
    found = {text: vec for (_, text), vec in VECTORS.get_many((eid, t) for t in texts).items()}
    missing = [t for t in dict.fromkeys(texts) if t not in found]
    if missing:
        fresh = np.asarray(embedder.embed_documents(missing), dtype=np.float32)
        for text, vec in zip(missing, fresh):
            found[text] = vec
            VECTORS.put((eid, text), vec)
    return np.stack([found[t] for t in texts])


def remember_document_vectors(embedder: Embedder, texts: Sequence[str], vectors: np.ndarray) -> int:
    """Seed the cache with document vectors computed elsewhere by the same embedder (the index's).

    Nearly every line the grounding embeds is a paragraph or sentence the index already embedded;
    reusing those saves seconds of CPU on a process's first answer. Seeding never evicts what
    questions put there; returns how many were added.
    """
    eid = _embedder_id(embedder)
    added = 0
    for text, vec in zip(texts, vectors):
        if len(VECTORS) >= VECTORS.max_items:
            break
        added += VECTORS.put_if_room((eid, text.strip()), np.asarray(vec, dtype=np.float32))
    return added
