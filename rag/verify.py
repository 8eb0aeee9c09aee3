"""Re-checking a cited line against its source file before it is shown as a quote.

The index is a copy; the file is the truth. A quote taken from the chunk table could have been
edited there, or the file changed after indexing (a one-shot `rag ask` does not rebuild), and
an invented sentence would then be shown as coming from `file:line`. So presenters ask
`line_matches_source` first. The file is read the way the indexer reads it (same decoding,
line splitting, date marker and line-length cut), and kept cached while its size and mtime hold.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from rag.corpus import MAX_LINE_CHARS, read_limited, split_date_marker

__all__ = ["line_matches_source", "source_lines"]


def _same(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@functools.lru_cache(maxsize=64)
def _lines(path: str, size: int, mtime_ns: int) -> tuple[str, ...] | None:
    raw, _ = read_limited(Path(path))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if lines:
        lines[0] = split_date_marker(lines[0])[1]
    return tuple(lines)


def source_lines(corpus_dir: Path, source: str) -> tuple[str, ...] | None:
    """The lines of `source` as the indexer saw them, or None when it is not a readable file of the folder."""
    if not source or source != Path(source).name or source.startswith("."):
        return None  # a citation names a file of the folder itself, never a path
    path = Path(corpus_dir) / source
    try:
        root = Path(corpus_dir).resolve()
        if not path.resolve(strict=True).is_relative_to(root):
            return None
        info = os.stat(path)
    except (OSError, RuntimeError):
        return None
    return _lines(str(path), info.st_size, info.st_mtime_ns)


def _line_matches(cited: str, actual: str) -> bool:
    cited, actual = _same(cited), _same(actual)
    if cited == actual:
        return True
    # a line over the limit is indexed (and quoted) as its start: the quote must be that start
    return len(actual) > MAX_LINE_CHARS and len(cited) >= MAX_LINE_CHARS // 2 and actual.startswith(cited)


def line_matches_source(corpus_dir: Path, source: str, line_no: int, text: str) -> bool:
    """Whether `text` is what `source` holds at line `line_no` (1-based) today.

    `text` may span several lines ("\\n"-joined, as chunks and multi-line citations are); each
    must equal its line, spaces aside. A missing file or a line past its end is no match.
    """
    lines = source_lines(corpus_dir, source)
    cited = text.split("\n")
    if lines is None or line_no < 1 or line_no - 1 + len(cited) > len(lines) or not text.strip():
        return False
    return all(_line_matches(c, lines[line_no - 1 + i]) for i, c in enumerate(cited))
