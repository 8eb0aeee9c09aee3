"""Metric functions against hand-computed values: text matching, retrieval, answers and refusals."""

from __future__ import annotations

import math

import pytest

from evals import metrics as m
from rag.text import fold_spaced
from tests.evals.fakes import GOLD, INDEX, RANKED

# --------------------------------------------------------------------------- text matching


def test_fold_strips_case_diacritics_polish_l_and_dashes():
    assert fold_spaced("Łódź  Genewą – ţară ș") == "lodz genewa - tara s"


@pytest.mark.parametrize("alts, text, expected", [
    (["Genew"], "Rozmowy odbędą się w Genewie.", True),      # stem covers inflection
    (["12"], "in 2012", False),                              # no match inside a number
    (["12"], "on 120 days", False),                          # nor running into more digits
    (["12"], "on the 12th", True),
    (["12 January"], "on 12 january", True),
    (["błąd"], "to byłby poważny BLAD", True),                # diacritics and case folded
    (["nato"], "donation", False),                            # must start at a word boundary
    (["9-10"], "9–10 stycznia", True),                        # en dash equals hyphen
])
def test_fact_present(alts, text, expected):
    assert m.fact_present(alts, text) is expected


def test_key_fact_score_fraction_and_all():
    facts = [["50 minutes", "50 min"], ["Delaware"]]
    assert m.key_fact_score(facts, "About 50 min, from Delaware.") == (1.0, True)
    assert m.key_fact_score(facts, "From his home in Delaware.") == (0.5, False)
    assert m.key_fact_score([], "anything") == (1.0, True)


def test_token_f1_hand_computed():
    # pred 3 tokens all in ref; ref 4 tokens: P=1, R=3/4, F1=6/7
    assert m.token_f1("The cat sat [1]", "the cat sat down") == pytest.approx(6 / 7)
    assert m.token_f1("w Genewie", "W GENEWIE") == 1.0
    assert m.token_f1("nothing shared", "other words") == 0.0


# --------------------------------------------------------------------------- retrieval metrics


def test_hits_rank_and_recall():
    assert m.first_hit_rank(RANKED, GOLD) == 2
    assert m.hit_at(RANKED, GOLD, 1) == 0.0
    assert m.hit_at(RANKED, GOLD, 3) == 1.0
    assert m.reciprocal_rank(RANKED, GOLD) == 0.5
    assert m.reciprocal_rank(RANKED, GOLD, k=1) == 0.0
    assert m.recall_at(RANKED, GOLD, 2) == pytest.approx(1 / 3)
    assert m.recall_at(RANKED, GOLD, 4) == 1.0


def test_ndcg_graded_with_novelty():
    assert m.novel_gains(RANKED, GOLD) == [0, 1, 1, 1]
    assert m.novel_gains([("a", 1, 5), ("a", 3, 3)], GOLD) == [2, 0]  # overlap not counted twice
    dcg = 1 / math.log2(3) + 1 / math.log2(4) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)  # index chunks hold one gold line each
    assert m.ndcg_at(RANKED, GOLD, 10, INDEX) == pytest.approx(dcg / ideal)
    # without the index: one ideal chunk per file -> gains [2, 1]
    assert m.ideal_gains(GOLD, None) == [2, 1]
    assert m.ndcg_at([("a", 1, 5), ("b", 7, 7)], GOLD) == pytest.approx(1.0)


def test_ideal_gains_ignores_gold_no_chunk_holds():
    assert m.ideal_gains({("a", 3), ("z", 1)}, INDEX) == [1]


# --------------------------------------------------------------------------- answer metrics


def test_citation_precision_recall_and_unretrieved():
    cites = [("a", 3, 4), ("a", 10, 10)]
    assert m.citation_precision(cites, GOLD) == pytest.approx(2 / 3)
    assert m.citation_recall(cites, GOLD) == pytest.approx(2 / 3)
    assert m.citation_precision([], GOLD) is None
    assert m.unretrieved_citations(cites, [("a", 1, 5)]) == 1
    assert m.unretrieved_citations([("a", 4, 6)], [("a", 1, 5)]) == 1  # must lie wholly inside


def test_refusal_stats():
    stats = m.refusal_stats(answerable=[True, True, False, False], refused=[False, True, True, False])
    assert stats == {"refusal_precision": 0.5, "refusal_recall": 0.5, "false_refusal_rate": 0.5}
    assert m.refusal_stats([True], [False])["refusal_precision"] is None
