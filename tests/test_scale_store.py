"""The store at scale: chunk table, index choice, candidate scoring, resumable embedding, progress."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from rag import dense_index, embed_resume, retrieve
from rag.chunk_table import ChunkTable
from rag.index_build import build_store
from rag.keyword import KeywordIndex, tokenize
from rag.retrieval_config import RetrievalConfig
from rag.retrieve import Retriever
from rag.store import Store
from tests.fakes import FakeEmbedder

QUESTIONS = ["What did Biden offer Putin on 30 December?", "Ile trwała rozmowa Bidena z Putinem?",
             "Ce garanții de securitate a cerut Rusia?", "Stoltenberg dialog semnificativ", "sankcje NATO"]


class CrashingEmbedder(FakeEmbedder):
    """Dies (like Ctrl-C) on its `crash_at`-th call, after embedding the calls before it."""

    def __init__(self, crash_at: int) -> None:
        self.calls, self.crash_at, self.embedded = 0, crash_at, []

    def embed_documents(self, texts):
        self.calls += 1
        if self.calls == self.crash_at:
            raise KeyboardInterrupt("interrupted")
        self.embedded += list(texts)
        return super().embed_documents(texts)


def test_chunk_table_reads_rows_on_demand(fake_retriever: Retriever) -> None:
    table = fake_retriever.store.chunks
    assert isinstance(table, ChunkTable)
    rows = list(table)
    assert len(rows) == len(table) and table[-1] == rows[-1] and table[2:5] == rows[2:5]
    assert table.many([4, 1, 4]) == [rows[4], rows[1], rows[4]]
    assert table.index(rows[7]) == 7 and rows[7] in table
    with pytest.raises(IndexError):
        table[len(table)]
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(table.many(range(len(table))) == rows))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 4


def test_keyword_scores_match_bm25s(fake_retriever: Retriever) -> None:
    index = fake_retriever.store.keyword
    for question in QUESTIONS:
        tokens = [t for t in tokenize(question) if t in index.bm25.vocab_dict]
        expected = index.bm25.get_scores(tokens) if tokens else np.zeros(index.size)
        np.testing.assert_allclose(index.scores(question), expected, rtol=1e-5, atol=1e-6)


def test_keyword_index_is_memory_mapped(tmp_path: Path) -> None:
    index = KeywordIndex.build(["Biden rozmawiał z Putinem", "Rusia și NATO"])
    index.save(tmp_path)
    loaded = KeywordIndex.load(tmp_path, index.strategy, 2)
    assert isinstance(loaded.bm25.scores["data"], np.memmap)


def test_index_kind_by_size() -> None:
    assert dense_index.index_kind(1_000) == "Flat"
    assert dense_index.index_kind(dense_index.EXACT_MAX_ROWS) == "Flat"
    assert dense_index.index_kind(1_000_000) == "IVF2048,SQ8"


@pytest.fixture
def large_path(monkeypatch: pytest.MonkeyPatch):
    """Make the seeds count as a large index: IVF index, candidate scoring."""
    monkeypatch.setattr(dense_index, "EXACT_MAX_ROWS", 50)
    monkeypatch.setattr(dense_index, "IN_MEMORY_MAX_ROWS", 50)
    small = RetrievalConfig(full_scan_rows=50, dense_candidates=30, keyword_candidates=15)
    monkeypatch.setattr(retrieve, "RetrievalConfig", lambda: small)


def test_candidate_scoring_agrees_with_scoring_every_row(fake_retriever: Retriever, large_path, tmp_path: Path,
                                                         seeds_dir: Path) -> None:
    large = Retriever.load(tmp_path / "large", corpus_dir=seeds_dir, embedder=FakeEmbedder(), progress=False)
    assert large.store.manifest["dense"]["index"].startswith("IVF") and not large.store.dense_vectors.in_memory
    for question in QUESTIONS:
        exact = [p.chunk.id for p in fake_retriever.search(question, k=5)]
        approx = [p.chunk.id for p in large.search(question, k=5)]
        assert approx[0] == exact[0] and len(set(approx) & set(exact)) >= 4, (question, exact, approx)
        ro = large.search(question, k=5, filters={"lang": "ro"})
        assert ro and all(p.lang == "ro" for p in ro)


def test_dense_scores_without_in_memory_copies_match(fake_retriever: Retriever, large_path, tmp_path: Path,
                                                     seeds_dir: Path) -> None:
    large = Retriever.load(tmp_path / "large", corpus_dir=seeds_dir, embedder=FakeEmbedder(), progress=False)
    for question in QUESTIONS:
        np.testing.assert_allclose(large.dense_scores(question), fake_retriever.dense_scores(question), atol=1e-5)


def test_interrupted_embedding_resumes_without_redoing_finished_parts(
        corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embed_resume, "PART_TEXTS", 16)
    path = tmp_path / "idx"
    first = CrashingEmbedder(crash_at=4)
    with pytest.raises(KeyboardInterrupt):
        build_store(corpus_copy, path, first, progress=False)
    assert not path.exists() and len(first.embedded) == 3 * 16  # three parts were finished
    second = CrashingEmbedder(crash_at=-1)
    report = build_store(corpus_copy, path, second, progress=False)
    assert not set(second.embedded) & set(first.embedded)
    assert report.embedded == len(second.embedded) and report.reused == 3 * 16
    fresh = CrashingEmbedder(crash_at=-1)
    build_store(corpus_copy, tmp_path / "fresh", fresh, progress=False)
    assert sorted(first.embedded + second.embedded) == sorted(fresh.embedded)
    np.testing.assert_allclose(Store.load(path).vectors(), Store.load(tmp_path / "fresh").vectors())
    assert not path.with_name(".idx.embedding").exists()  # checkpoints go once the index is complete


def test_old_index_serves_while_a_rebuild_is_interrupted(corpus_copy: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embed_resume, "PART_TEXTS", 16)
    path = tmp_path / "idx"
    build_store(corpus_copy, path, FakeEmbedder(), progress=False)
    before = Retriever.load(path, corpus_dir=corpus_copy, embedder=FakeEmbedder(), progress=False)
    (corpus_copy / "extra.txt").write_text("\n\n".join(f"Paragraf numer {i} o sankcjach i NATO." for i in range(80)))
    with pytest.raises(KeyboardInterrupt):
        build_store(corpus_copy, path, CrashingEmbedder(crash_at=3), progress=False)
    assert before.search("sankcje NATO", k=3) and len(Store.load(path).chunks) == len(before.chunks)


def test_build_shows_a_progress_bar_with_rate_and_eta(corpus_copy: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    build_store(corpus_copy, tmp_path / "idx", FakeEmbedder(), progress=True)
    err = capsys.readouterr().err
    assert "Embedding" in err and "text/s" in err and "<" in err  # tqdm: "[elapsed<remaining, rate]"
