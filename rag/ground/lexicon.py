"""The language knowledge the grounding reads, gathered from the language packs (rag.languages).

The tables are keyed by language code, in the packs' order, and built once at import: the
grounding compiles its date, name and question patterns from them. Words are folded
(rag.text.fold) unless the pack field says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rag import languages
from rag.languages import LanguagePack


def _by_language(read: Callable[[LanguagePack], Any]) -> dict[str, Any]:
    return {p.code: read(p) for p in languages.packs()}


LANGUAGES = tuple(p.code for p in languages.packs())

ABBREVIATIONS = _by_language(lambda p: p.abbreviations)  # a full stop after these does not end a sentence
SOURCE_LEADS = _by_language(lambda p: p.source_leads)  # "According to source [3], …", dropped with its marker
MONTHS = _by_language(lambda p: p.months)  # month number -> names with their inflected forms
MONTHS_ONLY_IN_DATES = _by_language(lambda p: p.date_months)  # "may", "mar": months only inside a date
WEEKDAYS = _by_language(lambda p: p.weekdays)  # ISO weekday -> names
NUMBER_WORDS = _by_language(lambda p: p.number_words)  # "two" and "dwie" agree: a hint, never strict
TIME_UNITS = _by_language(lambda p: p.time_units)  # "50 minut" and "50 minutes" agree, "two-day" is not "two-hour"
UNIT_JOINERS = _by_language(lambda p: p.unit_joiner)
NUMBER_PREFIXES = _by_language(lambda p: p.number_prefixes)  # "dwu" of "dwugodzinny"
COMPOUND_UNITS = _by_language(lambda p: p.compound_units)
MARKER_CONJUNCTIONS = _by_language(lambda p: p.marker_conjunction)  # "[1 and 3]"
DAY_RANGE_WORDS = _by_language(lambda p: p.day_range_words)  # "9 and 10", "9 i 10"
# International acronyms written differently per language -> one entity, only when written in
# capitals ("us" and "un" are words too). Other names meet across languages through the lines'
# checked English renderings (rag.render), not through a gazetteer.
ACRONYMS = _by_language(lambda p: p.acronyms)
NOT_NAMES = _by_language(lambda p: p.not_names)  # capitalised words that are not names
ASKS_QUANTITY = _by_language(lambda p: p.asks_quantity)
ASKS_TIME_OPENERS = _by_language(lambda p: "|".join(p.time_openers))  # only at the question's start
ASKS_TIME = _by_language(lambda p: p.asks_time)


def refusal(language: str) -> str:
    """The honest "the corpus does not say" in the reader's language (English without a pack)."""
    return languages.fallback(language).refusal


def words(table: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """Every word of a per-language word list, all languages together."""
    return frozenset(w for entries in table.values() for w in entries)


def merged_words(*tables: Mapping[str, Mapping[int, Iterable[str]]]) -> dict[str, int]:
    """word -> number over all languages of the given number-keyed tables (later tables win)."""
    return {w: number for table in tables for per_lang in table.values()
            for number, entries in per_lang.items() for w in entries}


def merged(table: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """One mapping from a per-language mapping, all languages together."""
    return {k: v for per_lang in table.values() for k, v in per_lang.items()}


def alternatives(table: Mapping[str, str], languages_: Iterable[str] = LANGUAGES) -> str:
    """The languages' regex alternatives joined into one group body, in language order."""
    return "|".join(table[lang] for lang in languages_ if table.get(lang))
