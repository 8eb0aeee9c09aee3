"""Chunks on disk in SQLite, read by row on demand: opening a million-paragraph index reads nothing.

Row i of the table is row i of every vector array and of the keyword index. Beside it,
`columns.npy` holds what filtering and the neighbour lift need for every row as fixed-width
numbers (language, source, date, previous and next paragraph), memory-mapped, so a filter over a
million rows is one numpy expression instead of a million Chunk objects.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, overload

import numpy as np

from rag.cache import BoundedCache
from rag.types import Chunk

TABLE = "chunks.sqlite"
COLUMNS = "columns.npy"
COLUMN_DTYPE = np.dtype([("lang", "i2"), ("source", "i4"), ("date", "i4"), ("prev", "i4"), ("next", "i4")])
_FIELDS = ("source", "start_line", "end_line", "text", "section", "title", "date", "lang")
_READ_BATCH = 2000
CACHED_CHUNKS = 4096


def date_number(date: str) -> int:
    """"2021-12" -> 202112; "" -> 0 (undated)."""
    digits = date[:7].replace("-", "")
    return int(digits) if len(digits) == 6 and digits.isdigit() else 0


def write_chunk_table(folder: Path, chunks: Sequence[Chunk]) -> None:
    """Write chunks.sqlite (rows, sources, languages) and columns.npy for `chunks` in row order."""
    sources = {name: i for i, name in enumerate(dict.fromkeys(c.source for c in chunks))}
    langs = {code: i for i, code in enumerate(sorted({c.lang for c in chunks}))}
    with closing(sqlite3.connect(folder / TABLE)) as db, db:  # closed, and committed on success
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("CREATE TABLE chunks (row INTEGER PRIMARY KEY, source TEXT, start_line INTEGER, "
                   "end_line INTEGER, text TEXT, section TEXT, title TEXT, date TEXT, lang TEXT)")
        db.execute("CREATE TABLE sources (id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
        db.execute("CREATE TABLE langs (id INTEGER PRIMARY KEY, code TEXT UNIQUE)")
        db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?)",
                       ((i, *(getattr(c, f) for f in _FIELDS)) for i, c in enumerate(chunks)))
        db.executemany("INSERT INTO sources VALUES (?,?)", ((i, s) for s, i in sources.items()))
        db.executemany("INSERT INTO langs VALUES (?,?)", ((i, code) for code, i in langs.items()))
        db.execute("CREATE INDEX chunk_span ON chunks (source, start_line, end_line)")
    columns = np.lib.format.open_memmap(folder / COLUMNS, mode="w+", dtype=COLUMN_DTYPE, shape=(len(chunks),))
    columns["lang"] = [langs[c.lang] for c in chunks]
    columns["source"] = [sources[c.source] for c in chunks]
    columns["date"] = [date_number(c.date) for c in chunks]
    columns["prev"], columns["next"] = adjacent_rows(chunks).T
    columns.flush()
    del columns


def adjacent_rows(chunks: Sequence[Chunk]) -> np.ndarray:
    """[n, 2]: the row of the paragraph before and after each chunk in its file, -1 at either end."""
    out = np.full((len(chunks), 2), -1, dtype=np.int64)
    order = sorted(range(len(chunks)), key=lambda i: (chunks[i].source, chunks[i].start_line))
    for a, b in zip(order, order[1:]):
        if chunks[a].source == chunks[b].source:
            out[a, 1], out[b, 0] = b, a
    return out


class ChunkTable(Sequence[Chunk]):
    """A read-only, thread-safe sequence of the index's chunks, fetched from SQLite by row."""

    def __init__(self, folder: Path) -> None:
        file = folder / TABLE
        if not file.exists():
            raise FileNotFoundError(f"{file} is missing")
        self._db = sqlite3.connect(f"file:{file}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._cache: BoundedCache[int, Chunk] = BoundedCache(CACHED_CHUNKS)
        self._len = self._one("SELECT COUNT(*) FROM chunks")[0]
        self.sources = [name for (name,) in self._all("SELECT name FROM sources ORDER BY id")]
        self.langs = [code for (code,) in self._all("SELECT code FROM langs ORDER BY id")]
        self.columns = np.load(folder / COLUMNS, mmap_mode="r", allow_pickle=False)
        if self.columns.dtype != COLUMN_DTYPE or len(self.columns) != self._len:
            raise ValueError(f"{folder / COLUMNS} does not match {TABLE}")

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> tuple[Any, ...]:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _all(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> Chunk: ...

    @overload
    def __getitem__(self, index: slice) -> list[Chunk]: ...

    def __getitem__(self, index: int | slice) -> Chunk | list[Chunk]:
        if isinstance(index, slice):
            return self.many(range(*index.indices(self._len)))
        row = int(index) + (self._len if index < 0 else 0)
        if not 0 <= row < self._len:
            raise IndexError(f"chunk row {index} out of range ({self._len} chunks)")
        return self.many([row])[0]

    def many(self, rows: Iterable[int]) -> list[Chunk]:
        """The chunks of `rows`, in that order (one query for the ones not cached)."""
        rows = [int(r) for r in rows]
        found = self._cache.get_many(rows)
        missing = [r for r in dict.fromkeys(rows) if r not in found]
        for start in range(0, len(missing), 500):
            part = missing[start:start + 500]
            marks = ",".join("?" * len(part))
            for row, *values in self._all(f"SELECT row, {', '.join(_FIELDS)} FROM chunks WHERE row IN ({marks})", part):
                found[row] = Chunk(**dict(zip(_FIELDS, values)))
                self._cache.put(row, found[row])
        return [found[r] for r in rows]

    def __iter__(self) -> Iterator[Chunk]:
        """All chunks in row order, read in batches (never all at once)."""
        for start in range(0, self._len, _READ_BATCH):
            rows = self._all(f"SELECT {', '.join(_FIELDS)} FROM chunks WHERE row >= ? AND row < ? ORDER BY row",
                             (start, start + _READ_BATCH))
            yield from (Chunk(**dict(zip(_FIELDS, values))) for values in rows)

    def row_of(self, chunk: Chunk) -> int | None:
        return self.row_of_span(chunk.source, chunk.start_line, chunk.end_line)

    def row_of_span(self, source: str, start_line: int, end_line: int) -> int | None:
        found = self._one("SELECT row FROM chunks WHERE source = ? AND start_line = ? AND end_line = ?",
                          (source, start_line, end_line))
        return None if found is None else int(found[0])

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        row = self.row_of(value) if isinstance(value, Chunk) else None
        if row is None or row < start or (stop is not None and row >= stop) or self[row] != value:
            raise ValueError(f"{value!r} is not in the index")
        return row

    def __contains__(self, value: object) -> bool:
        return isinstance(value, Chunk) and self.row_of(value) is not None and self[self.row_of(value)] == value

    def adjacent(self) -> np.ndarray:
        """[n, 2] rows before/after each row in its file (-1 at an end), as `adjacent_rows` gives."""
        return np.stack([self.columns["prev"], self.columns["next"]], axis=1).astype(np.int64)

    def mask(self, filters: dict[str, Any] | None) -> np.ndarray:
        """Boolean row mask for lang, source (str or list) and date_from/date_to ("YYYY-MM")."""
        mask = np.ones(self._len, dtype=bool)
        if not filters:
            return mask
        cols = self.columns
        if langs := _as_set(filters.get("lang")):
            mask &= np.isin(cols["lang"], [i for i, code in enumerate(self.langs) if code in langs])
        if sources := _as_set(filters.get("source")):
            mask &= np.isin(cols["source"], [i for i, name in enumerate(self.sources) if name in sources])
        date_from, date_to = filters.get("date_from") or "", filters.get("date_to") or ""
        if date_from or date_to:
            dates = cols["date"]
            mask &= dates > 0  # undated documents cannot satisfy a date filter
            if date_from:
                mask &= dates >= date_number(date_from)
            if date_to:
                mask &= dates <= date_number(date_to)
        return mask

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _as_set(value: str | Iterable[str] | None) -> set[str]:
    if not value:
        return set()
    return {value} if isinstance(value, str) else set(value)
