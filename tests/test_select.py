"""The lead line's choice: guarantees, not wording (which line is best is measured by `rag eval --configs lead`)."""

from __future__ import annotations

import numpy as np

from rag.answer_config import AnswerConfig
from rag.ground.question import asked_kinds, score_question
from rag.retrieve import Retriever
from rag.select import has_detail, lead_lines, select_lines, states_asked, without_scene
from tests.ground.common import S000, S002, S003, S004, evidence_for

PLACES = [(S000, 11), (S002, 3), (S003, 1), (S000, 15), (S004, 10)]


def test_lead_is_among_the_first_selected_lines_and_holds_the_asked_kind(fake_retriever: Retriever) -> None:
    ev = evidence_for(fake_retriever, *PLACES)
    question = "How many minutes did the Biden-Putin call last?"
    selection = select_lines(ev, score_question(question, ev, "en"), question)
    config = AnswerConfig()
    assert len(selection.lead) == 1 and selection.lead[0] in selection.lines[: config.lead_candidates]
    candidates = selection.lines[: config.lead_candidates]
    kinds = asked_kinds(question)
    if any(has_detail(ev, j, kinds) for j in candidates):
        assert has_detail(ev, selection.lead[0], kinds)


def test_a_clearly_better_question_score_decides_the_lead(fake_retriever: Retriever) -> None:
    ev = evidence_for(fake_retriever, *PLACES)
    chosen = [j for j in range(len(ev)) if ev.supports[j]][:4]
    for favourite in chosen:
        scores = np.zeros(len(ev), dtype=np.float32)
        scores[favourite] = 3.0  # more than any cosine difference can outweigh
        assert lead_lines(ev, chosen, "What did the presidents discuss?", (), AnswerConfig(), scores) == (favourite,)


def test_a_dates_day_is_not_the_figure_a_how_long_question_asks_for(fake_retriever: Retriever) -> None:
    ev = evidence_for(fake_retriever, (S000, 11), (S002, 3))
    at = {(ln.source, ln.number): j for j, ln in enumerate(ev.lines)}
    kinds = asked_kinds("How long did the call last?")
    assert has_detail(ev, at[(S000, 11)], kinds)  # "30 grudnia" may still back a written "30"
    assert not states_asked(ev, at[(S000, 11)], kinds)
    assert states_asked(ev, at[(S002, 3)], kinds)  # "trwała około 50 minut"


def test_a_year_is_not_the_count_a_how_many_question_asks_for(fake_retriever: Retriever) -> None:
    from rag.answer import lacks_asked_detail

    ev = evidence_for(fake_retriever, (S002, 19), (S002, 3))
    at = {(ln.source, ln.number): j for j, ln in enumerate(ev.lines)}
    talks = at[(S002, 19)]  # "9-10 stycznia 2022 roku … 12 stycznia": dates and a year, no count
    how_many = "How many Russian troops were massed near the border?"
    assert not states_asked(ev, talks, asked_kinds(how_many))
    assert lacks_asked_detail(how_many, "en", ev, [talks])
    assert not lacks_asked_detail(how_many, "en", ev, [talks, at[(S002, 3)]])  # "50 minut" is a figure
    assert states_asked(ev, talks, asked_kinds("When will the talks in Geneva take place?"))


def test_the_scene_is_set_aside_with_its_year_and_dangling_preposition() -> None:
    assert without_scene("What did Biden offer on 30 December?") == "What did Biden offer?"
    assert without_scene("Co Biden przekazał Putinowi 30 grudnia 2021 r.?") == "Co Biden przekazał Putinowi?"
    assert without_scene("Ce a cerut Rusia în convorbirea din 30 decembrie?") == "Ce a cerut Rusia în convorbirea?"


def test_a_question_about_the_date_itself_keeps_it() -> None:
    # Without its date "What happened" asks nothing a line could match: the question stays whole.
    for question in ("What happened on 24 February 2022?", "Ce s-a întâmplat pe 24 februarie 2022?",
                     "Co się stało 24 lutego?"):
        assert without_scene(question) == question


def test_the_lead_is_judged_by_the_language_fair_similarity(fake_retriever: Retriever, monkeypatch) -> None:
    from rag.ground.evidence import Evidence

    ev = evidence_for(fake_retriever, *PLACES)
    question = "What did the presidents discuss?"
    qe = score_question(question, ev, "en")
    first = select_lines(ev, qe, question)
    chosen = list(first.lines[: AnswerConfig().lead_candidates])
    assert len(chosen) > 1
    for favourite in chosen:
        def fair(self: Evidence, seg_cos: np.ndarray, j: int = favourite) -> np.ndarray:
            out = np.zeros((seg_cos.shape[0], len(self)), dtype=np.float32)
            out[:, j] = 5.0  # outweighs any question score
            return out

        monkeypatch.setattr(Evidence, "fair_cosine", fair)
        assert select_lines(ev, qe, question).lead == (favourite,)


def test_a_near_tie_goes_to_the_line_holding_the_questions_rare_words(fake_retriever: Retriever) -> None:
    from rag.keyword import tokenize

    ev = evidence_for(fake_retriever, *PLACES)
    chosen = [j for j in range(len(ev)) if ev.supports[j] and ev.lines[j].lang == "pl"][:4]
    assert len(chosen) > 1
    scores = np.zeros(len(ev), dtype=np.float32)
    for favourite in chosen:
        rare = next(t for t in tokenize(ev.lines[favourite].text)
                    if not any(t in tokenize(ev.lines[j].text) for j in chosen if j != favourite))
        cosine = np.full(len(ev), 0.8, dtype=np.float32)
        cosine[favourite] = 0.8 - AnswerConfig().lead_tie / 2  # a little behind, within the tie
        question = f"Co z {rare}?"
        assert lead_lines(ev, chosen, question, (), AnswerConfig(), scores, cosine, "pl") == (favourite,)
        # A reader of another language shares only names with these lines: the score decides.
        assert lead_lines(ev, chosen, question, (), AnswerConfig(), scores, cosine, "ro") != (favourite,)


def test_outside_the_tie_the_score_decides_whatever_the_words(fake_retriever: Retriever) -> None:
    ev = evidence_for(fake_retriever, *PLACES)
    chosen = [j for j in range(len(ev)) if ev.supports[j]][:4]
    scores = np.zeros(len(ev), dtype=np.float32)
    cosine = np.full(len(ev), 0.5, dtype=np.float32)
    cosine[chosen[1]] = 0.5 + 2 * AnswerConfig().lead_tie
    question = " ".join(ev.lines[chosen[0]].text.split()[:12])  # the first line's own words
    assert lead_lines(ev, chosen, question, (), AnswerConfig(), scores, cosine) == (chosen[1],)
