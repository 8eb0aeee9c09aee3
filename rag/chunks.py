"""Chunking: a chunk is a paragraph (consecutive non-empty, non-boilerplate lines) with its exact span.

Citations depend on `start_line`/`end_line` being exact, so chunks are built from whole lines and
never re-flowed. Short heading lines ("Rozmowa Biden-Putin") are not chunks of their own: they
become the `section` of the paragraphs below them, which helps those paragraphs retrieve.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from rag import languages
from rag.corpus import Document
from rag.languages import LanguagePack
from rag.types import Chunk


@dataclass(frozen=True)
class ChunkingParams:
    max_chars: int = 1500  # longer paragraphs are split into windows of whole lines
    heading_max_chars: int = 100
    heading_max_words: int = 14

    def to_dict(self) -> dict[str, int]:
        return {"max_chars": self.max_chars, "heading_max_chars": self.heading_max_chars,
                "heading_max_words": self.heading_max_words}


def paragraphs(doc: Document) -> Iterator[list[tuple[int, str]]]:
    """Runs of consecutive indexable lines as (line number, text); blank or boilerplate lines split runs."""
    run: list[tuple[int, str]] = []
    for number, line in enumerate(doc.lines, start=1):
        if line.strip() and number not in doc.skipped_lines:
            run.append((number, line))
        elif run:
            yield run
            run = []
    if run:
        yield run


def is_heading(para: list[tuple[int, str]], params: ChunkingParams) -> bool:
    """A one-line paragraph that reads like a heading: short, few words, no sentence end, no caption."""
    if len(para) != 1:
        return False
    text = para[0][1].strip()
    return (
        len(text) <= params.heading_max_chars
        and len(text.split()) <= params.heading_max_words
        and not re.search(r"[.!:;,”\"'»]$", text)
        and " / " not in text
    )


def windows(para: list[tuple[int, str]], max_chars: int) -> Iterator[list[tuple[int, str]]]:
    """Split a long paragraph into consecutive groups of whole lines of at most ~max_chars each."""
    group: list[tuple[int, str]] = []
    size = 0
    for item in para:
        if group and size + len(item[1]) > max_chars:
            yield group
            group, size = [], 0
        group.append(item)
        size += len(item[1]) + 1
    if group:
        yield group


def chunk_document(doc: Document, params: ChunkingParams | None = None) -> list[Chunk]:
    params = params or ChunkingParams()
    chunks: list[Chunk] = []
    section = ""
    for para in paragraphs(doc):
        if is_heading(para, params) and para[0][0] != 1:
            section = para[0][1].strip()
            continue
        for group in windows(para, params.max_chars):
            chunks.append(Chunk(
                source=doc.source,
                start_line=group[0][0],
                end_line=group[-1][0],
                text="\n".join(line for _, line in group),
                section=section,
                title=doc.title,
                date=doc.date,
                lang=doc.lang,
            ))
    return chunks


def _sentence_end(packs: tuple[LanguagePack, ...]) -> re.Pattern[str]:
    """A sentence ends at . ! ? or … (maybe followed by a closing quote) before a capital of any
    pack's language, a digit or an opening quote/dash. Abbreviations like "r." before a lower-case
    word therefore do not split."""
    capitals = re.escape("".join(p.capitals for p in packs))
    return re.compile(rf"(?<=[.!?…])[\"”»’]?\s+(?=[\"„«“–—-]?\s*[A-Z{capitals}0-9])")


sentence_end = languages.derived(_sentence_end)

MIN_SENTENCE_CHARS = 40  # shorter pieces ("– wskazał.") are glued to the sentence before them


def sentences(text: str, min_chars: int = MIN_SENTENCE_CHARS) -> list[str]:
    """The sentences of a chunk, line by line, for sentence-level dense scoring.

    A 500-character paragraph gets one vector that averages several topics; the sentence that
    answers a question is a sharper match on its own (see rag.retrieve).
    """
    out: list[str] = []
    split_at = sentence_end()
    for line in text.split("\n"):
        for piece in split_at.split(line):
            piece = piece.strip()
            if not piece:
                continue
            if out and len(piece) < min_chars:
                out[-1] += " " + piece
            else:
                out.append(piece)
    return out


def chunk_corpus(docs: list[Document], params: ChunkingParams | None = None) -> list[Chunk]:
    return [chunk for doc in docs for chunk in chunk_document(doc, params)]
