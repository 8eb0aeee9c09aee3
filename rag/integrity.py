"""Index integrity: a checksum of every index file in the manifest, checked on load, and clean-up
of what a killed build leaves behind.

Equal sizes prove nothing (garbage bytes inside `dense.faiss` gave silently wrong rankings, an
edited chunk table (`chunks.jsonl` then, `chunks.sqlite` now) put invented sentences behind real citations), so every file gets a BLAKE2b
digest (stdlib, ~1 GB/s). Files up to EAGER_BYTES are hashed before the index is used; bigger ones
(large vector files) are hashed in a background thread, so a large index still opens quickly,
and a mismatch is logged and kept for `problem()` to report.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ALGORITHM = "blake2b"
DIGEST_BYTES = 16
EAGER_BYTES = 64 * 1024 * 1024

_PROBLEMS: dict[str, str] = {}  # index folder -> what the background check found
_PROBLEMS_GUARD = threading.Lock()


class IntegrityError(Exception):
    """An index file is missing, or its size or checksum differs from the manifest's record."""


def digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=DIGEST_BYTES)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def index_checksums(folder: Path, manifest_name: str) -> dict[str, dict[str, Any]]:
    """{relative path: {"bytes", ALGORITHM}} for every file of a finished index except the manifest."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name != manifest_name:
            out[name] = {"bytes": path.stat().st_size, ALGORITHM: digest(path)}
    return out


def verify_index(folder: Path, recorded: dict[str, dict[str, Any]],
                 eager_bytes: int | None = None) -> list[str]:
    """Check sizes of all recorded files and digests of those up to `eager_bytes` (default EAGER_BYTES);
    return the bigger ones, left to check. Raises IntegrityError naming the first file that differs.
    """
    eager_bytes = EAGER_BYTES if eager_bytes is None else eager_bytes
    deferred = []
    for name, record in sorted(recorded.items()):
        path = folder / name
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise IntegrityError(f"{name} is missing ({exc.strerror})") from exc
        if size != record.get("bytes"):
            raise IntegrityError(f"{name} has {size} bytes, the manifest recorded {record.get('bytes')}")
        if size > eager_bytes:
            deferred.append(name)
        elif digest(path) != record.get(ALGORITHM):
            raise IntegrityError(f"{name} was modified after the index was built (checksum differs)")
    return deferred


def verify_in_background(folder: Path, recorded: dict[str, dict[str, Any]],
                         names: list[str]) -> threading.Thread:
    """Hash the deferred big files on a daemon thread; a mismatch is logged and kept for `problem()`."""

    def run() -> None:
        for name in names:
            try:
                same = digest(folder / name) == recorded[name].get(ALGORITHM)
            except OSError:
                return  # swapped away by a newer build: that one is checked when loaded
            if not same:
                message = (f"index {folder}: {name} was modified after it was built; "
                           "run `rag index` to rebuild it")
                log.error(message)
                with _PROBLEMS_GUARD:
                    _PROBLEMS[str(folder)] = message
                return

    with _PROBLEMS_GUARD:
        _PROBLEMS.pop(str(folder), None)
    thread = threading.Thread(target=run, name=f"verify {folder.name}", daemon=True)
    thread.start()
    return thread


def problem(folder: Path) -> str | None:
    """What the background check of `folder` found wrong, if anything."""
    with _PROBLEMS_GUARD:
        return _PROBLEMS.get(str(folder))


def dead_builds(store_dir: Path) -> list[Path]:
    """Build folders beside the index (`.<name>.building-*`). Only dead ones exist while the lock is held."""
    if not store_dir.parent.is_dir():
        return []
    return sorted(p for p in store_dir.parent.glob(f".{store_dir.name}.building-*") if p.is_dir())


def remove_dead_builds(store_dir: Path) -> list[str]:
    """Delete what killed builds left behind; call only while holding the store lock."""
    removed = []
    for folder in dead_builds(store_dir):
        shutil.rmtree(folder, ignore_errors=True)
        log.warning("removed %s, left by an interrupted build", folder.name)
        removed.append(folder.name)
    return removed
