"""The server's settings, gathered from the command line (and RAG_API_KEY) into one record."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.uploads import MAX_UPLOAD_BYTES

DEFAULT_QUEUE_SIZE = 4  # one answer running, three waiting: at ~6 s an answer, a 20 s wait at most

MODEL_IDS = ("default", "small", "extractive")  # what GET /v1/models lists, in this order
EMBEDDING_MODEL_IDS = ("e5", "multilingual-e5-small", "intfloat/multilingual-e5-small")

MAX_JSON_BYTES = 1024 * 1024  # a question is at most 2,000 characters; a megabyte leaves room for history
MAX_UPLOAD_FILES = 8
MAX_UPLOAD_BODY_BYTES = MAX_UPLOAD_FILES * MAX_UPLOAD_BYTES + 64 * 1024  # files plus multipart framing
MAX_EMBEDDING_INPUTS = 256
MAX_EMBEDDING_CHARS = 8000  # E5 reads 512 tokens; longer text is cut by the model anyway
MAX_SEARCH_K = 50


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    model: str = "default"  # preloaded: "default", "small", or a .gguf path (then served as "default")
    api_key: str | None = None
    queue_size: int = DEFAULT_QUEUE_SIZE
    cors_origins: tuple[str, ...] = ()
    store_dir: Path | None = None
    corpus_dir: Path | None = None
    fake: bool = False  # fake embedder and chat model (RAG_APP_FAKE=1), for tests and demos

    @property
    def preloaded_id(self) -> str:
        """The model id the `--model` choice serves."""
        return "small" if self.model == "small" else "default"

    def model_source(self, model_id: str) -> str:
        """What `load_llm` gets for a chat model id."""
        if model_id == self.preloaded_id:
            return self.model
        return model_id
