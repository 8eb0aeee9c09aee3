"""What the pipeline needs to know about one language, in one frozen value (see rag.languages)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


def _frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class AnswerExample:
    """One worked answer shown to the model before every question (sources, question, its reply)."""

    sources: str
    question: str
    answer: str


@dataclass(frozen=True)
class CondenseExample:
    """One worked follow-up rewrite: the conversation, the follow-up, and the standalone question."""

    conversation: str
    question: str
    rewrite: str


@dataclass(frozen=True)
class InjectionPatterns:
    """Regex pieces that tell a line addressing an AI reader from news text (see rag.injection).

    They run over folded text (lower case, no diacritics, single spaces) in which the acronyms
    below have been replaced by the word "aimachine". Each tuple holds alternatives that
    rag.injection joins, over all packs, into one regex per kind.
    """

    triggers: tuple[str, ...] = ()  # substrings every pattern below needs one of (a cheap pre-test)
    acronyms: tuple[str, ...] = ()  # case-sensitive, before folding: "AI" is a machine, "ai" a Romanian word
    machine: str = ""  # the alternatives naming a machine reader, as one regex
    override: tuple[str, ...] = ()  # orders against the reader's own rules: enough on their own
    framing: tuple[str, ...] = ()  # a note headed for a machine reader
    addressee: tuple[str, ...] = ()  # someone told how to answer questions (besides `machine`)
    directive: tuple[str, ...] = ()  # an order about what to answer or say


@dataclass(frozen=True, eq=False)  # compared by identity: the mappings inside are not hashable
class LanguagePack:
    """Everything language-specific: words, letters, fixed texts and patterns of one language.

    Word lists are folded (rag.text.fold: lower case, no diacritics) unless a field says otherwise;
    regexes are source strings, compiled by the module that combines them.
    """

    code: str  # ISO 639-1
    name: str  # English name: what the model is told to answer in ("Answer in Polish")
    native_name: str  # the language's own name, shown to readers ("polski")
    lingua: str = ""  # lingua.Language member that detects it ("POLISH"); "" when lingua cannot

    # Retrieval and splitting
    stopwords: frozenset[str] = frozenset()  # function words left out of keyword tokens
    capitals: str = ""  # upper-case letters beyond A-Z that may open a sentence
    letters: str = ""  # lower-case letters beyond a-z that betray this language in would-be English text

    # Fixed texts the reader sees
    no_answer: str = ""  # the model's "sources do not contain the answer" sentence, in this language
    refusal: str = ""  # the answer step's own refusal when the corpus does not say
    lead_in: str = "Here is what the articles say{note}:"  # heads extractive quotes; {note} from below
    quoted_in: Mapping[str, str] = field(default_factory=dict)  # source language -> note "(quoted in Polish)"
    quoted_mixed: str = ""  # the note when quotes come in several languages
    lead_note: str = "From the articles{note}:"  # heads verified lead lines shown in another language
    translated_note: str = ""  # {note} for lead lines shown as checked English renderings

    # Worked examples shown to the model (fixed, so they sit in the reusable prompt prefix)
    answer_example: AnswerExample | None = None
    condense_example: CondenseExample | None = None
    translation_example: tuple[str, str] | None = None  # (a line in this language, its English rendering)

    # Lines and file names that are not news
    copy_words: tuple[str, ...] = ()  # a file name with one of these words is the copy ("kopia")
    teaser_words: tuple[str, ...] = ()  # case-sensitive word opening a teaser of another article ("READ")
    comment_headings: tuple[str, ...] = ()  # regexes of a whole line heading a comment form
    comment_notices: tuple[str, ...] = ()  # regexes of comment-form notices anywhere in a line

    # Questions
    date_prepositions: tuple[str, ...] = ()  # words left dangling once a question's date is cut ("on")
    # Regex alternatives over the folded question, matched as whole words: \b(?:a|b)\b
    asks_quantity: str = ""  # it asks how many / how much / how long
    asks_time: str = ""  # it asks for a day, month or year
    time_openers: tuple[str, ...] = ()  # words asking when only when they open the question ("when":
    # "Where was he when he called?" asks for a place)

    # Checkable details of sentences and lines (rag.ground)
    months: Mapping[int, tuple[str, ...]] = field(default_factory=dict)  # month -> names with inflected forms
    date_months: Mapping[int, tuple[str, ...]] = field(default_factory=dict)  # month words only inside a date
    weekdays: Mapping[int, tuple[str, ...]] = field(default_factory=dict)  # ISO weekday -> names and forms
    number_words: Mapping[str, int] = field(default_factory=dict)  # small numbers written as words
    # Time units after a number ("50 minut", "two hours"): canonical unit -> regex alternatives of the
    # whole folded word. With them "two-hour" and "two-day" differ, which a bare count cannot tell.
    time_units: Mapping[str, str] = field(default_factory=dict)
    unit_joiner: str = ""  # regex of a word between a number and its unit ("50 de minute")
    # One-word compounds of a number and a unit ("dwugodzinny"): number prefix -> value, and
    # canonical unit -> regex of the unit stem that follows the prefix.
    number_prefixes: Mapping[str, int] = field(default_factory=dict)
    compound_units: Mapping[str, str] = field(default_factory=dict)
    abbreviations: frozenset[str] = frozenset()  # a full stop after these does not end a sentence
    not_names: frozenset[str] = frozenset()  # words often capitalised that are no names
    acronyms: Mapping[str, str] = field(default_factory=dict)  # written acronym -> entity ("sua" -> "us")
    source_leads: str = ""  # regex alternatives, any case, unfolded: "according to the sources" before a [n]
    marker_conjunction: str = ""  # regex alternatives, unfolded: the word joining ids inside "[1 and 3]"
    day_range_words: str = ""  # regex alternatives, folded: the word between two days of a range ("9 i 10")

    injection: InjectionPatterns = InjectionPatterns()

    def __post_init__(self) -> None:
        for name in ("quoted_in", "months", "date_months", "weekdays", "number_words", "time_units",
                     "number_prefixes", "compound_units", "acronyms"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
