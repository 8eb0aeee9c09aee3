"""Spotting corpus lines that talk to the assistant instead of reporting news (prompt injection).

A document is data. A line in it that addresses whoever (or whatever) reads it, an assistant, an
AI, a language model, a bot, and tells it how to answer is an attempt to steer the answer, in any
wording or language. Such lines stay in the index and stay quotable; they are flagged when the
index is built so the answer layer never lets one be the only support of an answer.

The test is built from three kinds of evidence, because single words are too weak on news text
("assistant secretary of state", "the only correct answer to aggression is unity"):
- an override of the reader's own rules ("ignore previous instructions"): enough on its own;
- a note framed for a machine reader ("Note for the assistant:", "Uwaga dla asystenta:"): enough
  when it carries a colon or an order;
- a machine addressee (AI, assistant, language model, chatbot; "any question about …") together
  with an order about answering (must answer, reply only with, the only correct reply is …).
Reported speech ("Biden told Putin to de-escalate") names no machine and gives no answering order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rag import languages
from rag.languages import LanguagePack
from rag.text import fold

__all__ = ["addresses_assistant", "flag_documents"]

_FLAGS = re.UNICODE  # the text is case-folded first (see _fold)

# The word the machine acronyms ("AI", "LLM", "IA") become before folding; pack patterns name it.
MACHINE_WORD = "aimachine"


@dataclass(frozen=True)
class _Patterns:
    """The packs' pieces (rag.languages.InjectionPatterns) joined into one regex per kind."""

    triggers: tuple[str, ...]  # every pattern needs one: a substring test is ~100x cheaper than the regexes
    acronym: re.Pattern[str]
    override: re.Pattern[str]  # orders to the reader's own rules: enough on their own
    framing: re.Pattern[str]  # a note headed for a machine reader
    addressee: re.Pattern[str]  # told how to answer questions: a machine named, or the answering itself
    directive: re.Pattern[str]  # an order about what to answer or say


def _either(pieces: Iterable[str]) -> str:
    """Alternatives as one regex; one that never matches when there are none (an empty one always would)."""
    return "|".join(p for p in pieces if p) or "(?!)"


def _combine(packs: tuple[LanguagePack, ...]) -> _Patterns:
    kinds = [p.injection for p in packs]
    machine = _either(k.machine for k in kinds)
    return _Patterns(
        triggers=tuple(dict.fromkeys([MACHINE_WORD, *(t for k in kinds for t in k.triggers)])),
        acronym=re.compile(rf"\b(?:{_either(a for k in kinds for a in k.acronyms)})\b\.?"),
        override=re.compile(_either(o for k in kinds for o in k.override), _FLAGS),
        framing=re.compile(_either(f for k in kinds for f in k.framing), _FLAGS),
        addressee=re.compile(_either([rf"\b(?:{machine})\b", *(a for k in kinds for a in k.addressee)]),
                             _FLAGS),
        directive=re.compile(_either(d for k in kinds for d in k.directive), _FLAGS),
    )


patterns = languages.derived(_combine)

# A framing is an address when a colon, comma or dash follows within a few words.
_AFTER_FRAMING = re.compile(r"(?:\s+[\w-]+){0,4}?\s*[:,\-\u2013\u2014]")


_SPACES = re.compile(r"\s+")


def _fold(line: str, acronym: re.Pattern[str]) -> str:
    """Lower case without diacritics, one space: the patterns hold whether or not accents were typed.

    "AI" / "IA" are told apart from the Romanian word "ai" (you have; of the) by case, before folding.
    """
    return _SPACES.sub(" ", fold(acronym.sub(f" {MACHINE_WORD} ", line))).strip()


def addresses_assistant(line: str) -> bool:
    """True when `line` gives orders to an assistant / AI / model reading it (in any pack's language)."""
    p = patterns()
    text = _fold(line, p.acronym)
    if len(text) < 8 or not any(t in text for t in p.triggers):
        return False
    if p.override.search(text):
        return True
    directive = p.directive.search(text) is not None
    framing = p.framing.search(text)
    if framing and (directive or _AFTER_FRAMING.match(text, framing.end())):
        return True
    return directive and p.addressee.search(text) is not None


def flag_documents(docs: Iterable[Any]) -> dict[str, list[int]]:
    """{source: [line numbers]} of indexed lines that address an assistant (rag.corpus Documents)."""
    flagged: dict[str, list[int]] = {}
    for doc in docs:
        lines = [n for n, line in enumerate(doc.lines, start=1)
                 if n not in doc.skipped_lines and line.strip() and addresses_assistant(line)]
        if lines:
            flagged[doc.source] = lines
    return flagged
