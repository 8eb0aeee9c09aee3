"""Check: a written sentence's numbers, dates and names must be stated by the line it cites."""

from __future__ import annotations

from rag.check import check_claim
from rag.ground.evidence import Evidence
from rag.types import Chunk, Passage
from tests.fakes import FakeEmbedder
from tests.ground.common import FAKE_CONFIG

SOURCE = "005_bridge.txt"
LINES = ["The Kelvin Street bridge was closed to all traffic on 3 June after engineers found cracks.",
         "The bridge was built in 1968 and was last repaired in 2009."]


def _evidence() -> Evidence:
    chunk = Chunk(SOURCE, 1, len(LINES), "\n".join(LINES), date="2026-06", lang="en")
    return Evidence([Passage(chunk=chunk, score=1.0, dense_score=0.9)], FakeEmbedder(), FAKE_CONFIG)


def test_the_articles_year_does_not_answer_a_question_asking_the_year() -> None:
    evidence = _evidence()
    question = "In which year was the Kelvin Street bridge built?"
    wrong = check_claim("The Kelvin Street bridge was built in 2026.", "en", [0], evidence, question, [0, 1])
    assert not wrong.ok and "num:2026" in wrong.missing
    right = check_claim("The Kelvin Street bridge was built in 1968.", "en", [1], evidence, question, [0, 1])
    assert right.ok, right.missing


def test_the_articles_year_still_sets_the_scene_elsewhere() -> None:
    evidence = _evidence()
    question = "Why was the Kelvin Street bridge closed?"
    check = check_claim("In 2026 engineers found cracks in the Kelvin Street bridge.", "en", [0], evidence,
                        question, [0, 1])
    assert check.ok, check.missing


def test_a_figure_the_cited_line_lacks_fails() -> None:
    evidence = _evidence()
    check = check_claim("The bridge was last repaired in 2011.", "en", [1], evidence, "When was it repaired?", [1])
    assert not check.ok and "num:2011" in check.missing


def test_a_sentence_that_only_restates_the_question_fails() -> None:
    evidence = _evidence()
    question = "Was the Kelvin Street bridge closed to all traffic?"
    echo = check_claim("The Kelvin Street bridge was closed to all traffic.", "en", [0], evidence, question, [0, 1])
    assert not echo.ok and echo.missing == ("only restates the question",)
    answer = check_claim("The Kelvin Street bridge was closed after engineers found cracks.", "en", [0], evidence,
                         question, [0, 1])
    assert answer.ok, answer.missing
