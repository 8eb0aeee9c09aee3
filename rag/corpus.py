"""Corpus loading: read text files line by line, keeping exact line numbers and document metadata.

A file may start with a ` date YYYY-MM` marker: it is metadata (the article date), not text,
so it is cut from line 1 while every line keeps its original number.

Only regular files inside the folder are read: a symlink is followed only when it stays inside
the folder (a link to /etc/passwd would otherwise be indexed and searchable). Everything left out
(nested folders, FIFOs, symlink loops, outside links, binary or non-UTF-8 files) is named in the
`skipped` report, and text past the size limits is cut at a line end and reported, never silently.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from rag.language import detect_language

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md")
DATE_MARKER = re.compile(r"^\s*date\s+(\d{4}-\d{2})(?:-\d{2})?\b\s*")
TITLE_MAX_CHARS = 120
# Limits: far above any news article, low enough that one odd file cannot swamp the machine (a 20 MB
# file took 1.8 GB of memory; a single 1 MB line became a 1 MB chunk and a 1 MB search hit).
MAX_FILE_BYTES = 5_000_000  # only the whole lines within the first 5 MB of a file are indexed
MAX_LINE_CHARS = 3000  # a longer line is indexed as its first 3,000 characters (cut at a space)


class CorpusError(Exception):
    """The corpus cannot be indexed (missing folder, no readable text)."""


@dataclass
class Document:
    """One source file: its lines (1-based numbering preserved) and metadata."""

    source: str  # file name, unique within the corpus folder
    lines: list[str]  # index i holds line i+1, date marker removed
    sha256: str
    date: str = ""
    lang: str = ""
    title: str = ""
    skipped_lines: dict[int, str] = field(default_factory=dict)  # line -> why it isn't indexed
    cut_lines: dict[int, int] = field(default_factory=dict)  # line -> its full length, when cut
    cut_after_line: int = 0  # when the file was over MAX_FILE_BYTES: the last line indexed
    file_bytes: int = 0
    duplicate_of: str = ""  # set by rag.boilerplate when this document repeats an earlier one

    def line(self, number: int) -> str:
        return self.lines[number - 1]


def _looks_binary(raw: bytes) -> bool:
    return b"\x00" in raw[:4096]


def decode_file(path: Path) -> str | None:
    """UTF-8 text of `path`, or None (with a warning naming it) if it is binary or not UTF-8."""
    text, problem = _decode(path.name, path.read_bytes())
    if text is None:
        log.warning("skipping %s: %s", path.name, problem)
    return text


def split_date_marker(first_line: str) -> tuple[str, str]:
    """(date, rest of the line) when line 1 carries a ` date YYYY-MM` marker, else ("", line)."""
    match = DATE_MARKER.match(first_line)
    if not match:
        return "", first_line
    return match.group(1), first_line[match.end():]


def guess_title(lines: list[str]) -> str:
    """The first non-empty line, cut at a sentence end or TITLE_MAX_CHARS: good enough to show users."""
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    if len(first) <= TITLE_MAX_CHARS:
        return first
    cut = re.split(r"(?<=[.!?”\"])\s", first, maxsplit=1)[0]
    return cut if len(cut) <= TITLE_MAX_CHARS else first[:TITLE_MAX_CHARS].rsplit(" ", 1)[0] + "…"


def parse_document(name: str, text: str) -> Document:
    """Build a Document from raw text, reading the date marker and detecting the language."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a trailing newline does not make an extra line
    date = ""
    if lines:
        date, lines[0] = split_date_marker(lines[0])
    body = " ".join(ln for ln in lines if ln.strip())
    return Document(
        source=name,
        lines=lines,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        date=date,
        lang=detect_language(body[:4000], default="") if body else "",
        title=guess_title(lines),
    )


def _entry_problem(path: Path, root: Path) -> str | None:
    """Why a folder entry is not read as a document (None: it is a regular file inside the folder)."""
    try:
        info = path.lstat()
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if stat.S_ISLNK(info.st_mode):
        try:
            target = path.resolve(strict=True)
        except RuntimeError:
            return "symlink loop"
        except OSError:
            return "broken symlink"
        if not target.is_relative_to(root):
            return f"symlink to {target}, outside the corpus folder"
        info = target.stat()
    if stat.S_ISDIR(info.st_mode):
        return "folder (nested folders are not read)"
    if not stat.S_ISREG(info.st_mode):
        kind = "FIFO" if stat.S_ISFIFO(info.st_mode) else "socket" if stat.S_ISSOCK(info.st_mode) \
            else "device"
        return f"not a regular file ({kind})"
    return None


def scan_folder(folder: Path) -> tuple[list[Path], dict[str, str]]:
    """(indexable .txt/.md files sorted by name, {entry name: why it was skipped}).

    Hidden entries (".git", upload temp files) and regular files with another suffix are not
    documents by design and are not reported; anything else left out is.
    """
    if not folder.is_dir():
        raise CorpusError(f"corpus folder not found: {folder}")
    root = folder.resolve()
    files: list[Path] = []
    skipped: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        problem = _entry_problem(path, root)
        if problem is None and path.suffix.lower() not in SUFFIXES:
            continue
        if problem:
            skipped[path.name] = problem
        else:
            files.append(path)
    return files, skipped


def corpus_files(folder: Path) -> list[Path]:
    """Indexable files of a folder, sorted by name so builds are reproducible."""
    return scan_folder(folder)[0]


def read_limited(path: Path, limit: int | None = None) -> tuple[bytes, int]:
    """(the file's bytes up to `limit` (MAX_FILE_BYTES), cut after the last full line; the file's size)."""
    limit = MAX_FILE_BYTES if limit is None else limit
    size = os.stat(path).st_size
    with open(path, "rb") as fh:
        raw = fh.read(limit + 1 if size > limit else size)
    if len(raw) > limit:
        raw = raw[:limit]
        end = raw.rfind(b"\n")
        raw = raw[: end + 1] if end >= 0 else b""
    return raw, size


def _decode(name: str, raw: bytes) -> tuple[str | None, str]:
    """(text, "") or (None, why it cannot be read as text)."""
    if _looks_binary(raw):
        return None, "binary file"
    try:
        return raw.decode("utf-8-sig"), ""
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 ({exc.reason})"


def cut_long_lines(doc: Document, limit: int | None = None) -> None:
    """Cut lines over `limit` (MAX_LINE_CHARS) characters to a prefix ending at a space; record their length."""
    limit = MAX_LINE_CHARS if limit is None else limit
    for i, line in enumerate(doc.lines):
        if len(line) > limit:
            cut = line[:limit]
            space = cut.rfind(" ")
            doc.lines[i] = cut[:space] if space > limit // 2 else cut
            doc.cut_lines[i + 1] = len(line)


def read_document(path: Path) -> tuple[Document | None, str]:
    """(the Document within the size limits, "") or (None, why the file was skipped)."""
    raw, size = read_limited(path)
    text, problem = _decode(path.name, raw)
    if text is None:
        return None, problem
    if not text.strip():
        return None, "empty file" if size <= MAX_FILE_BYTES else "first line longer than the file size limit"
    doc = parse_document(path.name, text)
    doc.file_bytes = size
    if size > MAX_FILE_BYTES:
        doc.cut_after_line = len(doc.lines)
    cut_long_lines(doc)
    return doc, ""


def limit_notes(docs: list[Document]) -> list[str]:
    """One sentence per cut the limits made, for `rag index` and the page to show."""
    notes = []
    for doc in docs:
        if doc.cut_after_line:
            notes.append(f"{doc.source}: only lines 1-{doc.cut_after_line} indexed (the file has "
                         f"{doc.file_bytes / 1e6:.1f} MB; the limit is {MAX_FILE_BYTES / 1e6:g} MB)")
        for number, length in sorted(doc.cut_lines.items()):
            notes.append(f"{doc.source}:{number}: line cut to its first {len(doc.line(number)):,} of "
                         f"{length:,} characters")
    return notes


def load_corpus(folder: Path, skipped: dict[str, str] | None = None) -> list[Document]:
    """Every readable .txt/.md document of `folder`; what is left out is logged and added to `skipped`."""
    files, left_out = scan_folder(folder)
    for path in files:
        if path.stat().st_size > 1024 * 1024:
            log.warning("reading %s (%.1f MB)", path.name, path.stat().st_size / 1e6)
    docs = []
    for path in files:
        doc, problem = read_document(path)
        if doc is None:
            left_out[path.name] = problem
        else:
            docs.append(doc)
    for name, why in left_out.items():
        log.warning("skipping %s: %s", name, why)
    if skipped is not None:
        skipped.update(left_out)
    if not files:
        raise CorpusError(f"no .txt or .md files in {folder}")
    if not docs:
        raise CorpusError(f"no indexable text in {folder}: every file was empty, binary or not UTF-8")
    return docs
