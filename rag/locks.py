"""One inter-process lock per index folder: builds, swaps and crash recovery never interleave.

Readers take no lock on the normal path: a finished index is swapped in with renames, so a
reader sees the old folder or the new one. Only writers (build, swap, the recovery of an
interrupted swap, clean-up of dead build folders) hold it; a reader that finds the folder
mid-swap waits for it (see rag.store). The lock file sits beside the index folder, never inside
it, so swapping the folder never swaps the lock.

One FileLock object per lock file and process: filelock counts re-entrant holds per object, and
two objects on one file in one process would block each other (a build calling a load that waits
for the lock would then deadlock). Holds are per thread, so two threads still exclude each other.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

__all__ = ["DEFAULT_TIMEOUT_S", "StoreBusy", "acquire_or_explain", "lock_path", "store_lock"]

DEFAULT_TIMEOUT_S = 600.0

log = logging.getLogger(__name__)

_LOCKS: dict[str, FileLock] = {}
_LOCKS_GUARD = threading.Lock()


class StoreBusy(RuntimeError):
    """Another process held the index lock for longer than we were willing to wait."""


def lock_path(store_dir: Path) -> Path:
    """`vectorstore/.default.lock` for `vectorstore/default`."""
    return store_dir.with_name(f".{store_dir.name}.lock")


def _lock_of(store_dir: Path) -> FileLock:
    store_dir.parent.mkdir(parents=True, exist_ok=True)
    key = str(lock_path(store_dir.absolute()))
    with _LOCKS_GUARD:
        if key not in _LOCKS:
            _LOCKS[key] = FileLock(key)
        return _LOCKS[key]


def acquire_or_explain(store_dir: Path, timeout: float = DEFAULT_TIMEOUT_S) -> FileLock:
    """The lock, acquired (release it yourself); a clear StoreBusy instead of filelock's Timeout.

    When someone else holds it, say so before waiting: a silent ten-minute wait looks like a hang.
    """
    lock = _lock_of(store_dir)
    try:
        lock.acquire(timeout=0)
        return lock
    except Timeout:
        log.warning("waiting for another process to finish with the index at %s", store_dir)
    try:
        lock.acquire(timeout=timeout)
    except Timeout as exc:
        raise StoreBusy(f"another process is building the index at {store_dir} (lock "
                        f"{lock_path(store_dir)} held for over {timeout:.0f} s); try again later") from exc
    return lock


@contextmanager
def store_lock(store_dir: Path, timeout: float = DEFAULT_TIMEOUT_S) -> Iterator[FileLock]:
    """Hold the writer lock of `store_dir` for a `with` block (re-entrant within a thread)."""
    lock = acquire_or_explain(store_dir, timeout)
    try:
        yield lock
    finally:
        lock.release()
