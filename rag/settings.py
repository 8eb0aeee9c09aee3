"""Every RAG_* environment variable, in one place (the README's "Settings" table lists them).

`current()` reads the environment afresh on each call, so tests and the page can relocate the
cache, index or corpus by setting a variable; a bad value is a clear SettingsError naming the
variable, never a silent fallback. The functions below it are the short accessors most code uses.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAX_QUESTION_CHARS = 2000


class SettingsError(ValueError):
    """An RAG_* variable holds a value that cannot be used."""


class Settings(BaseSettings):
    """The knobs a user may turn from the environment; field `x` is variable `RAG_X`."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_ignore_empty=True, extra="ignore", frozen=True)

    cache_dir: Path | None = Field(None, description="converted models, assembled GGUF files, prompt-prefix states")
    corpus: Path | None = Field(None, description="the folder of .txt/.md articles")
    store: Path | None = Field(None, description="the index folder")
    model: str = Field("default", description="LLM: default, small, or a path to a .gguf file")
    llm_threads: int | None = Field(None, gt=0, description="upper bound for llama.cpp threads")
    llm_helper: bool = Field(True, description="a second llama.cpp context for side tasks")
    torch_threads: int | None = Field(None, gt=0, description="torch threads for sentence-transformers")
    embedder: Literal["auto", "st"] = Field("auto", description="query embedder for one-shot commands")
    vector_backend: Literal["faiss", "milvus"] = Field("faiss", description="where the vectors live")
    milvus_uri: str | None = Field(None, description="a Milvus server URI; default a Milvus Lite file beside the index")
    api_key: str | None = Field(None, description="`rag serve`: the Bearer key every endpoint but /health needs")
    render: bool = Field(True, description="`rag index` first renders new non-English lines in English with the LLM")
    app_fake: bool = Field(False, description="the page runs on fake models (tests)")
    app_fake_delay: float = Field(0.0, ge=0, description="seconds per streamed word of the fake model")


def current() -> Settings:
    """The settings as the environment says now (parsed again only when an RAG_* variable changed)."""
    return _parse(tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("RAG_"))))


@lru_cache(maxsize=16)
def _parse(_environment: tuple[tuple[str, str], ...]) -> Settings:
    """`_environment` is only the cache key: pydantic-settings reads os.environ itself."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"RAG_{str(err['loc'][0]).upper()}={err.get('input')!r}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"bad environment setting: {problems}") from None


def cache_dir() -> Path:
    """Where converted models and assembled GGUF files live (never inside git)."""
    own = current().cache_dir
    if own is not None:
        return own.expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag-news"


def corpus_dir() -> Path:
    own = current().corpus
    return own.expanduser() if own is not None else PROJECT_ROOT / "seeds"


def store_dir() -> Path:
    own = current().store
    return own.expanduser() if own is not None else PROJECT_ROOT / "vectorstore" / "default"


def set_offline() -> None:
    """Model loading must never reach for a hub: there is no network here."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def vector_backend() -> str:
    """"faiss" (local files, the default) or "milvus" (RAG_VECTOR_BACKEND)."""
    return current().vector_backend


def milvus_uri(store: Path) -> str:
    """RAG_MILVUS_URI (a server such as http://host:19530), else a Milvus Lite file beside the index folder.

    Beside, not inside: the index folder is replaced by a fresh one on every build.
    """
    return current().milvus_uri or str(store.with_name(f"{store.name}.milvus.db"))
