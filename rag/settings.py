"""Paths and knobs, overridable from the environment (RAG_*), so tests and apps can relocate them."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def cache_dir() -> Path:
    """Where converted models and assembled GGUF files live (never inside git)."""
    xdg = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return _env_path("RAG_CACHE_DIR", xdg / "rag-news")


def corpus_dir() -> Path:
    return _env_path("RAG_CORPUS", PROJECT_ROOT / "seeds")


def store_dir() -> Path:
    return _env_path("RAG_STORE", PROJECT_ROOT / "vectorstore" / "default")


def set_offline() -> None:
    """Model loading must never reach for a hub: there is no network here."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


MAX_QUESTION_CHARS = 2000


def vector_backend() -> str:
    """"faiss" (local files, the default) or "milvus" (RAG_VECTOR_BACKEND)."""
    value = os.environ.get("RAG_VECTOR_BACKEND", "").strip().lower() or "faiss"
    if value not in ("faiss", "milvus"):
        raise ValueError(f"RAG_VECTOR_BACKEND must be 'faiss' or 'milvus', not {value!r}")
    return value


def milvus_uri(store: Path) -> str:
    """RAG_MILVUS_URI (a server such as http://host:19530), else a Milvus Lite file beside the index folder.

    Beside, not inside: the index folder is replaced by a fresh one on every build.
    """
    return os.environ.get("RAG_MILVUS_URI") or str(store.with_name(f"{store.name}.milvus.db"))
