"""Stopping a model answer mid-stream when its client has gone.

Closing LangChain's stream does not stop the model: on close, the output parser drains the
model's remaining tokens (for its run trace), so a hung-up answer would still run to its end.
Instead, a callback handler, installed for the job's thread through LangChain's configure hook
(a context variable, so other threads are unaffected), raises at the model's next token once the
job is cancelled; the exception unwinds the model's generator like any model error.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tracers.context import register_configure_hook


class GenerationCancelled(Exception):
    """Raised inside the model's stream: the client disconnected."""


class StopWhenCancelled(BaseCallbackHandler):
    raise_error = True  # LangChain swallows handler errors unless asked not to

    def __init__(self, cancelled: threading.Event) -> None:
        self.cancelled = cancelled

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        if self.cancelled.is_set():
            raise GenerationCancelled("the client disconnected; generation stopped")


_HANDLER: ContextVar[StopWhenCancelled | None] = ContextVar("rag_serve_stop_when_cancelled", default=None)
register_configure_hook(_HANDLER, inheritable=True)


@contextlib.contextmanager
def stop_model_when(cancelled: threading.Event) -> Iterator[None]:
    """Within this block (this thread), every LangChain model run stops at `cancelled`."""
    token = _HANDLER.set(StopWhenCancelled(cancelled))
    try:
        yield
    finally:
        _HANDLER.reset(token)
