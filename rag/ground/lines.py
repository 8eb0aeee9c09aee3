"""Evidence lines: every retrieved source line once, the unit a citation points at, with what it states."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.ground.details import Key, LineKeys, extract_keys, line_keys
from rag.ground.sentences import split_sentences
from rag.injection import addresses_assistant
from rag.types import Passage


@dataclass(frozen=True)
class Line:
    """One retrieved source line: the unit of citation."""

    source: str
    number: int
    text: str
    passage: int  # index of the first retrieved passage that holds it
    lang: str = ""
    date: str = ""
    rendering: str = ""  # checked English rendering (rag.render); "" for English lines or none passed


def collect_lines(passages: Sequence[Passage]) -> list[Line]:
    """Every line of the retrieved passages once, in retrieval order."""
    seen: set[tuple[str, int]] = set()
    lines: list[Line] = []
    for i, p in enumerate(passages):
        for number, text in p.chunk.line_items():
            if text.strip() and (p.source, number) not in seen:
                seen.add((p.source, number))
                lines.append(Line(p.source, number, text, i, p.lang, p.date))
    return lines


def segments(text: str, long_chars: int) -> list[str]:
    """What to embed for a line: the line, plus its sentences when it is long (claims are short)."""
    text = text.strip()
    if len(text) <= long_chars:
        return [text]
    parts = [s.text for s in split_sentences(text)]
    return [text] + [p for p in parts if len(p) >= 20 and p != text]


def looks_like_instruction(text: str) -> bool:
    """A source line that addresses the assistant, in any wording (rag.injection).

    It stays in the index as data, but is never selected, quoted or counted as support: if the
    model obeyed it, the obedient text must not come out looking sourced.
    """
    return addresses_assistant(text)


def stated_keys(line: Line) -> list[Key]:
    """The details a line states in its own words or its rendering (the article's date is not one)."""
    found = extract_keys(line.text, line.lang, evidence=True)
    return found + extract_keys(line.rendering, "en", evidence=True) if line.rendering else found


def joint_keys(line: Line) -> LineKeys:
    """What a line offers to match against, in its own words and in its checked English rendering."""
    own = line_keys(line.text, line.lang, line.date)
    if not line.rendering:
        return own
    other = line_keys(line.rendering, "en", line.date)
    return LineKeys(own.exact | other.exact, tuple(sorted(set(own.names) | set(other.names))))
