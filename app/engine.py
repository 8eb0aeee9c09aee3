"""Process-wide state behind the page: the index, the models, and corpus changes.

Streamlit runs one script thread per browser session, so everything here is shared by all
sessions: the retriever is swapped atomically after a rebuild (sessions mid-answer keep the
one they started with), rebuilds are serialised, and the llama.cpp models, which are not
thread-safe, are used under one lock.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.uploads import UploadCheck, restore_files, write_files
from rag import settings
from rag.index_build import BuildReport, build_store
from rag.retrieve import Retriever
from rag.retrievers import load_retriever
from rag.store import Store
from rag.types import Embedder

log = logging.getLogger(__name__)

# llama.cpp contexts are not thread-safe, and two generations at once would only halve each one's
# share of the two cores anyway: one answer at a time, the others wait (and are told so).
MODEL_LOCK = threading.Lock()

Progress = Callable[[float, str], None]  # (fraction done, message)

_READY: set[tuple[Any, ...]] = set()  # resources loaded in this process, to decide whether to show a status


def fake_mode() -> bool:
    """RAG_APP_FAKE=1: fake embedder and chat model, so page tests run in seconds without model files."""
    return settings.current().app_fake


def data_dirs(fake: bool) -> tuple[Path, Path]:
    """(store, corpus); a fake-mode index lives apart so it can never replace the real one."""
    store = settings.store_dir()
    if fake and settings.current().store is None:
        store = store.with_name(f"{store.name}-app-fake")
    return store, settings.corpus_dir()


@contextlib.contextmanager
def model_turn(needed: bool, on_wait: Callable[[], None]) -> Iterator[None]:
    """Hold MODEL_LOCK while a model is in use; call `on_wait` first if another session holds it."""
    if not needed:
        yield
        return
    if not MODEL_LOCK.acquire(blocking=False):
        on_wait()
        MODEL_LOCK.acquire()
    try:
        yield
    finally:
        MODEL_LOCK.release()


def is_ready(*key: Any) -> bool:
    return key in _READY


def mark_ready(*key: Any) -> None:
    _READY.add(key)


# --------------------------------------------------------------------------- corpus summary


@dataclass(frozen=True)
class DocumentInfo:
    source: str
    date: str
    lang: str
    title: str
    lines: int


@dataclass(frozen=True)
class CorpusSummary:
    documents: list[DocumentInfo]
    chunks: int
    languages: dict[str, int] = field(default_factory=dict)  # lang -> number of documents
    months: list[str] = field(default_factory=list)  # distinct "YYYY-MM", sorted
    undated: int = 0


def summarise(manifest: dict[str, Any], chunks: int) -> CorpusSummary:
    """What the sidebar shows, read from the index manifest (the truth about what is searchable)."""
    docs = [
        DocumentInfo(
            source,
            meta.get("date", ""),
            meta.get("lang", ""),
            meta.get("title", ""),
            int(meta.get("lines", 0)),
        )
        for source, meta in sorted(manifest.get("documents", {}).items())
    ]
    langs = Counter(d.lang or "?" for d in docs)
    return CorpusSummary(
        documents=docs,
        chunks=chunks,
        languages=dict(langs.most_common()),
        months=sorted({d.date for d in docs if d.date}),
        undated=sum(1 for d in docs if not d.date),
    )


# --------------------------------------------------------------------------- embedder wrappers


class LockedEmbedder:
    """Serialises embedding calls: a Hugging Face tokenizer used from two session threads at once
    can fail ("Already borrowed"), and quotes-only answers run without the model lock."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> Any:
        with self._lock:
            return self.inner.embed_documents(texts)

    def embed_queries(self, texts: list[str]) -> Any:
        with self._lock:
            return self.inner.embed_queries(texts)

    def fingerprint(self) -> str:
        return self.inner.fingerprint()


# --------------------------------------------------------------------------- progress while indexing


class ProgressEmbedder:
    """Wraps an embedder so `build_store` reports each batch; same fingerprint, so vectors are reused."""

    def __init__(self, inner: Embedder, report: Progress, batch: int = 16) -> None:
        self.inner = inner
        self.report = report
        self.batch = batch
        self.model_id = inner.model_id
        self.dim = inner.dim

    def embed_documents(self, texts: list[str], show_progress: bool = False) -> Any:
        import numpy as np

        parts = []
        for start in range(0, len(texts), self.batch):
            self.report(
                start / max(len(texts), 1),
                f"Embedding paragraphs {start + 1}–{min(start + self.batch, len(texts))} of {len(texts)}…",
            )
            parts.append(
                np.asarray(self.inner.embed_documents(texts[start : start + self.batch]), dtype=np.float32)
            )
        self.report(1.0, f"Embedded {len(texts)} paragraphs")
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> Any:
        return self.inner.embed_queries(texts)

    def fingerprint(self) -> str:
        return self.inner.fingerprint()


# --------------------------------------------------------------------------- the engine


class CorpusChangeError(Exception):
    """A document could not be added or removed; the message is meant for users."""


class Engine:
    """The current retriever plus the operations that change the corpus behind it."""

    def __init__(self, retriever: Retriever, store_dir: Path, corpus_dir: Path, fake: bool) -> None:
        self.retriever = retriever
        self.store_dir = store_dir
        self.corpus_dir = corpus_dir
        self.fake = fake
        self._build_lock = threading.Lock()
        self._answerers: dict[int, Any] = {}  # per chat model, for the current retriever

    @classmethod
    def load(cls, store_dir: Path, corpus_dir: Path, fake: bool) -> Engine:
        """Open (building or refreshing if needed) the index with the real or the fake embedder."""
        embedder = LockedEmbedder(_fake_embedder() if fake else _real_embedder())
        retriever = load_retriever(store_dir, corpus_dir=corpus_dir, embedder=embedder, progress=False)
        return cls(retriever, store_dir, corpus_dir, fake)

    @property
    def embedder(self) -> Embedder:
        return self.retriever.embedder

    def summary(self) -> CorpusSummary:
        return summarise(self.retriever.store.manifest, len(self.retriever.chunks))

    def sources(self) -> list[str]:
        return sorted(self.retriever.store.manifest.get("documents", {}))

    def grounding_config(self) -> Any:
        """Fake vectors are far less sharp than E5's, so fake mode scales the cosine bounds to them."""
        if not self.fake:
            return None
        from rag.ground.config import GroundingConfig

        return GroundingConfig(
            dense_floor=0.5, dense_ceil=0.9, min_retrieval_cosine=0.3, min_question_support=0.0
        )

    def answerer(self, llm: Any) -> Any:
        """One Answerer per chat model and index, kept across questions: building one reads the
        index's vectors into the grounding cache and the corpus vocabulary, once."""
        from rag.answer import Answerer

        if llm is not None and not self.fake:
            self._render_llm = llm  # new uploads get their lines rendered in English with it
        current = self._answerers.get(id(llm))
        if current is None or current.llm is not llm or current.retriever is not self.retriever:
            current = self._answerers[id(llm)] = Answerer(self.retriever, llm, self.grounding_config())
        return current

    # -- corpus changes ---------------------------------------------------------------------------

    def rebuild(self, progress: Progress) -> BuildReport:
        """Re-index the corpus folder (only new/changed text is embedded) and swap the new index in."""
        embedder = ProgressEmbedder(self.embedder, progress)
        progress(0.0, "Reading the corpus…")
        self._render_new_lines(progress)
        report = build_store(self.corpus_dir, self.store_dir, embedder, progress=False)
        store = Store.load(self.store_dir, self.embedder.fingerprint())
        self.retriever = Retriever(store, self.embedder)
        progress(1.0, f"Index updated: {report.summary()}")
        return report

    def _render_new_lines(self, progress: Progress) -> None:
        """Checked English renderings of lines not rendered yet (rag.render), with the chat model once
        it is loaded; until then new lines are answered from their originals."""
        llm = getattr(self, "_render_llm", None)
        if llm is None or not settings.current().render:
            return
        from rag.render import render_corpus

        progress(0.02, "Rendering new lines in English (checked; ~10 s a line on two cores)…")
        report = render_corpus(self.corpus_dir, llm=llm, embedder=self.embedder, progress=False)
        progress(0.05, f"Renderings: {report.summary()}")

    def add_documents(self, accepted: Sequence[UploadCheck], progress: Progress) -> BuildReport:
        """Write the accepted uploads into the corpus folder and index them; undo the files if that fails."""
        with self._build_lock:
            try:
                previous = write_files(self.corpus_dir, accepted)
            except OSError as exc:  # nothing was kept: write_files undid its part
                log.exception("saving uploads failed")
                raise CorpusChangeError(f"The files could not be saved, nothing was added: {exc}") from exc
            try:
                return self.rebuild(progress)
            except Exception as exc:
                restore_files(self.corpus_dir, previous)
                log.exception("indexing uploads failed")
                raise CorpusChangeError(f"Indexing failed, the upload was undone: {exc}") from exc

    def remove_document(self, source: str, progress: Progress) -> BuildReport:
        """Delete one file from the corpus folder and rebuild; the last document cannot be removed."""
        with self._build_lock:
            path = self.corpus_dir / Path(source).name
            if not path.is_file():
                raise CorpusChangeError(f"{source} is no longer in the corpus folder.")
            if len(self.sources()) <= 1:
                raise CorpusChangeError(
                    "The last document cannot be removed: the assistant needs something to read."
                )
            data = path.read_bytes()
            path.unlink()
            try:
                return self.rebuild(progress)
            except Exception as exc:
                path.write_bytes(data)
                log.exception("re-indexing after removal failed")
                raise CorpusChangeError(f"Re-indexing failed, {source} was put back: {exc}") from exc


# --------------------------------------------------------------------------- models


def _real_embedder() -> Embedder:
    from rag.embeddings import load_embedder

    settings.set_offline()
    return load_embedder()


def _fake_embedder() -> Embedder:
    from rag.testing import FakeEmbedder

    return FakeEmbedder()


def load_llm(size: str, fake: bool) -> Any:
    """The chat model for `size` ("default" or "small"); raises rag.llm.ModelError with a readable message."""
    if fake:
        from rag.testing import EchoChatModel

        return EchoChatModel()
    from rag.generate import warm_prefix
    from rag.llm import load_chat_model

    settings.set_offline()
    model = load_chat_model(size)
    warm_prefix(model)  # the server loads before anyone asks: the first answer starts as fast as later ones
    return model
