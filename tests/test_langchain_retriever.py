"""LangChain adapter, checked by LangChain's own standard retriever suite (langchain-tests)."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

from langchain_tests.integration_tests import RetrieversIntegrationTests

from rag.langchain_retriever import NewsRetriever
from rag.retrieve import Retriever
from rag.testing import FakeEmbedder
from tests.conftest import SEEDS


@lru_cache(maxsize=1)
def _retriever() -> Retriever:
    store = Path(tempfile.mkdtemp()) / "lc"
    return Retriever.load(store, corpus_dir=SEEDS, embedder=FakeEmbedder(), progress=False)


class TestNewsRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[NewsRetriever]:
        return NewsRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"retriever": _retriever(), "k": 4}

    @property
    def retriever_query_example(self) -> str:
        return "What did Biden offer Putin on 30 December?"


def test_documents_carry_line_metadata() -> None:
    docs = NewsRetriever(retriever=_retriever(), k=3).invoke("Rossija telewizji", mode="keyword")
    meta = docs[0].metadata
    assert meta["source"] == "001_400e8c6d7a4d42b4.txt" and meta["start_line"] == 7 and meta["end_line"] == 7
    assert {"score", "date", "lang", "section"} <= set(meta)
    assert docs[0].page_content == (SEEDS / meta["source"]).read_text("utf-8").split("\n")[6]


def test_filters_pass_through() -> None:
    docs = NewsRetriever(retriever=_retriever(), k=5, filters={"lang": "ro"}).invoke("NATO")
    assert docs and all(d.metadata["lang"] == "ro" for d in docs)
