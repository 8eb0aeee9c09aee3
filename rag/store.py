"""The persisted index in `vectorstore/<name>/`: FAISS vectors, chunks, BM25 and a manifest. No pickle.

Layout:
    manifest.json   format version, embedding model + fingerprint, dimension, chunking and keyword
                    parameters, per-file sha256, boilerplate report
    chunks.sqlite   one Chunk per row, row i <-> FAISS id i <-> BM25 document i (rag.chunk_table)
    columns.npy     per row: language, source, date, adjacent rows (filters without Chunk objects)
    dense.faiss     inner-product index over the search vectors, chosen by size (rag.dense_index)
    centring.npy    the per-language shifts of `language_centred`, for chunks and for sentences
    vectors.npy     the raw E5 vectors of the chunk texts (numpy format, no pickle; memory-mapped)
    sentences.npy   the raw E5 vectors of each chunk's sentences (see `rag.chunks.sentences`)
    sentence_rows.npy  for each sentence vector, the chunk row it belongs to (int32, ascending)
    keys.npy, sentence_keys.npy  the text hash of each vector row, to reuse vectors on rebuilds
    keyword/        bm25s arrays (.npy without pickle, memory-mapped) and vocabulary (JSON)

Chunk and sentence vectors are keyed by the hash of the embedded text, so rebuilds re-embed only
new text. The dense side embeds the bare paragraph text; the keyword index also gets the section
heading (on the 71 questions the heading cost dense recall: hit@5 for English 0.95 -> 0.90).

Builds write a sibling temporary folder and swap it in with renames, so an interrupted build
leaves the previous index usable. Rebuilds reuse vectors of chunks whose text did not change;
freshly embedded vectors are checkpointed as they come (rag.embed_resume), so an interrupted
build resumes where it stopped. A build holds the index's inter-process lock (rag.locks) from start to swap, so two builders
queue; a reader that finds the folder mid-swap, half-swapped by a crash or damaged waits for the
lock and looks again, and only then repairs, never in the middle of someone's build. The
manifest records a checksum of every file, checked on load (rag.integrity).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag import dense_index, embed_resume, integrity
from rag.boilerplate import is_copy_reason, mark_boilerplate
from rag.chunk_table import ChunkTable, write_chunk_table
from rag.chunks import MIN_SENTENCE_CHARS, ChunkingParams, chunk_corpus, sentences
from rag.corpus import limit_notes, load_corpus
from rag.injection import flag_documents
from rag.keyword import DEFAULT_STRATEGY, KeywordIndex
from rag.locks import store_lock
from rag.types import Chunk, Embedder

log = logging.getLogger(__name__)

FORMAT_VERSION = 4  # 4: chunks in SQLite, memory-mapped vectors, index chosen by size; 3: sentence vectors
MANIFEST = "manifest.json"
DENSE = "dense.faiss"
RAW = "vectors.npy"
SENTENCES = "sentences.npy"
SENTENCE_ROWS = "sentence_rows.npy"
KEYS = "keys.npy"
SENTENCE_KEYS = "sentence_keys.npy"
# Share of each language's mean vector removed from its documents. mE5 vectors carry a strong
# "which language" direction, so a Polish question preferred any Polish paragraph over the right
# Romanian one; removing half of it lifted Polish-question hit@5 from 0.78 to 0.94 on the dev
# questions without hurting the others (full removal cost Romanian recall).
LANGUAGE_CENTRING = 0.5
KEYWORD = "keyword"


class StoreError(Exception):
    """The index on disk is missing, corrupt, or was built with something else; the message says which."""


class StoreMismatch(StoreError):
    """The index was built with another embedding model or format: it must be rebuilt, never mixed."""


@dataclass
class BuildReport:
    """What a build did, for the CLI and the app to show."""

    files: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # new or modified files
    removed: list[str] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0  # distinct texts (chunks and their sentences) that needed new vectors
    reused: int = 0  # distinct texts whose vectors came from the previous index
    boilerplate: dict[str, dict[int, str]] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: dict[str, str] = field(default_factory=dict)  # folder entry -> why it was not read
    duplicates: dict[str, str] = field(default_factory=dict)  # copy -> the document indexed instead
    flagged: dict[str, list[int]] = field(default_factory=dict)  # lines addressed to an assistant
    cut: list[str] = field(default_factory=list)  # what the size limits left out
    cleaned: list[str] = field(default_factory=list)  # dead build folders removed

    def summary(self) -> str:
        reasons = [r for lines in self.boilerplate.values() for r in lines.values()]
        copies = sum(map(is_copy_reason, reasons))
        extra = "".join(f", {n} {what}" for n, what in [
            (copies, "duplicate lines indexed once"), (len(self.skipped), "entries skipped"),
            (sum(map(len, self.flagged.values())), "lines flagged as instructions"), (len(self.cut), "cuts")] if n)
        return (f"{len(self.files)} files, {self.chunks} chunks ({self.embedded} texts embedded, {self.reused} reused), "
                f"{len(self.changed)} new/changed, {len(self.removed)} removed, "
                f"{len(reasons) - copies} boilerplate lines dropped{extra}, {self.seconds:.1f}s")


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
                _recover_interrupted_swap(path)
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
    """sha256 of each indexable file, to tell whether an index is stale."""
    from rag.corpus import corpus_files

    return {p.name: _file_sha256(p) for p in corpus_files(corpus_dir)}


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:  # streamed: a 20 MB file is not held in memory twice
        return hashlib.file_digest(fh, "sha256").hexdigest()


def is_stale(path: Path, corpus_dir: Path) -> bool:
    try:
        manifest = read_manifest(path)
    except StoreError:
        return True
    return manifest.get("files_raw") != file_hashes(corpus_dir)


def sentence_units(chunks: list[Chunk]) -> tuple[list[str], np.ndarray]:
    """Every chunk's sentences, and for each the chunk row it came from."""
    texts: list[str] = []
    rows: list[int] = []
    for row, chunk in enumerate(chunks):
        for sentence in sentences(chunk.text):
            texts.append(sentence)
            rows.append(row)
    return texts, np.asarray(rows, dtype=np.int32)


def _previous_vectors(path: Path, fingerprint: str) -> tuple[list[embed_resume.KnownVectors], dict[str, str]]:
    """Vectors of the existing index keyed by embedded-text hash (reused if the model is the same)."""
    try:  # only the manifest, keys and memory-mapped vectors: the old index is not loaded
        _recover_interrupted_swap(path)
        manifest = read_manifest(path)
        if manifest["embedding"]["fingerprint"] != fingerprint:
            return [], {}
        known = [embed_resume.KnownVectors(np.load(path / keys, allow_pickle=False),
                                           np.load(path / vectors, mmap_mode="r", allow_pickle=False))
                 for keys, vectors in ((KEYS, RAW), (SENTENCE_KEYS, SENTENCES))]
    except (StoreError, OSError, ValueError, KeyError):
        return [], {}
    if any(len(k.keys) != len(k.vectors) or k.vectors.ndim != 2 for k in known):
        return [], {}
    return known, manifest.get("files", {})


def _one_build_at_a_time(build):
    """Run a build under the index's writer lock, after removing what killed builds left behind."""

    @functools.wraps(build)
    def locked(corpus_dir: Path, path: Path, *args: Any, **kwargs: Any) -> BuildReport:
        with store_lock(path):
            cleaned = integrity.remove_dead_builds(path)
            _recover_interrupted_swap(path)
            report = build(corpus_dir, path, *args, **kwargs)
            report.cleaned = cleaned
            return report

    return locked


def _hardening_report(report: BuildReport, docs: list) -> dict[str, Any]:
    """Fill the report's copy, instruction and limit findings; the same, for the manifest."""
    report.duplicates = {d.source: d.duplicate_of for d in docs if d.duplicate_of}
    report.flagged = flag_documents(docs)
    report.cut = limit_notes(docs)
    return {"duplicates": report.duplicates, "flagged_lines": report.flagged, "skipped_files": report.skipped,
            "cut": report.cut}


@_one_build_at_a_time
def build_store(corpus_dir: Path, path: Path, embedder: Embedder, params: ChunkingParams | None = None,
                keyword_strategy: str = DEFAULT_STRATEGY, progress: bool = True) -> BuildReport:
    """(Re)build the index for `corpus_dir` at `path`, embedding only chunks whose text is new."""
    started = time.perf_counter()
    params = params or ChunkingParams()
    skipped: dict[str, str] = {}
    docs = load_corpus(corpus_dir, skipped)
    report = BuildReport(files=[d.source for d in docs], boilerplate=mark_boilerplate(docs), skipped=skipped)
    findings = _hardening_report(report, docs)
    chunks = chunk_corpus(docs, params)
    if not chunks:
        raise StoreError(f"no indexable text in {corpus_dir} (everything was empty or boilerplate)")
    known, old_files = _previous_vectors(path, embedder.fingerprint())
    new_files = {d.source: d.sha256 for d in docs}
    report.changed = sorted(s for s, h in new_files.items() if old_files.get(s) != h)
    report.removed = sorted(set(old_files) - set(new_files))
    sentence_texts, sentence_rows = sentence_units(chunks)
    texts = [c.text for c in chunks] + sentence_texts
    keys = embed_resume.text_keys(texts)
    folder = embed_resume.checkpoint_dir(path, embedder.fingerprint())
    all_vectors, report.embedded, report.reused = embed_resume.embed_all(
        texts, keys, known, embedder, folder, folder / f"assembled-{os.getpid()}.npy", progress)
    vectors, sentence_vectors = all_vectors[:len(chunks)], all_vectors[len(chunks):]
    manifest = {
        "format_version": FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "corpus_dir": str(corpus_dir.resolve()),
        "embedding": {"model_id": embedder.model_id, "fingerprint": embedder.fingerprint(),
                      "dim": int(vectors.shape[1])},
        "dense": {"index": dense_index.index_kind(len(chunks)), "language_centring": LANGUAGE_CENTRING,
                  "text": "chunk text without heading", "sentences": len(sentence_texts),
                  "min_sentence_chars": MIN_SENTENCE_CHARS},
        "chunking": params.to_dict(),
        "keyword": {"library": "bm25s", "strategy": keyword_strategy},
        "chunks": len(chunks),
        "files": new_files,
        "files_raw": file_hashes(corpus_dir),
        "documents": {d.source: {"date": d.date, "lang": d.lang, "title": d.title, "lines": len(d.lines)}
                      for d in docs},
        "boilerplate": {src: {str(k): v for k, v in lines.items()} for src, lines in report.boilerplate.items()},
        **findings,
    }
    keyword_texts, rendered = _keyword_texts(chunks, corpus_dir)
    manifest["keyword"]["renderings"] = rendered
    keyword = KeywordIndex.build(keyword_texts, keyword_strategy)
    _write_atomically(path, manifest, chunks, (vectors, sentence_vectors, sentence_rows, keys), keyword)
    del all_vectors, vectors, sentence_vectors
    embed_resume.discard_checkpoints(path)
    report.chunks = len(chunks)
    report.seconds = time.perf_counter() - started
    return report


def keyword_text(chunk: Chunk, renderings: Any) -> str:
    """A chunk's keyword text plus the checked English renderings of its lines (rag.render): an
    English question's words then meet English words. Every keyword backend indexes this."""
    extra = [r for r in (renderings.text(t) for t in chunk.lines) if r] if renderings is not None else []
    return "\n".join([chunk.keyword_text(), *extra])


def _keyword_texts(chunks: list[Chunk], corpus_dir: Path) -> tuple[list[str], int]:
    """Every chunk's `keyword_text`, and how many lines had a rendering."""
    from rag.render import RenderingStore

    renderings = RenderingStore.for_corpus(corpus_dir)
    texts = [keyword_text(chunk, renderings) for chunk in chunks]
    rendered = sum(bool(renderings.text(t)) for chunk in chunks for t in chunk.lines)
    return texts, rendered



def language_centred(vectors: np.ndarray, langs: list[str], strength: float) -> np.ndarray:
    """Move each language's documents `strength` of the way from their language mean to the corpus mean.

    This keeps what a paragraph is about and weakens which language it is written in, so
    cross-lingual questions compete fairly (cf. Libovický et al., 2020, on language-neutral mBERT).
    """
    out = vectors.astype(np.float32).copy()
    if strength <= 0 or len(set(langs)) < 2:
        return out
    overall = vectors.mean(axis=0)
    labels = np.asarray(langs)
    for lang in set(langs):
        rows = labels == lang
        out[rows] -= strength * (vectors[rows].mean(axis=0) - overall)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out


def _write_atomically(path: Path, manifest: dict[str, Any], chunks: list[Chunk],
                      dense: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], keyword: KeywordIndex) -> None:
    """Write everything into a temp sibling folder, then swap it in; the old index survives a crash.

    `dense` is (chunk vectors, sentence vectors, sentence rows, text keys of chunks then sentences).
    """
    vectors, sentence_vectors, sentence_rows, keys = dense
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.building-", dir=path.parent))
    try:
        write_chunk_table(tmp, chunks)
        np.save(tmp / RAW, vectors, allow_pickle=False)
        np.save(tmp / SENTENCES, sentence_vectors.reshape(-1, vectors.shape[1]), allow_pickle=False)
        np.save(tmp / SENTENCE_ROWS, sentence_rows, allow_pickle=False)
        np.save(tmp / KEYS, keys[:len(chunks)], allow_pickle=False)
        np.save(tmp / SENTENCE_KEYS, keys[len(chunks):], allow_pickle=False)
        _write_dense(tmp, manifest["dense"]["language_centring"])
        (tmp / KEYWORD).mkdir()
        keyword.save(tmp / KEYWORD)
        manifest["checksums"] = integrity.index_checksums(tmp, MANIFEST)
        # The manifest goes last: a folder without it is never mistaken for a finished index.
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
        _swap_in(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _write_dense(folder: Path, strength: float) -> None:
    """centring.npy and dense.faiss, from the chunk table and vector files already written to `folder`."""
    table = ChunkTable(folder)
    lang_ids, n_langs = np.asarray(table.columns["lang"], dtype=np.int64), len(table.langs)
    table.close()
    vectors = np.load(folder / RAW, mmap_mode="r", allow_pickle=False)
    sentence_vectors = np.load(folder / SENTENCES, mmap_mode="r", allow_pickle=False)
    sentence_langs = lang_ids[np.load(folder / SENTENCE_ROWS, allow_pickle=False).astype(np.int64)]
    shifts = np.stack([dense_index.language_shifts(vectors, lang_ids, n_langs, strength),
                       dense_index.language_shifts(sentence_vectors, sentence_langs, n_langs, strength)])
    np.save(folder / dense_index.CENTRING, shifts, allow_pickle=False)
    faiss.write_index(dense_index.build_index(vectors, lang_ids, shifts[0]), str(folder / DENSE))


def _backup_of(path: Path) -> Path:
    return path.with_name(f".{path.name}.previous")


def _swap_in(tmp: Path, path: Path) -> None:
    backup = _backup_of(path)
    if backup.exists():
        shutil.rmtree(backup)
    if path.exists():
        os.rename(path, backup)
    os.rename(tmp, path)
    shutil.rmtree(backup, ignore_errors=True)


def _recover_interrupted_swap(path: Path) -> None:
    """If a crash hit between the two renames, put the previous index back."""
    backup = _backup_of(path)
    if not path.exists() and (backup / MANIFEST).exists():
        log.warning("restoring previous index from %s after an interrupted build", backup)
        os.rename(backup, path)
