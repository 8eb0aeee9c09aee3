"""Checkable details: dates, counts, weekdays and names match across en/pl/ro."""

from __future__ import annotations

import pytest

from rag.ground.details import extract_keys, line_keys
from rag.ground.names import names_match


@pytest.mark.parametrize("text,lang", [
    ("Biden called Putin on 30 December.", "en"),
    ("Biden called Putin on December 30th.", "en"),
    ("Biden zadzwonił do Putina 30 grudnia.", "pl"),
    ("Biden l-a sunat pe Putin pe 30 decembrie.", "ro"),
])
def test_dates_match_across_languages(text: str, lang: str) -> None:
    keys = {(k.kind, k.value) for k in extract_keys(text, lang)}
    assert ("date", "30.12") in keys and ("month", "12") in keys
    line = line_keys("Prezydent USA Joe Biden rozmawiał telefonicznie 30 grudnia z Władimirem Putinem.", "pl")
    assert all(line.has(k) for k in extract_keys(text, lang))


def test_ranges_weekdays_counts_across_languages() -> None:
    line = line_keys("odbędą się rozmowy w Genewie, w dniach 9-10 stycznia, w czwartek; Biden przedstawił dwie "
                     "ścieżki", "pl")
    claim = extract_keys("On Thursday Biden set out two paths and talks in Geneva on 9 and 10 January.", "en")
    assert [k for k in claim if not line.has(k)] == []


def test_names_match_inflections_and_transliterations() -> None:
    claim = {k.value for k in extract_keys("Talks between Lavrov, Peskov and Putin.", "en") if k.kind == "name"}
    line = line_keys("Ławrow i Pieskow rozmawiali z Putinem.", "pl")
    assert all(any(names_match(c, n) for n in line.names) for c in claim)
    assert not names_match("macron", "makro")


def test_digit_in_date_is_not_also_a_bare_number_claim() -> None:
    kinds = [k.kind for k in extract_keys("They spoke on 30 December.", "en")]
    assert "num" not in kinds


def test_acronyms_of_each_language_name_one_entity() -> None:
    for text in ("The US and NATO replied.", "USA i NATO odpowiedziały.", "SUA și OTAN au răspuns."):
        entities = {k.value for k in extract_keys(text) if k.kind == "entity"}
        assert entities == {"us", "nato"}, text


def test_articles_month_counts_as_said_by_every_line() -> None:
    keys = line_keys("Rozmowa trwała 50 minut.", "pl", date="2021-12")
    assert "month:12" in keys.exact and "num:2021" in keys.exact


@pytest.mark.parametrize("text,lang", [
    ("Biden i Putin odbyli dwugodzinną rozmowę.", "pl"),
    ("Rozmowa trwała dwie godziny.", "pl"),
    ("Biden and Putin held a two-hour video call.", "en"),
    ("Convorbirea a durat două ore.", "ro"),
])
def test_a_time_span_keeps_its_unit_across_languages(text: str, lang: str) -> None:
    keys = {(k.kind, k.value) for k in extract_keys(text, lang)}
    assert ("span", "2 hour") in keys and ("count", "2") in keys
    assert ("span", "2 day") not in keys


def test_spans_with_joiners_digits_and_no_years() -> None:
    assert ("span", "36 month") in {(k.kind, k.value) for k in extract_keys("Proiectul va dura 36 de luni.", "ro")}
    assert ("span", "24 hour") in {(k.kind, k.value) for k in extract_keys("Trwał 24-godzinny strajk.", "pl")}
    assert not [k for k in extract_keys("W 2022 roku i dwudziestu ludzi.", "pl") if k.kind == "span"]
