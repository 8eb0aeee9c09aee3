"""The `naive` eval baseline: the plain LangChain chain a user would write first over the same models.

FAISS (langchain-community's vector store) over the corpus's lines, embedded with the same E5
model, the top 4 lines "stuffed" into one plain prompt, the same GGUF chat model. No selection,
no renderings, no grammar, no checks: its sources are the four lines it retrieved, and it refuses
only when the model says it does not know. The answer engine must beat this on every split and
corpus, or its extra machinery is not paying for itself.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

K = 4
SYSTEM = ("Answer the question using only the context below. If the context does not contain the answer, "
          "say that you don't know. Answer in the language of the question.\n\nContext:\n{context}")
_DONT_KNOW = re.compile(r"\b(?:don'?t know|do not know|does not (?:contain|provide|mention|say)|no information|"
                        r"not (?:mentioned|provided|specified)|nie wiem|nie zawiera|brak informacji|nu știu|"
                        r"nu conține|nu există informații)\b", re.IGNORECASE)


@dataclass(frozen=True)
class LineRef:
    """One retrieved corpus line, which is also what the baseline cites."""

    source: str
    start_line: int
    end_line: int


@dataclass
class NaiveAnswer:
    """The baseline's answer in the shape the eval runner scores (evals.protocols.EvalAnswer)."""

    answer: str
    refused: bool
    citations: list[LineRef] = field(default_factory=list)
    passages: list[LineRef] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


class _Embeddings:
    """The project's embedder as LangChain `Embeddings` (E5 passage/query sides kept apart)."""

    def __init__(self, embedder: Any):
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self.embedder.embed_documents(list(texts))]

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self.embedder.embed_queries([text])[0]]


def _line_documents(chunks: list[Any]) -> list[Any]:
    from langchain_core.documents import Document

    return [Document(page_content=text, metadata={"source": c.source, "line": n})
            for c in chunks for n, text in c.line_items() if text.strip()]


class NaiveAnswerer:
    """`ask()` like rag.answer.Answerer (evals.protocols.EvalAnswerer), built from stock LangChain parts."""

    def __init__(self, chunks: list[Any], embedder: Any, llm: Any):
        import warnings

        from langchain_core.embeddings import Embeddings
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import ChatPromptTemplate

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from langchain_community.vectorstores import FAISS

        embeddings = type("E5Embeddings", (_Embeddings, Embeddings), {})(embedder)
        self.store = FAISS.from_documents(_line_documents(chunks), embeddings)
        self.retriever = self.store.as_retriever(search_kwargs={"k": K})
        prompt = ChatPromptTemplate.from_messages([("system", SYSTEM), ("human", "{question}")])
        self.chain = prompt | llm | StrOutputParser()

    def ask(self, question: str, mode: str = "naive", k: int = K, retrieval_mode: str = "dense") -> NaiveAnswer:
        """Answer from the top K lines; `mode`, `k` and `retrieval_mode` are the runner's and are ignored."""
        started = time.perf_counter()
        docs = self.retriever.invoke(question)
        context = "\n\n".join(d.page_content for d in docs)
        text = self.chain.invoke({"context": context, "question": question})
        spans = [LineRef(d.metadata["source"], d.metadata["line"], d.metadata["line"]) for d in docs]
        total = time.perf_counter() - started
        return NaiveAnswer(text, bool(_DONT_KNOW.search(text)), citations=spans, passages=spans,
                           timings={"total_s": total, "first_token_s": total})
