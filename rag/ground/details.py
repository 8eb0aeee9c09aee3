"""Checkable details: the names, entities, numbers, dates, months and weekdays a text states.

With a 384-dimension embedder these are the most reliable sign of a made-up sentence, so they are
matched exactly (dates and month/weekday names mapped across languages, names transliterated).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from rag.ground import lexicon
from rag.ground.names import names_match, translit
from rag.text import fold

MONTH_WORDS = lexicon.merged_words(lexicon.MONTHS)
DATE_MONTH_WORDS = lexicon.merged_words(lexicon.MONTHS, lexicon.MONTHS_ONLY_IN_DATES)
WEEKDAY_WORDS = lexicon.merged_words(lexicon.WEEKDAYS)
_NOT_NAMES = lexicon.words(lexicon.NOT_NAMES)
_ACRONYMS = lexicon.merged(lexicon.ACRONYMS)
_MONTH_RE = "|".join(sorted(DATE_MONTH_WORDS, key=len, reverse=True))
_DAY = r"(\d{1,2})(?:st|nd|rd|th|\.)?"
_RANGE = "-|–|—|" + lexicon.alternatives(lexicon.DAY_RANGE_WORDS)
_RANGE_EN = "-|–|—|" + lexicon.DAY_RANGE_WORDS["en"]  # month-first dates are English word order
DATE_DAY_FIRST = re.compile(rf"\b{_DAY}(?:\s*(?:{_RANGE})\s*{_DAY})?\s+(?:of\s+)?({_MONTH_RE})\b")
DATE_MONTH_FIRST = re.compile(rf"\b({_MONTH_RE})\s+{_DAY}(?:\s*(?:{_RANGE_EN})\s*{_DAY})?\b(?!\d)")

KIND_WEIGHT = {"date": 2.0, "num": 1.5, "span": 1.5, "count": 1.0, "weekday": 1.0, "month": 1.0, "entity": 1.0,
               "name": 1.0}


@dataclass(frozen=True)
class Key:
    """A checkable detail of a text: a name, entity, number, time span, date, month or weekday."""

    kind: str  # "date" | "month" | "weekday" | "num" | "count" | "span" | "entity" | "name"
    value: str


@dataclass(frozen=True)
class LineKeys:
    """What a source line offers to match against: exact keys ("date:30.12") and transliterated names."""

    exact: frozenset[str]
    names: tuple[str, ...]

    def has(self, key: Key) -> bool:
        if key.kind == "name":
            return any(names_match(key.value, n) for n in self.names)
        return f"{key.kind}:{key.value}" in self.exact


def _date_keys(folded: str) -> tuple[list[Key], set[tuple[int, int]]]:
    """Day+month dates in any of the known word orders, and the character spans they consumed."""
    keys: list[Key] = []
    spans: set[tuple[int, int]] = set()
    for pattern, month_group, day_groups in ((DATE_DAY_FIRST, 3, (1, 2)), (DATE_MONTH_FIRST, 1, (2, 3))):
        for m in pattern.finditer(folded):
            month = DATE_MONTH_WORDS[m.group(month_group)]
            days = [int(m.group(g)) for g in day_groups if m.group(g)]
            if not all(1 <= d <= 31 for d in days):
                continue
            keys.extend(Key("date", f"{d}.{month}") for d in days)
            keys.append(Key("month", str(month)))
            spans.add(m.span())
    return keys, spans


def _in_spans(pos: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(a <= pos < b for a, b in spans)


def _number_keys(folded: str, lang: str, skip: set[tuple[int, int]]) -> list[Key]:
    """Digits (outside dates) as "num"; small number words of the text's language as "count".

    Only digits are checked strictly (a wrong figure is a hallucination); "two" vs "dwie" is a hint.
    """
    keys = [Key("num", str(int(m.group()))) for m in re.finditer(r"\d+", folded)
            if not _in_spans(m.start(), skip) and len(m.group()) <= 9]
    words = lexicon.NUMBER_WORDS.get(lang, {})
    keys += [Key("count", str(words[w])) for w in re.findall(r"[a-z]+", folded) if w in words]
    return keys


@functools.cache
def _span_patterns(lang: str) -> tuple[re.Pattern[str], re.Pattern[str] | None, dict[str, int]]:
    """The language's "number unit" and "numberunit" patterns (every language's units when unknown)."""
    codes = [lang] if lang in lexicon.TIME_UNITS else list(lexicon.LANGUAGES)
    groups: dict[str, list[str]] = {}
    for code in codes:
        for unit, words in lexicon.TIME_UNITS[code].items():
            groups.setdefault(unit, []).append(words)
    units = "|".join(f"(?P<{unit}>{'|'.join(words)})" for unit, words in groups.items())
    numbers = lexicon.NUMBER_WORDS.get(lang, {})
    number = "|".join([r"\d{1,4}", *sorted(numbers, key=len, reverse=True)])
    joiner = lexicon.UNIT_JOINERS.get(lang, "")
    joined = rf"(?:(?:{joiner})\s+)?" if joiner else ""
    plain = re.compile(rf"\b({number})(?:\s*-\s*|\s+){joined}(?:{units})\b")
    prefixes, stems = lexicon.NUMBER_PREFIXES.get(lang, {}), lexicon.COMPOUND_UNITS.get(lang, {})
    compound = None
    if prefixes and stems:
        stem = "|".join(f"(?P<{unit}>{words})" for unit, words in stems.items())
        compound = re.compile(rf"\b({'|'.join(sorted(prefixes, key=len, reverse=True))})(?:{stem})\w*")
    return plain, compound, {**numbers, **prefixes}


def _unit(match: re.Match[str]) -> str:
    return next(unit for unit, text in match.groupdict().items() if text)


def _span_keys(folded: str, lang: str) -> list[Key]:
    """A number with its time unit as "span:2 hour" ("dwugodzinna", "two-hour", "50 de minute").

    A bare count cannot tell a two-hour call from a two-day one; a year ("2022 roku") is no span.
    A one-word compound also gives its count, so "two hours" still meets "dwugodzinna".
    """
    plain, compound, values = _span_patterns(lang)
    keys: list[Key] = []
    for m in plain.finditer(folded):
        value = int(m.group(1)) if m.group(1).isdigit() else values.get(m.group(1))
        if value is not None and not (len(m.group(1)) == 4 and 1800 <= value <= 2200):
            keys.append(Key("span", f"{value} {_unit(m)}"))
    for m in compound.finditer(folded) if compound else ():
        keys += [Key("span", f"{values[m.group(1)]} {_unit(m)}"), Key("count", str(values[m.group(1)]))]
    return keys


def _calendar_word_keys(folded: str) -> list[Key]:
    words = re.findall(r"[a-z]+", folded)
    return ([Key("month", str(MONTH_WORDS[w])) for w in words if w in MONTH_WORDS]
            + [Key("weekday", str(WEEKDAY_WORDS[w])) for w in words if w in WEEKDAY_WORDS])


def _entity(word: str, folded: str) -> str | None:
    """The canonical entity an acronym names (NATO/OTAN, US/SUA), else None."""
    if folded in _ACRONYMS and word.replace(".", "").isupper():
        return _ACRONYMS[folded]
    return None


def _word_keys(text: str) -> list[Key]:
    """Entities (any case) and other capitalised words as names.

    A sentence-initial word is a name too unless it is a common word: "Macron told Putin…" must
    be checked, "According to…" must not.
    """
    keys: list[Key] = []
    for m in re.finditer(r"[^\W\d_]+(?:\.[^\W\d_]\b)?", text):
        word, folded = m.group(), fold(m.group())
        entity = _entity(word, folded)
        if entity:
            keys.append(Key("entity", entity))
            continue
        if not word[0].isupper() or folded in _NOT_NAMES:
            continue
        if folded in MONTH_WORDS or folded in WEEKDAY_WORDS or folded in DATE_MONTH_WORDS:
            continue
        if len(folded) <= 2 or (len(folded) == 3 and not word.isupper()):
            continue  # "TV", "Mr", "Dl": too short to tell a name from an abbreviation
        keys.append(Key("name", translit(word)))
    return keys


def extract_keys(text: str, lang: str = "", evidence: bool = False) -> list[Key]:
    """Names, entities, numbers, dates, months and weekdays of a sentence or line, without duplicates.

    A claim's date "30 December" yields date+month keys only; a source line also yields its bare
    numbers, so "30" in an answer still matches "30 grudnia".
    """
    folded = fold(text)
    dates, spans = _date_keys(folded)
    keys = dates + _number_keys(folded, lang, set() if evidence else spans) + _span_keys(folded, lang)
    keys += _calendar_word_keys(folded)
    keys += _word_keys(text)
    return list(dict.fromkeys(keys))


def line_keys(text: str, lang: str = "", date: str = "") -> LineKeys:
    """Evidence keys of a source line; the article's date ("2021-12") counts as said by every line."""
    keys = extract_keys(text, lang, evidence=True)
    exact = {f"{k.kind}:{k.value}" for k in keys if k.kind != "name"}
    exact |= {f"{kind}:{k.value}" for k in keys if k.kind in ("num", "count") for kind in ("num", "count")}
    if re.match(r"\d{4}-\d{2}", date or ""):
        exact |= {f"num:{int(date[:4])}", f"month:{int(date[5:7])}"}
    # Any longer word may answer a claim's name: "Minsk" is "mińskich", "Diplomacy" "dyplomacji".
    words = {translit(w) for w in re.findall(r"[^\W\d_]{4,}", text)}
    return LineKeys(frozenset(exact), tuple(sorted(words | {k.value for k in keys if k.kind == "name"})))


def is_year(key: Key) -> bool:
    """A four-digit number a news text would use as a year ("in 2022"), not a count."""
    return key.kind == "num" and key.value.isdigit() and len(key.value) == 4 and 1800 <= int(key.value) <= 2200
