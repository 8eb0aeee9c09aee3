"""Question evidence: lines scored against the question, and the gates that refuse on weak evidence."""

from __future__ import annotations

import dataclasses

from rag.ground.question import low_evidence, score_question
from rag.retrieve import Retriever
from tests.ground.common import FAKE_CONFIG, S000, S002, S003, evidence_for


def test_question_score_uses_article_context_for_dates(fake_retriever: Retriever) -> None:
    question = "What did Biden offer Putin on 30 December?"
    alone = evidence_for(fake_retriever, (S000, 15), (S003, 19))
    with_date = evidence_for(fake_retriever, (S000, 15), (S003, 19), (S000, 11))
    # 000:15 (the offer) never says "30 December", its neighbour 000:11 does: that context counts.
    assert score_question(question, with_date, "en").scores[0] > score_question(question, alone, "en").scores[0]


def test_weak_or_unknown_evidence_is_low(fake_retriever: Retriever) -> None:
    ev = evidence_for(fake_retriever, (S000, 11), (S002, 3))
    qe = score_question("How long did the Biden-Putin call last?", ev, "en")
    assert not low_evidence(qe, FAKE_CONFIG)
    assert low_evidence(qe, dataclasses.replace(FAKE_CONFIG, min_retrieval_cosine=0.99))
    unknown = score_question("Co Macron powiedział Zełenskiemu?", ev, "pl")
    assert unknown.unknown >= FAKE_CONFIG.max_unknown_share and low_evidence(unknown, FAKE_CONFIG)


def test_no_lines_score_nothing(fake_retriever: Retriever) -> None:
    qe = score_question("Anything?", evidence_for(fake_retriever), "en")
    assert qe.best() == -1.0 and qe.ranked() == []
