"""Sentence splitting keeps the model's [n] markers as hints and survives abbreviations in three languages."""

from __future__ import annotations

from rag.ground.sentences import split_sentences, strip_markers


def test_split_sentences_keeps_markers_as_hints() -> None:
    text = ("Biden offered Putin two paths [1]. The talks were set for 9-10 January in Geneva. [2][3] "
            "Mr. Lavrov said the U.S. must listen [Source 4].")
    got = split_sentences(text)
    assert [s.text for s in got] == [
        "Biden offered Putin two paths.",
        "The talks were set for 9-10 January in Geneva.",
        "Mr. Lavrov said the U.S. must listen.",
    ]
    assert [s.hints for s in got] == [(1,), (2, 3), (4,)]


def test_split_sentences_polish_abbreviations_and_bullets() -> None:
    text = "W maju 1997 r. (przed rozszerzeniem) NATO było mniejsze, tj. w Europie [1-3].\n- Druga rzecz [2, 4]."
    got = split_sentences(text)
    assert [s.text for s in got] == ["W maju 1997 r. (przed rozszerzeniem) NATO było mniejsze, tj. w Europie.",
                                     "Druga rzecz."]
    assert got[0].hints == (1, 2, 3) and got[1].hints == (2, 4)


def test_source_leads_go_with_their_markers() -> None:
    got = split_sentences("According to source [3], they spoke on 7 December. Według źródła [2] rozmowa trwała 50 minut.")
    assert [(s.text, s.hints) for s in got] == [("They spoke on 7 December.", (3,)),
                                                ("Rozmowa trwała 50 minut.", (2,))]


def test_marker_conjunctions_of_each_language() -> None:
    assert strip_markers("Au vorbit [1 și 3].") == ("Au vorbit.", (1, 3))
    assert strip_markers("Rozmawiali [2 i 4].") == ("Rozmawiali.", (2, 4))
    assert strip_markers("They spoke [1 and 2].") == ("They spoke.", (1, 2))


def test_a_capitalised_conjunction_lists_lines_not_a_range() -> None:
    assert strip_markers("They spoke [1 AND 3].") == ("They spoke.", (1, 3))
    assert strip_markers("They spoke [1 And 4, 6].") == ("They spoke.", (1, 4, 6))
    assert strip_markers("They spoke [2–4].") == ("They spoke.", (2, 3, 4))
