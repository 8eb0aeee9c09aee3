"""The language tables: keyed by language code, and every language has what the grounding looks up."""

from __future__ import annotations

import pytest

from rag.ground import lexicon

PER_LANGUAGE = ["ABBREVIATIONS", "SOURCE_LEADS", "MONTHS", "MONTHS_ONLY_IN_DATES", "WEEKDAYS", "NUMBER_WORDS",
                "MARKER_CONJUNCTIONS", "DAY_RANGE_WORDS", "ACRONYMS", "NOT_NAMES", "ASKS_QUANTITY",
                "ASKS_TIME_OPENERS", "ASKS_TIME"]


@pytest.mark.parametrize("name", PER_LANGUAGE)
def test_every_table_is_keyed_by_the_known_languages(name: str) -> None:
    assert set(getattr(lexicon, name)) == set(lexicon.LANGUAGES)


def test_month_tables_together_name_every_month() -> None:
    months = lexicon.merged_words(lexicon.MONTHS, lexicon.MONTHS_ONLY_IN_DATES)
    assert set(months.values()) == set(range(1, 13))
    assert months["grudnia"] == months["decembrie"] == months["december"] == 12


@pytest.mark.parametrize("question,kinds", [
    ("How many troops were there?", ("num", "count")),
    ("Ile minut trwała rozmowa?", ("num", "count")),
    ("Kiedy rozmawiali?", ("date", "month", "weekday", "num")),
    ("În ce zi au vorbit?", ("date", "month", "weekday", "num")),
    ("Where was he when he called?", ()),
    # An amount is a figure too: the lines must state one for the question to be answerable.
    ("What amount did the club pay?", ("num", "count")),
    ("Na jaką kwotę opiewa umowa?", ("num", "count")),
    ("Ce sumă a plătit clubul?", ("num", "count")),
    ("Ce salariu va primi?", ("num", "count")),
    ("What did the summit cost the city in trust?", ()),
    ("Jakiej centrali dotyczy umowa?", ()),  # a word that only starts like "cena"
    ("Ce pretenții are Rusia?", ()),  # nor one that only starts like "preț"
])
def test_asked_kinds_in_each_language(question: str, kinds: tuple[str, ...]) -> None:
    from rag.ground.question import asked_kinds

    assert asked_kinds(question) == kinds


def test_the_refusal_is_in_the_readers_language_and_english_without_a_pack() -> None:
    assert lexicon.refusal("pl").startswith("Korpus nie zawiera")
    assert lexicon.refusal("de") == lexicon.refusal("en")
