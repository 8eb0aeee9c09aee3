"""One inter-process lock per index folder: builds, swaps and crash recovery never interleave.

Readers take no lock: a finished index is swapped in with renames, so a reader sees the old folder
or the new one. Only writers (build, swap, the recovery of an interrupted swap, clean-up of dead
build folders) hold it. The lock file sits beside the index folder, never inside it, so swapping
the folder never swaps the lock.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

__all__ = ["DEFAULT_TIMEOUT_S", "StoreBusy", "lock_path", "store_lock"]

DEFAULT_TIMEOUT_S = 600.0


class StoreBusy(RuntimeError):
    """Another process held the index lock for longer than we were willing to wait."""


def lock_path(store_dir: Path) -> Path:
    """`vectorstore/.default.lock` for `vectorstore/default`."""
    return store_dir.with_name(f".{store_dir.name}.lock")


def store_lock(store_dir: Path, timeout: float = DEFAULT_TIMEOUT_S) -> FileLock:
    """The writer lock of `store_dir` (re-entrant within a process; use as a context manager)."""
    store_dir.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(lock_path(store_dir)), timeout=timeout)


def acquire_or_explain(store_dir: Path, timeout: float = DEFAULT_TIMEOUT_S) -> FileLock:
    """The lock, acquired; a clear StoreBusy instead of filelock's Timeout when it cannot be had."""
    lock = store_lock(store_dir, timeout)
    try:
        lock.acquire()
    except Timeout as exc:
        raise StoreBusy(f"another process is building the index at {store_dir} "
                        f"(lock {lock_path(store_dir)} held for over {timeout:.0f} s); try again later") from exc
    return lock
