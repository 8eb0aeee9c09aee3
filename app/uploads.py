"""Checking uploaded files before they enter the corpus folder, and writing them safely.

The indexer would skip a binary or non-UTF-8 file with only a log line; users deserve to hear
why their upload was refused, so the same rules are checked here first, with messages.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.corpus import SUFFIXES

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # far above any news article; a bigger file is a mistake
# File systems allow 255 bytes per name (a 300-character name crashed the page with ENAMETOOLONG);
# the stem is kept well below that, leaving room for the suffix and the ".NAME.upload" temp file.
MAX_STEM_BYTES = 120


@dataclass(frozen=True)
class UploadCheck:
    """The verdict on one uploaded file: `ok` files are written as `name` with `data`."""

    name: str
    data: bytes
    ok: bool
    message: str
    replaces: bool = False


def safe_name(name: str) -> str:
    """The base name with path parts dropped and odd characters replaced, so it stays inside the folder.

    A stem over MAX_STEM_BYTES (UTF-8) is cut and given a short hash of the full name, so two long
    names that differ only at the end stay two files.
    """
    base = Path(name.replace("\\", "/")).name.strip()
    stem, suffix = os.path.splitext(base)
    stem = re.sub(r"[^\w.\-]+", "_", stem).strip("._") or "document"
    suffix = suffix.lower() if len(suffix) <= 10 else ""
    if len(stem.encode("utf-8")) > MAX_STEM_BYTES:
        tag = hashlib.blake2b(base.encode("utf-8"), digest_size=4).hexdigest()
        cut = stem.encode("utf-8")[: MAX_STEM_BYTES - len(tag) - 1].decode("utf-8", "ignore").rstrip("._-")
        stem = f"{cut}-{tag}"
    return f"{stem}{suffix}"


def _renamed(name: str, target: str) -> str:
    """" (saved as X)" when the stored name is not simply the uploaded one cleaned up."""
    return f" (name shortened to {target})" if len(Path(name).name) > len(target) + 20 else ""


def text_problem(data: bytes) -> str | None:
    """Why `data` cannot be indexed as text, or None when it can."""
    if len(data) > MAX_UPLOAD_BYTES:
        return f"is too large ({len(data) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES // (1024 * 1024)} MB)"
    if b"\x00" in data[:4096]:
        return "looks like a binary file, not text"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "is not UTF-8 text (save it as UTF-8 and upload again)"
    if not text.strip():
        return "is empty"
    return None


def check_upload(name: str, data: bytes, corpus_dir: Path, replace: bool = False) -> UploadCheck:
    """Accept a .txt/.md UTF-8 file; an existing file is only replaced when the user asked for it."""
    target = safe_name(name)
    shown = name if len(name) <= 80 else f"{name[:60]}…{name[-12:]}"
    if Path(target).suffix not in SUFFIXES:
        return UploadCheck(target, data, False, f"{shown}: only .txt and .md files can be added")
    problem = text_problem(data)
    if problem:
        return UploadCheck(target, data, False, f"{shown} {problem}")
    existing = corpus_dir / target
    if existing.exists():
        if existing.read_bytes() == data:
            return UploadCheck(target, data, False, f"{target} is already in the corpus (same content)")
        if not replace:
            return UploadCheck(
                target,
                data,
                False,
                f"{target} already exists with different content; tick "
                "“Replace files with the same name” to overwrite it",
            )
        return UploadCheck(target, data, True, f"{target}: replaced", replaces=True)
    return UploadCheck(target, data, True, f"{target}: added{_renamed(name, target)}")


def check_uploads(
    files: Iterable[tuple[str, bytes]], corpus_dir: Path, replace: bool = False
) -> list[UploadCheck]:
    """Check each file; a second upload with the same target name in one batch is refused."""
    seen: set[str] = set()
    out = []
    for name, data in files:
        check = check_upload(name, data, corpus_dir, replace)
        if check.ok and check.name in seen:
            check = UploadCheck(
                check.name, data, False, f"{name}: another file in this upload has the same name"
            )
        seen.add(check.name)
        out.append(check)
    return out


def write_files(corpus_dir: Path, accepted: Sequence[UploadCheck]) -> dict[str, bytes | None]:
    """Write each accepted file atomically; returns what was there before (None = new) for undoing.

    If one cannot be written (disk full, a name the file system refuses) the ones already
    written are undone and the OSError is raised: an upload lands whole or not at all.
    """
    previous: dict[str, bytes | None] = {}
    try:
        for check in accepted:
            target = corpus_dir / check.name
            before = target.read_bytes() if target.exists() else None
            tmp = corpus_dir / f".{check.name}.upload"
            try:
                tmp.write_bytes(check.data)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
            previous[check.name] = before
    except OSError:
        restore_files(corpus_dir, previous)
        raise
    return previous


def restore_files(corpus_dir: Path, previous: dict[str, bytes | None]) -> None:
    """Put the folder back as `write_files` found it."""
    for name, data in previous.items():
        target = corpus_dir / name
        if data is None:
            target.unlink(missing_ok=True)
        else:
            target.write_bytes(data)


def index_findings(report: Any, names: Iterable[str]) -> list[str]:
    """What indexing did to the uploaded files beyond adding them (`report` is a rag.index_build.BuildReport):
    the size limits' cuts, a copy of a document already there, lines flagged as instructions."""
    names = set(names)
    notes = [note for note in report.cut if note.split(":", 1)[0] in names]
    notes += [f"{copy} repeats {original}, which is already indexed: it is kept once, cited as {original}"
              for copy, original in report.duplicates.items() if copy in names or original in names]
    notes += [f"{source}: {'lines' if len(lines) > 1 else 'line'} {', '.join(map(str, lines))} "
              f"{'address' if len(lines) > 1 else 'addresses'} an assistant; searchable as data, but never "
              "the only support of an answer"
              for source, lines in report.flagged.items() if source in names]
    notes += [f"{name} was not indexed: {why}" for name, why in report.skipped.items() if name in names]
    return notes
