"""The refusal speaks the reader's language and keeps the closest passages for the UI."""

from __future__ import annotations

import pytest

from rag.ground.refusal import refusal_answer, refusal_text
from rag.retrieve import Retriever
from tests.ground.common import S000, S002, evidence_for


@pytest.mark.parametrize("lang,start", [("en", "The corpus does not say"), ("pl", "Korpus nie zawiera"),
                                        ("ro", "Corpusul nu spune"), ("de", "The corpus does not say")])
def test_refusal_in_the_question_language_keeps_passages(fake_retriever: Retriever, lang: str, start: str) -> None:
    ev = evidence_for(fake_retriever, (S000, 11), (S002, 3))
    answer = refusal_answer("?", lang, ev.passages)
    assert answer.refused and answer.answer.startswith(start) and answer.citations == []
    assert answer.passages == ev.passages and answer.language == lang
    assert refusal_text(lang) == answer.answer
