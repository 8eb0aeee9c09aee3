"""Language packs: everything the pipeline knows about a language, one module per language.

Every module that needs a word list, a fixed text or a pattern of some language asks the packs
here instead of holding its own table, so a language is added in one place.

Adding a language (say German)
------------------------------
Write ``rag/languages/de.py`` defining ``PACK = LanguagePack(code="de", ...)`` (see
``rag.languages.pack`` for every field; ``en.py`` is the fullest example). Nothing else needs
editing: the modules of this package are found at import, and code that combines packs (the
keyword stop words, the sentence-end regex, the injection patterns, the model's refusal
sentences) rebuilds from whatever is registered. A pack can also be registered at run time
with ``register`` (tests do); the combined values follow.

What the fields are for, in short:
- ``code``, ``name``, ``native_name``, ``lingua``: identity. ``name`` goes into prompts ("Answer
  in German"), ``native_name`` onto the page; ``lingua`` lets the detector recognise questions.
- ``stopwords``: left out of keyword (BM25) tokens; the index uses the union over all packs.
- ``capitals`` / ``letters``: letters beyond A-Z. Capitals may open a sentence (chunk sentence
  splitting); lower-case letters show that a would-be English rendering is still in the source.
- ``no_answer``, ``refusal``, ``lead_in``, ``quoted_in``, ``quoted_mixed``, ``lead_note``,
  ``translated_note``: the fixed texts a reader sees in this language.
- ``answer_example``, ``condense_example``, ``translation_example``: worked examples shown to
  the model; they are fixed, so they stay in the reusable prompt prefix.
- ``copy_words``, ``teaser_words``, ``comment_headings``, ``comment_notices``: file names and
  lines that are site furniture, not news (rag.boilerplate).
- ``date_prepositions``, ``asks_quantity``, ``asks_time``, ``time_openers``: how questions name
  a date or ask for a figure or a time.
- ``months``, ``date_months``, ``weekdays``, ``number_words``, ``time_units``, ``unit_joiner``,
  ``number_prefixes``, ``compound_units``, ``abbreviations``, ``not_names``,
  ``acronyms``, ``source_leads``, ``marker_conjunction``, ``day_range_words`` (and ``refusal``,
  ``asks_quantity``, ``asks_time``, ``time_openers``): what the grounding check reads in
  sentences, lines and questions (gathered by rag.ground.lexicon; its patterns are compiled at
  import, so a pack registered later reaches the refusal text but not the date patterns).
- ``injection``: how a line addressing an AI reader is worded (rag.injection).
Empty fields are allowed: a language without an example simply shows none. Two costs to know:
an ``answer_example`` adds a turn to every answer prompt (a longer fixed prefix to evaluate
once), and without ``lingua`` questions in the language are never recognised as such.
Packs combine in the order of ``packs()``: English first, then by code.

A question in a language without a pack
---------------------------------------
``rag.language.answer_language`` answers it in English (``DEFAULT``), and ``fallback(code)``
gives the English pack for any code without one, so lead-ins and notes come out in English.
Documents in such a language are still indexed, quoted and rendered into English like any other
(the rendering prompt names the language by ``rag.language.language_names``, else by its code);
only its function words stay in the keyword index and its capitals do not open sentences. The
detector tells a few such languages apart (``rag.language.OTHER_LANGUAGES``) so that, say, a
German document is not taken for Polish.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import TypeVar

from rag.languages.pack import AnswerExample, CondenseExample, InjectionPatterns, LanguagePack

__all__ = ["DEFAULT", "AnswerExample", "CondenseExample", "InjectionPatterns", "LanguagePack", "derived",
           "fallback", "pack", "packs", "register", "supported", "unregister"]

DEFAULT = "en"  # answers to questions in a language without a pack are written in this one
_NOT_PACKS = frozenset({"pack"})  # modules of this package that hold no language

T = TypeVar("T")
_registry: dict[str, LanguagePack] = {}
_generation = 0  # bumped on every change, so combined values know to rebuild


def register(language: LanguagePack) -> None:
    """Add (or replace) a pack; everything built from the packs is rebuilt on next use."""
    global _generation
    _registry[language.code] = language
    _generation += 1


def unregister(code: str) -> None:
    """Remove a pack registered at run time (tests); unknown codes are ignored."""
    global _generation
    if _registry.pop(code, None) is not None:
        _generation += 1


def packs() -> tuple[LanguagePack, ...]:
    """Every pack, the default language first, then by code: combined values keep this order."""
    return tuple(sorted(_registry.values(), key=lambda p: (p.code != DEFAULT, p.code)))


def supported() -> tuple[str, ...]:
    """Codes of the languages the bot answers in."""
    return tuple(p.code for p in packs())


def pack(code: str) -> LanguagePack:
    """The pack for an ISO code; KeyError when there is none."""
    return _registry[code]


def fallback(code: str) -> LanguagePack:
    """The pack for `code`, or the default language's when it has none."""
    return _registry.get(code) or _registry[DEFAULT]


def derived(build: Callable[[tuple[LanguagePack, ...]], T]) -> Callable[[], T]:
    """A value built from all packs (a combined regex, a union of word sets), rebuilt when they change."""
    cache: dict[int, T] = {}

    def get() -> T:
        value = cache.get(_generation)
        if value is None:
            cache.clear()
            value = cache[_generation] = build(packs())
        return value

    get.__doc__ = build.__doc__
    return get


def _discover() -> None:
    """Register the PACK of every language module in this package."""
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name in _NOT_PACKS:
            continue
        register(importlib.import_module(f"{__name__}.{info.name}").PACK)


_discover()
