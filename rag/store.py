"""The persisted index in `vectorstore/<name>/`: FAISS vectors, chunks, BM25 and a manifest. No pickle.

Layout:
    manifest.json   format version, embedding model + fingerprint, dimension, chunking and keyword
                    parameters, per-file sha256, boilerplate report
    chunks.sqlite   one Chunk per row, row i <-> FAISS id i <-> BM25 document i (rag.chunk_table)
    columns.npy     per row: language, source, date, adjacent rows (filters without Chunk objects)
    dense.faiss     inner-product index over the search vectors, chosen by size (rag.dense_index)
    centring.npy    the per-language shifts of `rag.dense_index.language_shifts`, for chunks and for sentences
    vectors.npy     the raw E5 vectors of the chunk texts (numpy format, no pickle; memory-mapped)
    sentences.npy   the raw E5 vectors of each chunk's sentences (see `rag.chunks.sentences`)
    sentence_rows.npy  for each sentence vector, the chunk row it belongs to (int32, ascending)
    keys.npy, sentence_keys.npy  the text hash of each vector row, to reuse vectors on rebuilds
    keyword/        bm25s arrays (.npy without pickle, memory-mapped) and vocabulary (JSON)

This module reads an index (rag.index_build writes one). Builds swap a finished sibling folder
in with two renames; a reader that finds the folder mid-swap, half-swapped by a crash or damaged
waits for the index's lock (rag.locks) and looks again, and only then repairs, never in the
middle of someone's build. The manifest records a checksum of every file, checked on load
(rag.integrity). A loaded Store keeps every file it needs open, so a later swap cannot pull a
file from under it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag import dense_index, integrity
from rag.chunk_table import ChunkTable
from rag.keyword import KeywordIndex
from rag.locks import store_lock

log = logging.getLogger(__name__)

FORMAT_VERSION = 4  # 4: chunks in SQLite, memory-mapped vectors, index chosen by size; 3: sentence vectors
MANIFEST = "manifest.json"
DENSE = "dense.faiss"
RAW = "vectors.npy"
SENTENCES = "sentences.npy"
SENTENCE_ROWS = "sentence_rows.npy"
KEYS = "keys.npy"
SENTENCE_KEYS = "sentence_keys.npy"
KEYWORD = "keyword"


class StoreError(Exception):
    """The index on disk is missing, corrupt, or was built with something else; the message says which."""


class StoreMismatch(StoreError):
    """The index was built with another embedding model or format: it must be rebuilt, never mixed."""


@dataclass
class Store:
    """A loaded index: chunks with their dense and keyword indexes, aligned row by row.

    Nothing large is read at load: chunks come from SQLite by row, vectors and BM25 postings are
    memory-mapped; only the FAISS index itself is held in memory.
    """

    path: Path
    manifest: dict[str, Any]
    chunks: ChunkTable
    dense: faiss.Index
    keyword: KeywordIndex
    dense_vectors: dense_index.DenseVectors  # exact centred scores of chosen rows

    @property
    def sentence_rows(self) -> np.ndarray:
        """Chunk row of each sentence vector."""
        return self.dense_vectors.sentence_rows

    @property
    def sentence_vectors(self) -> np.ndarray:
        """Language-centred search vectors, one per sentence (computed whole: small indexes only)."""
        return self.dense_vectors.centred_sentences()

    def vectors(self) -> np.ndarray:
        """The raw embedding of each chunk (row-aligned with `chunks`; memory-mapped).

        The mapping opened at load, not the file by name: a rebuild may have swapped the folder
        away since, and an open mapping outlives the deleted file.
        """
        return self.dense_vectors.raw_chunk_array

    def raw_sentence_vectors(self) -> np.ndarray:
        """The raw embedding of each sentence (see `vectors`)."""
        return self.dense_vectors.raw_sentence_array

    def is_flagged(self, source: str, line: int) -> bool:
        """Whether line `line` of `source` addresses an assistant (rag.injection): data, never sole support."""
        return line in self._flagged.get(source, ())

    @functools.cached_property
    def _flagged(self) -> dict[str, frozenset[int]]:
        return {src: frozenset(lines) for src, lines in self.manifest.get("flagged_lines", {}).items()}

    def integrity_problem(self) -> str | None:
        """What the background checksum check of the big index files found wrong, if anything."""
        return integrity.problem(self.path)

    @classmethod
    def load(cls, path: Path, fingerprint: str | None = None) -> Store:
        """Open and validate an index; raises StoreError / StoreMismatch with a message saying what to do.

        A failed first look may be a build swapping folders right now, or a crash between its two
        renames: wait for the writer lock, repair under it, and look once more.
        """
        try:
            return cls._open(path, fingerprint)
        except StoreMismatch:
            raise
        except StoreError:
            if not path.parent.is_dir():
                raise  # nothing there to wait for, and a read creates no folders
            with store_lock(path):
                recover_interrupted_swap(path)
                return cls._open(path, fingerprint)

    @classmethod
    def _open(cls, path: Path, fingerprint: str | None = None) -> Store:
        manifest = read_manifest(path)
        _check_files(path, manifest)
        if fingerprint is not None and manifest["embedding"]["fingerprint"] != fingerprint:
            raise StoreMismatch(
                f"index {path} was built with embedding {manifest['embedding']['model_id']} "
                f"({manifest['embedding']['fingerprint'][:16]}…), not the one loaded now; run `rag index` to rebuild")
        try:
            chunks = ChunkTable(path)
            dense = faiss.read_index(str(path / DENSE))
            keyword = KeywordIndex.load(path / KEYWORD, manifest["keyword"]["strategy"], len(chunks))
            raw = np.load(path / RAW, mmap_mode="r", allow_pickle=False)
            sentences = np.load(path / SENTENCES, mmap_mode="r", allow_pickle=False)
            rows = np.load(path / SENTENCE_ROWS, mmap_mode="r", allow_pickle=False)
            shifts = dense_index.load_shifts(path, len(chunks.langs), dense.d)
        except (OSError, ValueError, TypeError, KeyError, RuntimeError, sqlite3.Error) as exc:
            raise StoreError(f"index {path} is corrupt ({exc}); run `rag index` to rebuild it") from exc
        if not (len(chunks) == dense.ntotal == raw.shape[0] == manifest["chunks"]) or dense.d != manifest["embedding"]["dim"]:
            raise StoreError(f"index {path} is inconsistent (chunks {len(chunks)}, vectors {dense.ntotal}, "
                             f"manifest {manifest['chunks']}); run `rag index` to rebuild it")
        if not _sentences_consistent(sentences, rows, len(chunks), dense.d):
            raise StoreError(f"index {path} has inconsistent sentence vectors; run `rag index` to rebuild it")
        try:  # opens the vector files by name once more (RowFile): a swap may have removed them
            vectors = dense_index.DenseVectors(raw, sentences, rows, chunks.columns["lang"], shifts)
        except OSError as exc:
            raise StoreError(f"index {path} changed while it was read ({exc}); run `rag index` if it persists") from exc
        return cls(path=path, manifest=manifest, chunks=chunks, dense=dense, keyword=keyword, dense_vectors=vectors)


def _check_files(path: Path, manifest: dict[str, Any]) -> None:
    """Every index file as the build wrote it (sizes and checksums, see rag.integrity)."""
    recorded = manifest.get("checksums")
    if not recorded:
        raise StoreMismatch(f"index {path} has no file checksums (built by an older version); "
                            "run `rag index` to rebuild it")
    try:
        deferred = integrity.verify_index(path, recorded)
    except integrity.IntegrityError as exc:
        raise StoreError(f"index {path} is damaged: {exc}; run `rag index` to rebuild it") from exc
    except OSError as exc:  # a file went between the size check and its hash: a swap, looked at again
        raise StoreError(f"index {path} changed while it was read ({exc}); run `rag index` if it persists") from exc
    if deferred:
        integrity.verify_in_background(path, recorded, deferred)


def _sentences_consistent(vectors: np.ndarray, rows: np.ndarray, n_chunks: int, dim: int) -> bool:
    return (vectors.ndim == 2 and vectors.shape[1] == dim and rows.shape == (vectors.shape[0],)
            and bool(np.all((rows >= 0) & (rows < n_chunks))) and bool(np.all(np.diff(rows) >= 0)))


def read_manifest(path: Path) -> dict[str, Any]:
    file = path / MANIFEST
    if not file.exists():
        raise StoreError(f"no index at {path}; run `rag index` to build it")
    try:
        manifest = json.loads(file.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"index manifest {file} is unreadable ({exc}); run `rag index` to rebuild it") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise StoreMismatch(f"index {path} has format {manifest.get('format_version')}, this version reads "
                            f"{FORMAT_VERSION}; run `rag index` to rebuild it")
    return manifest


def file_hashes(corpus_dir: Path) -> dict[str, str]:
    """sha256 of each indexable file and of the renderings shipped with the corpus, to tell whether
    an index is stale: the keyword side joins each line's checked rendering, so new renderings
    (a `git pull`, a `rag render --export`) need a rebuild as much as an edited article does."""
    from rag.corpus import corpus_files
    from rag.render import RENDER_DIR

    hashes = {p.name: _file_sha256(p) for p in corpus_files(corpus_dir)}
    for p in sorted((corpus_dir / RENDER_DIR).glob("*.jsonl")):
        hashes[f"{RENDER_DIR}/{p.name}"] = _file_sha256(p)
    return hashes


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:  # streamed: a 20 MB file is not held in memory twice
        return hashlib.file_digest(fh, "sha256").hexdigest()


def is_stale(path: Path, corpus_dir: Path) -> bool:
    try:
        manifest = read_manifest(path)
    except StoreError:
        return True
    return manifest.get("files_raw") != file_hashes(corpus_dir)


def _backup_of(path: Path) -> Path:
    return path.with_name(f".{path.name}.previous")


def swap_in(tmp: Path, path: Path) -> None:
    backup = _backup_of(path)
    if backup.exists():
        shutil.rmtree(backup)
    if path.exists():
        os.rename(path, backup)
    os.rename(tmp, path)
    shutil.rmtree(backup, ignore_errors=True)


def recover_interrupted_swap(path: Path) -> None:
    """If a crash hit between the two renames, put the previous index back."""
    backup = _backup_of(path)
    if not path.exists() and (backup / MANIFEST).exists():
        log.warning("restoring previous index from %s after an interrupted build", backup)
        os.rename(backup, path)
