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
