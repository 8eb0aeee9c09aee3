"""A bounded, thread-safe least-recently-used map: every in-process cache of the project uses it.

Chat sessions share caches across threads, and a corpus of a few hundred articles holds more
distinct lines than any fixed bound, so a lookup must never assume an entry it saw a moment ago
is still there: `get_many` returns what is present now, and callers compute the rest.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """LRU map holding at most `max_items` entries; all methods are atomic under one lock."""

    def __init__(self, max_items: int) -> None:
        if max_items < 1:
            raise ValueError("a cache must hold at least one item")
        self.max_items = max_items
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data

    def get(self, key: K) -> V | None:
        with self._lock:
            if key not in self._data:
                return None
            self._data.move_to_end(key)
            return self._data[key]

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The entries of `keys` present now (a snapshot: later eviction cannot take them back)."""
        found: dict[K, V] = {}
        with self._lock:
            for key in keys:
                if key in self._data:
                    self._data.move_to_end(key)
                    found[key] = self._data[key]
        return found

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_items:
                self._data.popitem(last=False)

    def put_many(self, items: Iterable[tuple[K, V]]) -> None:
        for key, value in items:
            self.put(key, value)

    def put_if_room(self, key: K, value: V) -> bool:
        """Add without evicting anything (for pre-seeding); False when full or already present."""
        with self._lock:
            if key in self._data or len(self._data) >= self.max_items:
                return False
            self._data[key] = value
            return True

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
