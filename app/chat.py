"""Chat bookkeeping that needs no Streamlit: turns, incoming messages, follow-up history, filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rag import settings
from rag.text import clip_question
from rag.types import Answer


@dataclass
class Turn:
    """One question and what became of it: a grounded answer, or an error message for the user."""

    question: str
    answer: Answer | None = None
    error: str | None = None
    notice: str | None = None  # e.g. "your message was truncated"
    model: str = ""  # what answered, shown under the answer


@dataclass(frozen=True)
class Incoming:
    question: str
    notice: str | None = None


def prepare_question(raw: str | None, limit: int | None = None) -> Incoming | None:
    """None for an empty message; a huge one is cut at a word boundary, with a notice saying so."""
    text = (raw or "").strip()
    if not text:
        return None
    limit = limit or settings.MAX_QUESTION_CHARS
    if len(text) <= limit:
        return Incoming(text)
    cut = clip_question(text, limit)
    notice = (
        f"Your message was {len(text):,} characters long; only the first {len(cut):,} were used "
        f"(the limit is {limit:,})."
    )
    return Incoming(cut, notice)


def history(turns: list[Turn]) -> list[tuple[str, str]]:
    """(question, answer) pairs of the answered turns, for rewriting follow-up questions."""
    return [(t.question, t.answer.answer) for t in turns if t.answer is not None]


def build_filters(
    langs: list[str], sources: list[str], date_from: str | None, date_to: str | None
) -> dict[str, Any] | None:
    """The retriever's filter dict, or None when nothing is restricted."""
    filters = {
        "lang": list(langs),
        "source": list(sources),
        "date_from": date_from or "",
        "date_to": date_to or "",
    }
    filters = {k: v for k, v in filters.items() if v}
    return filters or None
