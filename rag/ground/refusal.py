"""The refusal: the honest "the corpus does not say", in the reader's language."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rag.ground.lexicon import refusal
from rag.types import Answer, Passage


def refusal_text(language: str) -> str:
    return refusal(language)


def refusal_answer(question: str, language: str, passages: Sequence[Passage],
                   timings: dict[str, float] | None = None, sentences: list[dict[str, Any]] | None = None) -> Answer:
    """The refusal as an Answer, keeping the closest passages for the UI to offer."""
    return Answer(question=question, answer=refusal_text(language), language=language, refused=True,
                  citations=[], passages=list(passages), timings=dict(timings or {}), sentences=sentences or [])
