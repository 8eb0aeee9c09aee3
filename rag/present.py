"""Present: what the reader sees, in their language where a checked form exists.

A line is shown to a reader in its own words when it is in the reader's language, else as its
checked English rendering (rag.render), else as it is. The same form is what the model writes
from, so a Polish question over Polish lines is answered from the Polish text and an English one
from English text. The verified lead lines come first, before the model starts; the model's
checked sentences follow them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag import languages
from rag.ground.citations import line_citations
from rag.ground.evidence import Evidence
from rag.ground.lines import Line
from rag.ground.sentences import split_sentences
from rag.types import Answer, Citation
from rag.vector_cache import embed_documents_cached


def reader_text(line: Line, language: str) -> str:
    """The line as this reader should read it (and the model write from it)."""
    if line.lang == language or not line.rendering:
        return line.text.strip()
    return line.rendering.strip()


def is_rendered_for(line: Line, language: str) -> bool:
    return line.lang != language and bool(line.rendering)


_CLAUSE_BREAK = re.compile(r"(?<=;)\s+")


def excerpt_parts(text: str, max_chars: int) -> list[str]:
    """The sentences of `text`, one longer than `max_chars` cut after its semicolons: a list of
    demands written as one sentence can then be excerpted at the item the question asks about."""
    parts: list[str] = []
    for sentence in split_sentences(text):
        pieces = _CLAUSE_BREAK.split(sentence.text) if len(sentence.text) > max_chars else [sentence.text]
        parts.extend(p for p in pieces if p)
    return parts


def excerpt(text: str, question_vec: np.ndarray | None, evidence: Evidence, max_chars: int) -> str:
    """`text`, or when longer than `max_chars` its sentences (or clauses) closest to the question, in order."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    parts = excerpt_parts(text, max_chars) if question_vec is not None else []
    if len(parts) < 2:
        return text[:max_chars].rsplit(" ", 1)[0] + " …"
    scores = embed_documents_cached(evidence.embedder, parts) @ question_vec
    keep: list[int] = []
    for i in np.argsort(-scores):
        if not keep or sum(len(parts[k]) for k in keep) + len(parts[int(i)]) <= max_chars:
            keep.append(int(i))
    keep.sort()
    body = parts[keep[0]]
    for prev, i in zip(keep, keep[1:]):
        body += (" " if i == prev + 1 else " … ") + parts[i]
    return ("" if keep[0] == 0 else "… ") + body + ("" if keep[-1] == len(parts) - 1 else " …")


@dataclass
class Composer:
    """Numbers citations in the order the reader meets them and joins the answer's parts."""

    evidence: Evidence
    language: str
    citations: list[Citation] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)

    def markers(self, line_ids: Sequence[int]) -> str:
        numbers = []
        for cite in line_citations(self.evidence, line_ids):
            if cite not in self.citations:
                self.citations.append(cite)
            numbers.append(self.citations.index(cite) + 1)
        return "".join(f"[{n}]" for n in dict.fromkeys(numbers))

    def quote(self, j: int, question_vec: np.ndarray | None, max_chars: int) -> str:
        text = excerpt(reader_text(self.evidence.lines[j], self.language), question_vec, self.evidence, max_chars)
        return f"“{text}” {self.markers([j])}"

    def lead_block(self, lead: Sequence[int], question_vec: np.ndarray | None, max_chars: int) -> str:
        """The verified lines, introduced in the reader's language (saying when they are renderings)."""
        if not lead:
            return ""
        lang = languages.fallback(self.language)
        rendered = any(is_rendered_for(self.evidence.lines[j], self.language) for j in lead)
        head = lang.lead_note.format(note=lang.translated_note if rendered else "")
        quotes = [self.quote(j, question_vec, max_chars) for j in lead]
        for j, q in zip(lead, quotes):
            self.details.append({"text": q, "supported": True, "score": 1.0, "kind": "verified line",
                                 "citations": [c.to_dict() for c in line_citations(self.evidence, [j])]})
        return "\n".join([head, *(f"- {q}" for q in quotes)])

    def sentence(self, text: str, line_ids: Sequence[int]) -> str:
        """A checked sentence with its markers before the closing punctuation."""
        marks = self.markers(line_ids)
        m = re.search(r"[.!?…]+[\"”»’')]*$", text)
        return f"{text[:m.start()]} {marks}{text[m.start():]}" if m else f"{text} {marks}"

    def answer(self, question: str, parts: Sequence[str], timings: dict[str, float]) -> Answer:
        return Answer(question=question, answer="\n\n".join(p for p in parts if p), language=self.language,
                      refused=False, citations=list(self.citations), passages=self.evidence.passages,
                      timings=dict(timings), sentences=list(self.details))
