"""Hybrid retrieval mechanics with the fake embedder: modes, fusion, filters, auto-build."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.dense_index import centre, language_shifts
from rag.retrieval_config import DEFAULT
from rag.retrieve import (
    Retriever,
    adjacent_rows,
    best_per_row,
    neighbour_best,
)
from rag.testing import FakeEmbedder


def test_modes_return_best_first(fake_retriever: Retriever) -> None:
    for mode in Retriever.MODES:
        hits = fake_retriever.search("Pieskow warunek rozmów Putin Biden", k=5, mode=mode)
        assert 0 < len(hits) <= 5
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_keyword_finds_inflected_polish(fake_retriever: Retriever) -> None:
    hits = fake_retriever.search("wywiadu telewizja Rossija", k=1, mode="keyword")
    assert hits[0].source == "001_400e8c6d7a4d42b4.txt" and hits[0].start_line == 7


def test_hybrid_rrf_is_reciprocal_rank_fusion(fake_retriever: Retriever) -> None:
    top = fake_retriever.search("Stoltenberg dialog semnificativ", k=3, mode="hybrid-rrf")[0]
    assert top.score == pytest.approx(sum(1 / (DEFAULT.rrf_k + r) for r in top.ranks.values()))
    assert set(top.ranks) == {"dense", "keyword"}


def test_hybrid_is_weighted_score_fusion(fake_retriever: Retriever) -> None:
    question = "Stoltenberg dialog semnificativ"
    hits = fake_retriever.search(question, k=57, mode="hybrid")
    dense = fake_retriever.dense_scores(question)
    keyword = fake_retriever.keyword_scores(question)
    norm = lambda x: (x - x.min()) / (x.max() - x.min())  # noqa: E731
    semantic = norm(norm(dense) + DEFAULT.neighbour_share * neighbour_best(norm(dense), adjacent_rows(fake_retriever.chunks)))
    coverage = fake_retriever.store.keyword.coverage(question)
    assert coverage == 1.0  # every word of this Romanian question occurs in the corpus
    expected = semantic + DEFAULT.keyword_weight * coverage * norm(keyword)
    for hit in hits[:5]:
        i = fake_retriever.chunks.index(hit.chunk)
        assert hit.score == pytest.approx(float(expected[i]), abs=1e-5)
    assert hits[0].dense_score is not None and hits[0].keyword_score is not None


def test_dense_blends_paragraph_and_best_sentence(fake_retriever: Retriever) -> None:
    question = "Kreml Putin Biden II wojny światowej"
    query = np.asarray(fake_retriever.embedder.embed_queries([question]), dtype=np.float32)[0]
    row = next(i for i, c in enumerate(fake_retriever.chunks) if c.id == "003_889ea51d68b68c7c.txt:31-31")
    own = fake_retriever.store.sentence_rows == row
    assert own.sum() >= 2  # a multi-sentence paragraph
    best = float((fake_retriever.store.sentence_vectors[own] @ query).max())
    paragraph = float(fake_retriever.store.dense.reconstruct(row) @ query)
    expected = (1 - DEFAULT.sentence_share) * paragraph + DEFAULT.sentence_share * best
    assert fake_retriever.dense_scores(question)[row] == pytest.approx(expected, abs=1e-5)


def test_best_per_row() -> None:
    best = best_per_row(np.array([0.1, 0.7, 0.3, 0.2]), np.array([0, 0, 2, 2]), 3)
    assert best[0] == pytest.approx(0.7) and best[1] == -np.inf and best[2] == pytest.approx(0.3)


def test_adjacent_rows_stay_in_one_file(fake_retriever: Retriever) -> None:
    chunks = fake_retriever.chunks
    adjacent = adjacent_rows(chunks)
    first = {c.source: i for i, c in reversed(list(enumerate(chunks)))}
    for i, (before, after) in enumerate(adjacent):
        assert (before == -1) == (first[chunks[i].source] == i)
        if before >= 0:
            assert chunks[before].source == chunks[i].source and chunks[before].end_line < chunks[i].start_line
        if after >= 0:
            assert adjacent[after, 0] == i


def test_neighbour_best_takes_the_better_side() -> None:
    adjacent = np.array([[-1, 1], [0, 2], [1, -1]])
    assert neighbour_best(np.array([0.2, 0.9, 0.5]), adjacent).tolist() == pytest.approx([0.9, 0.5, 0.9])


def test_language_centring_moves_documents_towards_the_corpus_mean() -> None:
    vecs = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]], dtype=np.float32)
    langs = np.array([0, 0, 1])
    out = centre(vecs, langs, language_shifts(vecs, langs, 2, 0.5))
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)
    assert out[2, 0] > 0  # the lone Romanian vector moved towards the Polish ones
    one = np.zeros(3, dtype=np.int64)
    assert np.allclose(centre(vecs, one, language_shifts(vecs, one, 2, 0.5)), vecs)


def test_filters(fake_retriever: Retriever) -> None:
    ro = fake_retriever.search("NATO", k=10, filters={"lang": "ro"})
    assert ro and all(h.lang == "ro" for h in ro)
    one = fake_retriever.search("NATO", k=10, filters={"source": ["003_889ea51d68b68c7c.txt"]})
    assert one and {h.source for h in one} == {"003_889ea51d68b68c7c.txt"}
    dated = fake_retriever.search("NATO", k=50, filters={"date_from": "2021-12", "date_to": "2021-12"})
    assert dated and {h.source for h in dated} == {"000_c38ec739ece7500b.txt", "002_4a5474f8e966f72b.txt"}
    assert fake_retriever.search("NATO", filters={"lang": "de"}) == []


def test_bad_arguments(fake_retriever: Retriever) -> None:
    with pytest.raises(ValueError, match="unknown retrieval mode"):
        fake_retriever.search("NATO", mode="magic")
    with pytest.raises(ValueError, match="empty question"):
        fake_retriever.search("   ")


def test_autobuild_and_refresh(corpus_copy: Path, tmp_path: Path) -> None:
    store = tmp_path / "idx"
    r = Retriever.load(store, corpus_dir=corpus_copy, embedder=FakeEmbedder(), progress=False)
    n = len(r.chunks)
    (corpus_copy / "extra.txt").write_text("Zelenski a cerut ajutor militar suplimentar.\n", "utf-8")
    r2 = Retriever.load(store, corpus_dir=corpus_copy, embedder=FakeEmbedder(), progress=False)
    assert len(r2.chunks) == n + 1
    assert r2.search("Zelenski ajutor militar", k=1, mode="keyword")[0].source == "extra.txt"


def test_neighbours_stay_in_section(fake_retriever: Retriever) -> None:
    date_line = next(p for p in fake_retriever.search("30 grudnia", k=10, mode="keyword")
                     if p.chunk.id == "000_c38ec739ece7500b.txt:11-11")
    extra = fake_retriever.neighbours([date_line], window=2)
    ids = [p.chunk.id for p in extra]
    assert ids == ["000_c38ec739ece7500b.txt:13-13", "000_c38ec739ece7500b.txt:15-15"]  # 000:7 is another section
    assert all(p.score < date_line.score for p in extra)
    assert all(p.neighbour_of == 11 and not p.ranks for p in extra)  # a line number, never shown as a rank
    assert fake_retriever.neighbours([date_line] + extra, window=2) == []
