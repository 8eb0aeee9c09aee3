"""Sentences and [n] markers: split a model answer (or a long source line) into sentences, each
keeping the source numbers the model cited in it.

A regex, not pysbd: pysbd has no Romanian and splits Polish "1997 r. (przed" and "tj. w".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.ground import lexicon
from rag.text import fold

_ABBREVIATIONS = lexicon.words(lexicon.ABBREVIATIONS)
_CONJUNCTIONS = lexicon.alternatives(lexicon.MARKER_CONJUNCTIONS)
_END = re.compile(r"[.!?…]+[\"”»’')\]]*(?P<marks>(?:\s*\[[^\[\]\n]{1,24}\])*)(?=\s|$)")
_MARKER = re.compile(rf"\s*\[\s*(?:[^\[\]\d\n]{{0,12}}?)\s*(\d+(?:\s*(?:[,;–-]|{_CONJUNCTIONS})\s*\d+)*)\s*\]", re.I)
_MARKER_SEPARATOR = re.compile(rf"\s*(?:[,;]|{_CONJUNCTIONS})\s*", re.I)  # as _MARKER: "[1 AND 3]" too
_RANGE = re.compile(r"^(\d+)\s*[–-]\s*(\d+)$")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+")
# "According to source [3], …" / "Według źródła [2] …": the marker is the whole point of such a
# lead, so the lead goes with it.
_SOURCE_LEAD = lexicon.alternatives(lexicon.SOURCE_LEADS)
_LEAD_WITH_MARKER = re.compile(rf"(?:{_SOURCE_LEAD})(?P<m>(?:\s*\[[^\[\]\n]{{1,24}}\])+)\s*,?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Sentence:
    """One answer sentence without its [n] markers; `hints` keeps the numbers the model cited."""

    text: str
    hints: tuple[int, ...] = ()


def _marker_numbers(group: str) -> list[int]:
    """"1, 3" -> [1, 3]; "1-3" -> [1, 2, 3] (ranges are short; capped to avoid silly spans)."""
    out: list[int] = []
    for part in _MARKER_SEPARATOR.split(group):
        span = _RANGE.match(part.strip())
        first, last = (int(span[1]), int(span[2])) if span else (0, 0)
        if span and 0 < last - first <= 10:
            out.extend(range(first, last + 1))
        else:
            out.extend(int(x) for x in re.findall(r"\d+", part))
    return out


def strip_markers(text: str) -> tuple[str, tuple[int, ...]]:
    """Text without [n] markers (and "according to source [n]," leads), and the cited numbers in order."""
    hints: list[int] = []
    text = _LEAD_WITH_MARKER.sub(lambda m: m.group("m") + " ", text)
    for match in _MARKER.finditer(text):
        hints.extend(n for n in _marker_numbers(match.group(1)) if n not in hints)
    clean = _MARKER.sub("", text)
    clean = re.sub(r"\s+([.,;:!?…])", r"\1", clean)
    clean = re.sub(r"\s{2,}", " ", clean).strip()
    return clean[:1].upper() + clean[1:], tuple(hints)


def _is_boundary(block: str, match: re.Match[str]) -> bool:
    """A sentence end unless an abbreviation or initial precedes it, or lowercase text follows."""
    rest = block[match.end():].lstrip()
    if rest and (rest[0].islower() or rest[0] in ",;:"):
        return False
    if match.group(0).startswith("."):
        word = re.search(r"(\S+)$", block[: match.start()])
        token = fold(word.group(1)).strip("(\"'„“") if word else ""
        if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
            return False
    return True


def _split_block(block: str) -> list[str]:
    pieces, start = [], 0
    for match in _END.finditer(block):
        if _is_boundary(block, match):
            pieces.append(block[start: match.end()].strip())
            start = match.end()
    pieces.append(block[start:].strip())
    return [p for p in pieces if p]


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of a model answer (or a long source line), each with the [n] markers it carried.

    A marker written after the full stop ("… paths. [1]") still belongs to the sentence before it.
    """
    out: list[Sentence] = []
    for raw_block in text.splitlines():
        block = _BULLET.sub("", raw_block).strip()
        for piece in _split_block(block):
            clean, hints = strip_markers(piece)
            if re.search(r"\w", clean):
                out.append(Sentence(clean, hints))
    return out
