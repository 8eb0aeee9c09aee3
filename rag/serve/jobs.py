"""An answer computed in its own thread and handed to the event loop piece by piece.

The Answerer is synchronous (llama.cpp blocks); running it in a thread keeps the event loop free
for search and embeddings. Cancelling (the client went away) makes the model's next token raise
(see rag.serve.cancel), so the model is free again within one token; the pieces still in flight
are dropped.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from rag.serve.cancel import stop_model_when
from rag.serve.queue import Ticket

_DONE = object()


class AnswerJob:
    """Runs `produce()` (an iterator of str pieces, then the Answer) after its ticket's turn comes."""

    def __init__(self, produce: Callable[[], Iterator[Any]], ticket: Ticket | None,
                 loop: asyncio.AbstractEventLoop) -> None:
        self._produce = produce
        self._ticket = ticket
        self._loop = loop
        self._items: asyncio.Queue[Any] = asyncio.Queue()
        self._cancel = threading.Event()
        self.finished = threading.Event()

    def start(self) -> AnswerJob:
        threading.Thread(target=self._work, name="rag-serve-answer", daemon=True).start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _put(self, item: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self._items.put_nowait, item)
        except RuntimeError:  # the event loop is gone (server shutting down): nobody is listening
            pass

    def _work(self) -> None:
        try:
            if self._ticket is not None and not self._ticket.wait_turn(self._cancel.is_set):
                return
            if self.cancelled:
                return
            with stop_model_when(self._cancel):
                # Not closed early on cancel: closing a LangChain stream drains the model (see cancel.py).
                for item in self._produce():
                    if not self.cancelled:
                        self._put(item)
        except Exception as exc:  # handed to the request, which turns it into error JSON
            if not self.cancelled:
                self._put(exc)
        finally:
            if self._ticket is not None:
                self._ticket.release()
            self.finished.set()
            self._put(_DONE)

    async def items(self) -> AsyncIterator[Any]:
        """The pieces as they come; an exception raised in the thread is raised here."""
        while True:
            item = await self._items.get()
            if item is _DONE:
                return
            if isinstance(item, Exception):
                raise item
            yield item
