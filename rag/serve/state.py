"""What the server holds for its whole life: the page's Engine (index, embedder) and the chat models.

The Engine of app/engine.py is reused as is, so the server answers exactly like the chat page:
same index handling, same grounding settings, same corpus changes. Loading runs in a thread, so
the port answers (`/health` says "loading") while the models load.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from app import engine as page_engine
from rag.serve.config import ServeConfig
from rag.serve.errors import APIError
from rag.serve.queue import GenerationQueue

log = logging.getLogger(__name__)


class ServerState:
    """The engine, the loaded chat models and the generation queue; `status` is loading/ready/failed."""

    def __init__(self, config: ServeConfig, engine: page_engine.Engine | None = None,
                 llms: dict[str, Any] | None = None, queue: GenerationQueue | None = None) -> None:
        self.config = config
        self.engine = engine
        self.llms: dict[str, Any] = dict(llms or {})
        self.queue = queue or GenerationQueue(config.queue_size, page_engine.MODEL_LOCK)
        self.status = "ready" if engine is not None else "loading"
        self.error = ""
        self._llm_lock = threading.Lock()
        self._answerer_lock = threading.Lock()

    # -- loading ------------------------------------------------------------------------------------

    def start_loading(self) -> threading.Thread | None:
        if self.engine is not None:
            return None
        thread = threading.Thread(target=self._load, name="rag-serve-load", daemon=True)
        thread.start()
        return thread

    def _load(self) -> None:
        try:
            store, corpus = page_engine.data_dirs(self.config.fake)
            self.engine = page_engine.Engine.load(self.config.store_dir or store, self.config.corpus_dir or corpus,
                                                  self.config.fake)
            self.llm(self.config.preloaded_id)
            self.status = "ready"
            log.info("ready: %d documents, %d passages", *self.counts())
        except Exception as exc:  # shown by /health and every request, instead of a dead port
            log.exception("loading failed")
            self.error = f"{type(exc).__name__}: {exc}"
            self.status = "failed"

    def require_ready(self) -> page_engine.Engine:
        if self.status == "ready" and self.engine is not None:
            return self.engine
        if self.status == "failed":
            raise APIError(503, f"The server could not load its models or index: {self.error}", code="load_failed")
        raise APIError(503, "The server is still loading its models and index; try again shortly.",
                       code="loading", headers={"Retry-After": "5"})

    # -- models ---------------------------------------------------------------------------------------

    def llm(self, model_id: str) -> Any:
        """The chat model behind `model_id` ("default" or "small"), loaded on first use and kept."""
        with self._llm_lock:
            if model_id not in self.llms:
                self.llms[model_id] = page_engine.load_llm(self.config.model_source(model_id), self.config.fake)
            return self.llms[model_id]

    def answerer(self, model_id: str) -> Any:
        """The shared Answerer for a model id ("extractive": none), for the index serving now."""
        engine = self.require_ready()
        llm = None if model_id == "extractive" else self.llm(model_id)
        with self._answerer_lock:  # building one reads the index's vectors: once, not once per racing request
            return engine.answerer(llm)

    def counts(self) -> tuple[int, int]:
        """(documents, passages) of the index serving now."""
        if self.engine is None:
            return 0, 0
        return len(self.engine.sources()), len(self.engine.retriever.chunks)

    def model_name(self) -> str:
        return self.config.model if self.config.model in ("default", "small") else Path(self.config.model).name
