"""Language identification for documents and questions, with a model that ships inside the wheel."""

from __future__ import annotations

from functools import lru_cache

from rag import languages

# Languages without a pack that the detector still tells apart, so that a German document is
# called German (and rendered from German), not the nearest language with a pack.
OTHER_LANGUAGES: dict[str, str] = {
    "de": "German", "fr": "French", "ru": "Russian", "uk": "Ukrainian", "es": "Spanish", "it": "Italian",
}


def language_names() -> dict[str, str]:
    """ISO code -> English name of every language a pack or the detector knows."""
    names = {p.code: p.name for p in languages.packs()}
    return names | {code: name for code, name in OTHER_LANGUAGES.items() if code not in names}


def _detected() -> tuple[str, ...]:
    """lingua.Language member names the detector chooses among."""
    packs = languages.packs()
    own = tuple(p.lingua for p in packs if p.lingua)
    codes = {p.code for p in packs}
    return own + tuple(name.upper() for code, name in OTHER_LANGUAGES.items() if code not in codes)


@lru_cache(maxsize=2)
def _detector_of(members: tuple[str, ...]):
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(*(getattr(Language, m) for m in members)).build()


def _detector():
    return _detector_of(_detected())


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code of `text`; `default` when the text is too short or ambiguous to tell."""
    text = (text or "").strip()
    if not text:
        return default
    lang = _detector().detect_language_of(text)
    if lang is None:
        return default
    return lang.iso_code_639_1.name.lower()


def answer_language(question: str) -> str:
    """The language to answer in: the question's when it has a pack, else the default language."""
    lang = detect_language(question)
    return lang if lang in languages.supported() else languages.DEFAULT
