"""Language knowledge the grounding needs, by language code: one place to extend (or move into
per-language packs) when a language is added.

Everything is written folded (rag.text.fold: lowercase, no diacritics) unless noted, because the
grounding matches folded text. Tables that hold words of several languages at once (month names
by number) are kept per language here and merged where they are read (`merged_words`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

LANGUAGES = ("en", "pl", "ro")

# Words after which a full stop does not end a sentence.
ABBREVIATIONS: dict[str, str] = {
    "en": "mr mrs ms dr prof st jr sr vs etc e.g i.e u.s u.k no gen col sen rep gov lt sgt capt approx",
    "pl": "r tj np m.in ok godz ul wg tzw plk sw itd itp tys mln mld zob br nr pt ds jw ww dot ang ros",
    "ro": "dl dna dvs art sf mil str",
}

# "According to source [3], …": a lead naming the sources, dropped together with its marker.
# Regex alternatives, matched case-insensitively on the unfolded text.
SOURCE_LEADS: dict[str, str] = {
    "en": r"\b(?:according to|as (?:stated|reported|mentioned) in|based on|per|in)\s+(?:the\s+)?sources?",
    "pl": r"\b(?:według|zgodnie ze?|na podstawie|jak podaje|w)\s+źródł\w*",
    "ro": r"\b(?:potrivit|conform|după|în)\s+surse\w*",
}

# Month names (all inflected forms) by month number.
MONTHS: dict[str, dict[int, str]] = {
    "en": {1: "january", 2: "february", 3: "march", 4: "april", 6: "june", 7: "july", 8: "august",
           9: "september", 10: "october", 11: "november", 12: "december"},
    "pl": {1: "styczen stycznia styczniu", 2: "luty lutego lutym", 3: "marzec marca marcu",
           4: "kwiecien kwietnia kwietniu", 5: "maj maja maju", 6: "czerwiec czerwca czerwcu",
           7: "lipiec lipca lipcu", 8: "sierpien sierpnia sierpniu", 9: "wrzesien wrzesnia wrzesniu",
           10: "pazdziernik pazdziernika pazdzierniku", 11: "listopad listopada listopadzie",
           12: "grudzien grudnia grudniu"},
    "ro": {1: "ianuarie", 2: "februarie", 3: "martie", 4: "aprilie", 6: "iunie", 7: "iulie", 8: "august",
           9: "septembrie", 10: "octombrie", 11: "noiembrie", 12: "decembrie"},
}
# Month words that are also common words or short forms ("may", "mar"): months only inside a date.
MONTHS_ONLY_IN_DATES: dict[str, dict[int, str]] = {
    "en": {5: "may", 1: "jan", 2: "feb", 3: "mar", 4: "apr", 6: "jun", 7: "jul", 8: "aug", 9: "sep sept",
           10: "oct", 11: "nov", 12: "dec"},
    "pl": {},
    "ro": {5: "mai"},
}
# Weekday names by ISO number (Monday = 1). Romanian "luni" (Monday) is left out: it also means "months".
WEEKDAYS: dict[str, dict[int, str]] = {
    "en": {1: "monday", 2: "tuesday", 3: "wednesday", 4: "thursday", 5: "friday", 6: "saturday", 7: "sunday"},
    "pl": {1: "poniedzialek poniedzialku", 2: "wtorek wtorku", 3: "sroda srode srody srodzie",
           4: "czwartek czwartku", 5: "piatek piatku", 6: "sobota sobote soboty", 7: "niedziela niedziele niedzieli"},
    "ro": {2: "marti", 3: "miercuri", 4: "joi", 5: "vineri", 6: "sambata", 7: "duminica"},
}
# Small numbers written as words: a hint that "two" and "dwie" agree, never checked strictly.
NUMBER_WORDS: dict[str, dict[str, int]] = {
    "en": {"once": 1, "twice": 2, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
           "nine": 9, "ten": 10, "twelve": 12, "fifty": 50, "hundred": 100},
    "pl": {"dwukrotnie": 2, "trzykrotnie": 3, "dwa": 2, "dwie": 2, "dwoch": 2, "dwoma": 2, "trzy": 3, "trzech": 3,
           "cztery": 4, "czterech": 4, "piec": 5, "pieciu": 5, "szesc": 6, "szesciu": 6, "siedem": 7, "osiem": 8,
           "dziewiec": 9, "dziesiec": 10, "piecdziesiat": 50, "sto": 100},
    "ro": {"doi": 2, "doua": 2, "trei": 3, "patru": 4, "cinci": 5, "sase": 6, "sapte": 7, "zece": 10,
           "cincizeci": 50, "suta": 100},
}
# Joining words inside a citation marker ("[1 and 3]"), as regex alternatives (not folded).
MARKER_CONJUNCTIONS: dict[str, str] = {"en": "and", "pl": "i", "ro": "și"}
# Joining words between the two days of a range ("9-10", "9 and 10", "9 i 10"), as regex alternatives.
DAY_RANGE_WORDS: dict[str, str] = {"en": "and|to", "pl": "i", "ro": "si"}

# International acronyms written differently per language -> one canonical entity. Only when written
# in capitals, since "us" and "un" are words too. Other names are matched across languages through the
# lines' checked English renderings (rag.render), not through a gazetteer.
ACRONYMS: dict[str, dict[str, str]] = {
    "en": {"us": "us", "usa": "us", "u.s": "us", "nato": "nato", "eu": "eu", "un": "un"},
    "pl": {"usa": "us", "nato": "nato", "ue": "eu", "onz": "un"},
    "ro": {"sua": "us", "nato": "nato", "otan": "nato", "ue": "eu"},
}

# Capitalised words that are not names: sentence openers, titles, function words.
NOT_NAMES: dict[str, str] = {
    "en": """the a an in on at of for and but or he she it they we i you this that these those there his her their
    its according however also both after before during while when what who whom whose which why how where
    did does do is are was were will would can could should has have had if then yes no not mr mrs ms
    president presidents minister secretary spokesman spokeswoman spokesperson prime general chief leader
    leaders sources source article articles corpus council talks
    here since although because instead only some many most other another such each every all none neither
    either later earlier now meanwhile furthermore moreover additionally finally first second third overall
    specifically notably nevertheless thus therefore so as by with from to into about over under between""",
    "pl": """w we z ze na do od po o u i a ale oraz lub ze to ten ta te tak jak gdy kiedy wedlug ponadto jednak takze
    rowniez obaj obie oba on ona ono oni one jego jej ich co kto czy dlaczego jaki jaka jakie ile gdzie
    prezydent prezydenta prezydentem premier minister rzecznik rzeczniczka szef sekretarz pan pani zrodla
    zrodlo korpus rada rady
    natomiast dodatkowo nastepnie wczesniej pozniej poza przed podczas chociaz poniewaz zas tylko wszystkie
    zaden nie tym tego przy dla bez pod nad miedzy""",
    "ro": """in la pe de din cu si dar iar ca el ea ei ele acesta aceasta potrivit conform totusi insa ce cine care
    cand unde cum presedintele presedinte ministrul secretarul purtatorul sursele sursa corpusul
    apoi ulterior anterior totodata desi pentru deoarece doar toate niciun ambele nu acest aceasta aceste
    astfel dupa inainte intre sub""",
}

# Questions that can only be answered with a figure ("how many") or a time ("when"): regex
# alternatives on the folded question. A time opener counts only at the question's start ("Where
# was he when he called?" asks for a place).
ASKS_QUANTITY: dict[str, str] = {"en": "how (?:many|much|long)", "pl": "ile|ilu|jak dlugo", "ro": "cati|cate|cat"}
ASKS_TIME_OPENERS: dict[str, str] = {"en": "when", "pl": "kiedy", "ro": "cand"}
ASKS_TIME: dict[str, str] = {
    "en": "(?:what|which) (?:day|date|month|year)",
    "pl": "(?:jakim|ktorym) (?:dniu|miesiacu|roku)|(?:jakiego|ktorego) dnia",
    "ro": "in ce (?:zi|luna|an)|(?:ce|care) (?:zi|data|luna)",
}

# The honest "the corpus does not say", in the reader's language (not folded: shown to readers).
REFUSALS: dict[str, str] = {
    "en": "The corpus does not say. None of the articles I can search answers this question.",
    "pl": "Korpus nie zawiera odpowiedzi na to pytanie. Żaden z dostępnych artykułów o tym nie mówi.",
    "ro": "Corpusul nu spune nimic despre asta. Niciunul dintre articolele disponibile nu răspunde la această "
          "întrebare.",
}


def words(table: Mapping[str, str]) -> frozenset[str]:
    """Every word of a per-language word list, all languages together."""
    return frozenset(w for text in table.values() for w in text.split())


def merged_words(*tables: Mapping[str, Mapping[int, str]]) -> dict[str, int]:
    """word -> number over all languages of the given number-keyed tables (later tables win)."""
    return {w: number for table in tables for per_lang in table.values()
            for number, text in per_lang.items() for w in text.split()}


def merged(table: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """One mapping from a per-language mapping, all languages together."""
    return {k: v for per_lang in table.values() for k, v in per_lang.items()}


def alternatives(table: Mapping[str, str], languages: Iterable[str] = LANGUAGES) -> str:
    """The languages' regex alternatives joined into one group body, in language order."""
    return "|".join(table[lang] for lang in languages if table.get(lang))
