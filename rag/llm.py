"""The local LLM, loaded once per process: a GGUF file from rag.gguf as a rag.llama_chat chat model.

The pieces live by concern: rag.gguf (which model files exist, assembling them from wheels),
rag.artifacts (verifying and rebuilding cached files), rag.llama_chat (the LangChain chat class),
rag.threads (how many cores to use). This module is the entry point the rest of the code calls.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from rag.gguf import MODELS, ModelError, ModelSpec, models_dir, part_paths, resolve_model_path
from rag.threads import max_threads, pick_threads

if TYPE_CHECKING:  # keep `import rag.llm` cheap: llama.cpp and LangChain load only when a model does
    from rag.llama_chat import LlamaCppChatModel

__all__ = ["MODELS", "ModelError", "ModelSpec", "load_chat_model", "max_threads", "models_dir", "part_paths",
           "pick_threads", "resolve_model_path"]

_LOADED: dict[tuple[str, int | None, int, int], LlamaCppChatModel] = {}
_LOAD_LOCK = threading.Lock()


def load_chat_model(
    model: str | None = None, n_threads: int | None = None, n_ctx: int = 4096, max_tokens: int = 320
) -> LlamaCppChatModel:
    """The chat model for `model`, loaded once per process (weights, KV cache and all) and reused.

    `n_threads=None` adapts per call between 1 and `max_threads()` to the machine's load;
    an explicit number is used as is.
    """
    path = resolve_model_path(model)
    key = (str(path), n_threads, n_ctx, max_tokens)
    with _LOAD_LOCK:
        if key not in _LOADED:
            _LOADED[key] = _build_chat_model(path, n_threads, n_ctx, max_tokens)
        return _LOADED[key]


def _build_chat_model(path: Path, n_threads: int | None, n_ctx: int, max_tokens: int) -> LlamaCppChatModel:
    from rag.llama_chat import LlamaCppChatModel

    return LlamaCppChatModel(
        model_path=str(path),
        adaptive_threads=n_threads is None,
        max_threads=n_threads or max_threads(),
        n_ctx=n_ctx,
        max_tokens=max_tokens,
    )
