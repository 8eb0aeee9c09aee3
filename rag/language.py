"""Language identification for documents and questions, with a model that ships inside the wheel."""

from __future__ import annotations

from functools import lru_cache

SUPPORTED = ("en", "pl", "ro")
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English", "pl": "Polish", "ro": "Romanian", "de": "German", "fr": "French",
    "ru": "Russian", "uk": "Ukrainian", "es": "Spanish", "it": "Italian",
}
_EXTRA = ("de", "fr", "ru", "uk", "es", "it")


@lru_cache(maxsize=1)
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    langs = [getattr(Language, LANGUAGE_NAMES[c].upper()) for c in SUPPORTED + _EXTRA]
    return LanguageDetectorBuilder.from_languages(*langs).build()


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
    """The language to answer in: the question's, limited to the ones the bot speaks."""
    lang = detect_language(question)
    return lang if lang in SUPPORTED else "en"
