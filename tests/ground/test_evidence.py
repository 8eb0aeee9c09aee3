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


def _rendered_evidence(fake_retriever: Retriever):
    from rag.ground.evidence import Evidence
    from rag.ground.vocabulary import Vocabulary
    from tests.ground.common import FAKE_CONFIG, S004, passage_at

    passages = [passage_at(fake_retriever, S002, 3), passage_at(fake_retriever, S004, 10)]
    return Evidence(passages, FakeEmbedder(), FAKE_CONFIG, Vocabulary.from_chunks(fake_retriever.chunks),
                    renderings=lambda text: "In English: " + text[:40])


def test_fair_cosine_takes_off_the_question_languages_lift(fake_retriever: Retriever) -> None:
    ev = _rendered_evidence(fake_retriever)
    langs = {ln.lang for ln in ev.lines}
    assert langs == {"pl", "ro"} and all(ln.rendering for ln in ev.lines)
    # A Romanian question: every Romanian original 0.90 (its rendering 0.82), Polish originals 0.84
    # (their renderings 0.85); the Polish line j_pl is the one that answers, its rendering 0.86.
    seg = np.zeros((1, len(ev._owner)), dtype=np.float32)
    last = {int(j): i for i, j in enumerate(ev._owner)}  # each line's last segment is its rendering
    for i, j in enumerate(ev._owner):
        ro = ev.lines[j].lang == "ro"
        seg[0, i] = (0.82 if ro else 0.85) if i == last[j] else (0.90 if ro else 0.84)
    j_pl = next(j for j, ln in enumerate(ev.lines) if ln.lang == "pl")
    seg[0, last[j_pl]] = 0.86
    plain, fair = ev.line_cosine(seg)[0], ev.fair_cosine(seg)[0]
    assert int(np.argmax(plain)) != j_pl and ev.lines[int(np.argmax(plain))].lang == "ro"
    assert int(np.argmax(fair)) == j_pl
    ro = [j for j, ln in enumerate(ev.lines) if ln.lang == "ro"]
    assert fair[ro] == pytest.approx(plain[ro] - 0.08, abs=1e-5)  # the same lift off every Romanian line


def test_fair_cosine_leaves_lines_without_renderings_as_they_are(fake_retriever: Retriever) -> None:
    ev = evidence_for(fake_retriever, (S000, 11), (S003, 1))  # no renderings given
    seg = ev.segment_cosine(["What did Biden offer?"])
    assert np.allclose(ev.fair_cosine(seg), ev.line_cosine(seg))
