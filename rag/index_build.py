"""Building the index: corpus -> chunks -> vectors and keyword postings -> a folder swapped into place.

A build reads the corpus, drops boilerplate and flags planted instructions, chunks it, embeds only
texts whose vectors the previous index lacks (checkpointed as they come, rag.embed_resume), and
writes everything into a sibling temporary folder that replaces the old index with two renames
(rag.store reads it, and puts the old folder back if a crash hit between them). The whole build
holds the index's writer lock (rag.locks), so two builders queue instead of interleaving.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
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
from rag.store import (
    DENSE,
    FORMAT_VERSION,
    KEYS,
    KEYWORD,
    MANIFEST,
    RAW,
    SENTENCE_KEYS,
    SENTENCE_ROWS,
    SENTENCES,
    StoreError,
    file_hashes,
    read_manifest,
    recover_interrupted_swap,
    swap_in,
)
from rag.types import Chunk, Embedder

# Share of each language's mean vector removed from its documents. mE5 vectors carry a strong
# "which language" direction, so a Polish question preferred any Polish paragraph over the right
# Romanian one; removing all of it cost Romanian recall, half of it keeps both.
LANGUAGE_CENTRING = 0.5


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
        recover_interrupted_swap(path)
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
            recover_interrupted_swap(path)
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
        swap_in(tmp, path)
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
