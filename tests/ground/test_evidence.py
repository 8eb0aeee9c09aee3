"""Evidence: excerpts of long lines, weighted detail coverage, and vectors reused from the index."""

from __future__ import annotations

import numpy as np
import pytest

from rag.ground.details import extract_keys
from rag.ground.question import score_question
from rag.retrieve import Retriever
from tests.fakes import FakeEmbedder
from tests.ground.common import S000, S002, S003, evidence_for, seed_lines


def test_long_line_is_shown_as_its_best_part(fake_retriever: Retriever) -> None:
    ev = evidence_for(fake_retriever, (S002, 41))
    qe = score_question("Czy USA byłyby gotowe na ustępstwa w kwestii ekspansji NATO?", ev, "pl")
    shown = ev.excerpt(0, qe.seg_cosine, 200)
    full = seed_lines()[S002][40]
    assert len(full) > 600 and len(shown) < len(full)
    assert all(part.strip(" .…") in full for part in shown.split("…") if part.strip(" .…"))


def test_coverage_weighs_rare_details_more(fake_retriever: Retriever) -> None:
    # 000:11 alone has the date; all three lines name Biden.
    ev = evidence_for(fake_retriever, (S000, 11), (S000, 15), (S003, 1))
    claim = ev.claim(extract_keys("Biden spoke on 30 December.", "en"))
    weight = dict(zip(claim.keys, claim.weights))
    assert max(w for k, w in weight.items() if k.kind == "date") > max(w for k, w in weight.items() if k.kind == "name")
    assert ev.coverage(claim, [0]) == pytest.approx(1.0)
    assert ev.coverage(claim, [2]) < ev.coverage(claim, [0])
    assert ev.coverage(claim.only(lambda k: False), [0]) is None  # nothing left to check


def test_unknown_names_are_those_the_corpus_never_mentions(fake_retriever: Retriever) -> None:
    ev = evidence_for(fake_retriever, (S000, 11))
    # Weighted: "Macron" is in none of the lines, so it weighs more than "Biden" (in all of them).
    assert 0.5 < ev.unknown_names(ev.claim(extract_keys("Macron called Biden.", "en"))) < 1.0
    assert ev.unknown_names(ev.claim(extract_keys("Putin called Biden.", "en"))) == 0.0


class _CountingEmbedder(FakeEmbedder):
    """The fake embedder, counting the document texts it is asked to embed."""

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.embedded += list(texts)
        return super().embed_documents(texts)


def test_remembered_vectors_are_not_embedded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from rag import vector_cache
    from rag.cache import BoundedCache

    monkeypatch.setattr(vector_cache, "VECTORS", BoundedCache(vector_cache.MAX_VECTORS))
    embedder = _CountingEmbedder()
    known = ["Biden offered two paths.", "Putin warned of a rupture."]
    added = vector_cache.remember_document_vectors(embedder, known, FakeEmbedder().embed_documents(known))
    vectors = vector_cache.embed_documents_cached(embedder, [known[1], "A line nobody embedded yet."])
    assert added == 2
    assert embedder.embedded == ["A line nobody embedded yet."]
    assert np.allclose(vectors[0], FakeEmbedder().embed_documents([known[1]])[0])


def test_answerer_reuses_the_index_vectors_for_grounding(fake_retriever, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag import vector_cache
    from rag.answer import Answerer
    from rag.cache import BoundedCache

    monkeypatch.setattr(vector_cache, "VECTORS", BoundedCache(vector_cache.MAX_VECTORS))
    embedder = _CountingEmbedder()
    monkeypatch.setattr(fake_retriever, "embedder", embedder)
    answerer = Answerer(fake_retriever, None)
    answerer.ask("What did Biden offer Putin on 30 December?", mode="extractive")
    lines = [ln for p in fake_retriever.search("What did Biden offer Putin on 30 December?", k=12)
             for ln in p.text.split("\n") if ln.strip()]
    assert lines
    # Every paragraph line the grounding looked at was embedded at index time: at most a few
    # sentence pieces split differently are embedded anew, never the lines themselves.
    assert not set(embedder.embedded) & {ln.strip() for ln in lines}, embedder.embedded
