"""Which retriever serves the index: the in-process FAISS one, or Milvus (RAG_VECTOR_BACKEND).

Both answer `search` with the same Passages over the same chunk table, so everything above
(answering, the page, the HTTP API, the eval) asks this module and never names a backend.
"""

from __future__ import annotations

from pathlib import Path

from rag import settings
from rag.milvus_store import MilvusRetriever
from rag.retrieve import Retriever, default_embedder, open_store
from rag.types import Embedder


def load_retriever(store_dir: Path | None = None, corpus_dir: Path | None = None, embedder: Embedder | None = None,
                   auto_build: bool = True, progress: bool = True) -> Retriever:
    """The configured backend's retriever over the index, built or refreshed first if needed."""
    store_dir = Path(store_dir) if store_dir else settings.store_dir()
    embedder = embedder or default_embedder()
    store = open_store(store_dir, corpus_dir, embedder, auto_build, progress)
    if settings.vector_backend() == "milvus":
        return MilvusRetriever.open(store, embedder, settings.milvus_uri(store_dir))
    return Retriever(store, embedder)
