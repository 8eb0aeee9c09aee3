"""Corpus loading: read text files line by line, keeping exact line numbers and document metadata.

A file may start with a ` date YYYY-MM` marker: it is metadata (the article date), not text,
so it is cut from line 1 while every line keeps its original number.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from rag.language import detect_language

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md")
DATE_MARKER = re.compile(r"^\s*date\s+(\d{4}-\d{2})(?:-\d{2})?\b\s*")
TITLE_MAX_CHARS = 120


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

    def line(self, number: int) -> str:
        return self.lines[number - 1]


def _looks_binary(raw: bytes) -> bool:
    return b"\x00" in raw[:4096]


def decode_file(path: Path) -> str | None:
    """UTF-8 text of `path`, or None (with a warning naming it) if it is binary or not UTF-8."""
    raw = path.read_bytes()
    if _looks_binary(raw):
        log.warning("skipping %s: binary file", path.name)
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        log.warning("skipping %s: not UTF-8 (%s)", path.name, exc.reason)
        return None


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


def corpus_files(folder: Path) -> list[Path]:
    """Indexable files of a folder, sorted by name so builds are reproducible."""
    if not folder.is_dir():
        raise CorpusError(f"corpus folder not found: {folder}")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def load_corpus(folder: Path) -> list[Document]:
    """Every readable .txt/.md document of `folder`; bad files are skipped with a warning."""
    files = corpus_files(folder)
    if not files:
        raise CorpusError(f"no .txt or .md files in {folder}")
    docs = []
    for path in files:
        text = decode_file(path)
        if text is None:
            continue
        if not text.strip():
            log.warning("skipping %s: empty file", path.name)
            continue
        docs.append(parse_document(path.name, text))
    if not docs:
        raise CorpusError(f"no indexable text in {folder}: every file was empty, binary or not UTF-8")
    return docs
