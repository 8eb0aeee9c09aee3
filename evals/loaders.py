"""The real objects an evaluation runs on: the index's retriever and, per answer mode, an answerer.

Kept apart from the runner so that the runner only ever sees the protocols of evals.protocols,
and apart from the CLI so that calibration and the quality-floor tests build exactly what
`rag eval` builds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from evals.protocols import AnswererFactory, EvalAnswerer
from rag.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from rag.retrieve import Retriever


def load_retriever(store: Path | None, corpus: Path | None = None) -> Retriever:
    """The retriever over `store` (default: the seeds index), building the index if it is missing."""
    from rag import retrievers

    if corpus is not None and store is None:
        store = PROJECT_ROOT / "vectorstore" / f"eval-{corpus.resolve().parent.name}-{corpus.name}"
    return retrievers.load_retriever(store_dir=store, corpus_dir=corpus)


def make_answerer_factory(retriever: Retriever, model: str) -> AnswererFactory:
    """Answerers built lazily per mode, all sharing the already loaded retriever."""
    cache: dict[str, EvalAnswerer] = {}

    def factory(mode: str) -> EvalAnswerer:
        from rag.answer import Answerer

        if mode == "extractive":
            return Answerer(retriever, llm=None)
        if mode == "lead":
            from evals.lead import LeadAnswerer

            return LeadAnswerer(Answerer(retriever, llm=None))
        if mode == "naive":
            from evals.naive import NaiveAnswerer
            from rag.llm import load_chat_model

            return NaiveAnswerer(list(retriever.chunks), retriever.embedder, load_chat_model(model))
        if "llm" not in cache:
            cache["llm"] = Answerer.load(model=model, retriever=retriever)
        return cache["llm"]

    return factory
