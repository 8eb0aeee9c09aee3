"""One llama.cpp model, many clients: generations take turns, and only a bounded number may wait.

A request is admitted (or refused with 429 and a Retry-After estimate) before any response starts,
so a full server answers at once instead of hanging. Admitted requests take the model lock in
arrival order; one whose client has gone stops waiting.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from rag.serve.errors import APIError

_RECENT = 20  # generations averaged for the Retry-After estimate
_DEFAULT_SECONDS = 8.0  # before anything was measured: a typical model answer on two cores
_POLL_S = 0.1


class QueueFull(APIError):
    def __init__(self, retry_after: int, capacity: int) -> None:
        super().__init__(429, f"The model is busy: {capacity} answers are already running or waiting. "
                              f"Retry in about {retry_after} s.",
                         code="queue_full", headers={"Retry-After": str(retry_after)})


class GenerationQueue:
    """Admits at most `capacity` generations at once; `lock` is held while one uses the model."""

    def __init__(self, capacity: int, lock: Any) -> None:
        self.capacity = max(1, int(capacity))
        self.lock = lock
        self._admitted = 0
        self._guard = threading.Lock()
        self._durations: deque[float] = deque(maxlen=_RECENT)

    @property
    def admitted(self) -> int:
        """Running plus waiting."""
        return self._admitted

    def admit(self) -> Ticket:
        with self._guard:
            if self._admitted >= self.capacity:
                raise QueueFull(self.retry_after(), self.capacity)
            self._admitted += 1
        return Ticket(self)

    def retry_after(self) -> int:
        """Seconds until a place is likely free: the recent mean answer time, times the answers ahead."""
        mean = sum(self._durations) / len(self._durations) if self._durations else _DEFAULT_SECONDS
        return max(1, min(300, math.ceil(mean * max(1, self._admitted) / self.capacity)))

    def _leave(self, seconds: float | None) -> None:
        with self._guard:
            self._admitted -= 1
            if seconds is not None:
                self._durations.append(seconds)


class Ticket:
    """One admitted request's place: `wait_turn` takes the model lock, `release` gives both back."""

    def __init__(self, queue: GenerationQueue) -> None:
        self.queue = queue
        self._locked = False
        self._released = False
        self._started: float | None = None

    def wait_turn(self, cancelled: Callable[[], bool]) -> bool:
        """Block until the model is ours (True), or until `cancelled()` says the client left (False)."""
        while not self.queue.lock.acquire(timeout=_POLL_S):
            if cancelled():
                return False
        self._locked = True
        self._started = time.perf_counter()
        return True

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        took = None if self._started is None else time.perf_counter() - self._started
        if self._locked:
            self.queue.lock.release()
        self.queue._leave(took)
