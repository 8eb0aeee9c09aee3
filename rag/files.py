"""File primitives shared by everything that writes into the cache: atomic publish and hashing.

A reader (another process, or this one after a crash) must see either the old file or folder or
the finished new one, never a half-written one. Writing beside the target and renaming it into
place gives that on POSIX file systems, because a rename within one folder is atomic.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

_HASH_BLOCK = 1 << 20


@contextlib.contextmanager
def publish_atomically(target: Path, *, folder: bool = False) -> Iterator[Path]:
    """A temporary path beside `target` to write into; renamed onto `target` when the block succeeds.

    With `folder=True` the temporary path is an empty directory (readable like an installed
    package, unlike mkdtemp's 0700) and an existing `target` folder is replaced; otherwise the
    caller creates the file, which is flushed to disk before the rename. If the block raises,
    the temporary path is removed and `target` is left as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if folder:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        os.chmod(tmp, 0o755)
    else:
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        if folder:
            _replace_folder(tmp, target)
        else:
            _fsync(tmp)
            os.replace(tmp, target)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """Data on disk before the rename: otherwise a power cut can leave a renamed but empty file."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _replace_folder(tmp: Path, target: Path) -> None:
    """rename() cannot replace a non-empty folder: move the old one aside first, then drop it."""
    try:
        os.rename(tmp, target)
        return
    except OSError:
        if not target.exists():
            raise
    old = target.with_name(f".{target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    os.rename(target, old)
    os.rename(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def write_text_atomically(target: Path, text: str) -> None:
    """Small metadata files (manifests): never seen half-written."""
    with publish_atomically(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def sha256_of(path: Path, on_block: Callable[[int], None] | None = None) -> str:
    """SHA-256 of a file, read in blocks; `on_block(n)` reports progress for big files."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
            if on_block is not None:
                on_block(len(block))
    return digest.hexdigest()


@lru_cache(maxsize=8)
def _sha256_memo(path: str, size: int, mtime_ns: int) -> str:
    return sha256_of(Path(path))


def file_sha256(path: Path) -> str:
    """sha256 of a file, memoised per (path, size, mtime) so repeated calls cost a stat."""
    st = Path(path).stat()
    return _sha256_memo(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
