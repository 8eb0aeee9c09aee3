"""LangChain adapter: our hybrid Retriever as a `BaseRetriever`, returning `Document`s with line metadata.

    from rag.langchain_retriever import NewsRetriever
    docs = NewsRetriever.from_store(k=4).invoke("Co zaproponował Biden?")
    docs[0].metadata  # {"source", "start_line", "end_line", "score", "date", "lang", ...}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.retrieve import Retriever
from rag.retrievers import load_retriever
from rag.types import Passage


def passage_to_document(p: Passage) -> Document:
    return Document(
        page_content=p.text,
        id=p.chunk.id,
        metadata={
            "source": p.source, "start_line": p.start_line, "end_line": p.end_line, "score": p.score,
            "date": p.date, "lang": p.lang, "section": p.chunk.section, "title": p.chunk.title,
        },
    )


class NewsRetriever(BaseRetriever):
    """Hybrid dense + BM25 search over the news index; `k`, `mode` and `filters` can be set per call."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever
    k: int = 5
    mode: str = "hybrid"
    filters: dict[str, Any] | None = None

    @classmethod
    def from_store(cls, store_dir: Path | None = None, corpus_dir: Path | None = None, **kwargs: Any) -> NewsRetriever:
        return cls(retriever=load_retriever(store_dir=store_dir, corpus_dir=corpus_dir), **kwargs)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None, mode: str | None = None,
                                filters: dict[str, Any] | None = None) -> list[Document]:
        passages = self.retriever.search(query, k=k or self.k, mode=mode or self.mode,
                                         filters=filters if filters is not None else self.filters)
        return [passage_to_document(p) for p in passages]
