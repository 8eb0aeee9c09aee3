"""Boilerplate detection: site furniture must not be indexed or cited, news text must never be lost.

The main rule is general: a line that occurs more than once in the corpus (after normalising
case and spaces) is a banner, donation plea or footer, not news. A short pattern list catches
one-off furniture the repeat rule cannot see (comment forms, "READ …" teasers, source credits).

Repetition alone cannot tell a banner from a copied article: with an article saved twice, every
line of both copies repeated, and both were dropped whole. So documents are compared first: one
whose repeated lines cover most of its text (or of the other's) is a copy. Lines shared inside
such a group are news: the first copy keeps them, later copies skip them as "duplicate of
SOURCE:LINE", and the copy is reported. Only repeats that do not come from a copy (a banner in
several unrelated articles, a plea repeated inside one page) are boilerplate.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from rag import languages
from rag.corpus import Document
from rag.languages import LanguagePack

MIN_REPEAT_CHARS = 25  # short repeated lines ("–", "Foto") are not worth flagging as banners
COPY_SHARE = 0.5  # documents are copies when shared lines hold this share of the smaller one's text
COPY_MIN_LINES = 2  # ... and they share at least this many lines (one shared banner is no copy)


def _copy_name(packs: tuple[LanguagePack, ...]) -> re.Pattern[str]:
    """File names that say "I am the copy" (file managers and downloads, in every pack's language):
    the other one is kept."""
    words = "|".join(re.escape(w) for p in packs for w in p.copy_words) or "(?!)"
    return re.compile(rf"\b(?:{words})\b|\(\d+\)|\s-\s\d+$|_\d+$", re.I)


def _furniture(packs: tuple[LanguagePack, ...]) -> list[tuple[re.Pattern[str], str]]:
    """One-off furniture the repeat rule cannot see, as (pattern, reason), tried in order."""
    teasers = "|".join(re.escape(w) for p in packs for w in p.teaser_words)
    headings = "|".join(h for p in packs for h in p.comment_headings)
    notices = "|".join(n for p in packs for n in p.comment_notices)
    rules = [
        (re.compile(rf"^(?:{teasers})\s{{1,3}}\S") if teasers else None, "teaser of another article"),
        (re.compile(rf"^(?:{headings})\W*$", re.I) if headings else None, "comment form"),
        (re.compile(notices, re.I) if notices else None, "comment form"),
        (re.compile(r"^(?:[\w-]+\.)+[a-z]{2,4}(?:\s*/\s*(?:[\w-]+\.)+[a-z]{2,4})+\s*$", re.I), "source credits"),
    ]
    return [(pattern, reason) for pattern, reason in rules if pattern is not None]


copy_name = languages.derived(_copy_name)
furniture = languages.derived(_furniture)


def normalise(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip().casefold()


def repeated_lines(docs: Iterable[Document]) -> set[str]:
    """Normalised lines that occur at least twice anywhere in the corpus."""
    counts = Counter(
        normalise(ln) for doc in docs for ln in doc.lines if len(ln.strip()) >= MIN_REPEAT_CHARS
    )
    return {line for line, n in counts.items() if n > 1}


def furniture_reason(line: str) -> str | None:
    stripped = line.strip()
    for pattern, reason in furniture():
        if pattern.search(stripped):
            return reason
    return None


def _line_positions(docs: list[Document]) -> dict[str, list[tuple[int, int]]]:
    """Normalised long line -> [(document index, line number)] in corpus order."""
    where: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for d, doc in enumerate(docs):
        for number, line in enumerate(doc.lines, start=1):
            if len(line.strip()) >= MIN_REPEAT_CHARS:
                where[normalise(line)].append((d, number))
    return where


def _long_chars(doc: Document) -> int:
    return sum(len(normalise(ln)) for ln in doc.lines if len(ln.strip()) >= MIN_REPEAT_CHARS)


def _body(doc: Document) -> list[str]:
    return [normalise(ln) for ln in doc.lines if ln.strip()]


def _shared(where: dict[str, list[tuple[int, int]]]) -> tuple[Counter, Counter]:
    """For each pair of documents (a < b) sharing long lines: (characters shared, lines shared)."""
    chars: Counter[tuple[int, int]] = Counter()
    lines: Counter[tuple[int, int]] = Counter()
    for line, places in where.items():
        owners = sorted({d for d, _ in places})
        for i, a in enumerate(owners):
            for b in owners[i + 1:]:
                chars[a, b] += len(line)
                lines[a, b] += 1
    return chars, lines


def copy_groups(docs: list[Document]) -> list[int]:
    """For each document, the index of the document kept for its group of copies (itself if none).

    The one kept is the first by name, unless its name marks it as a copy ("000 copy.txt").
    """
    shared_chars, shared_lines = _shared(_line_positions(docs))
    size = [_long_chars(doc) for doc in docs]
    rank = {i: (bool(copy_name().search(Path(doc.source).stem)), doc.source) for i, doc in enumerate(docs)}
    group = list(range(len(docs)))

    def root(i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

    for (a, b), chars in shared_chars.items():
        covers = shared_lines[a, b] >= COPY_MIN_LINES and chars / max(min(size[a], size[b]), 1) >= COPY_SHARE
        if covers or _body(docs[a]) == _body(docs[b]):
            keep, drop = sorted((root(a), root(b)), key=rank.__getitem__)
            group[drop] = keep
    return [root(i) for i in range(len(docs))]


def _kept_copies(docs: list[Document], groups: list[int]) -> dict[str, tuple[int, int]]:
    """Long lines shared only by copies of one article, once in each: news. -> (doc, line) indexed."""
    kept = {}
    for line, places in _line_positions(docs).items():
        owners = [d for d, _ in places]
        if len(places) > 1 and len({groups[d] for d in owners}) == 1 and len(set(owners)) == len(owners):
            kept[line] = next((p for p in places if p[0] == groups[p[0]]), places[0])
    return kept


def _first_numbers(doc: Document) -> dict[str, int]:
    """Normalised line -> the number of its first occurrence in `doc`."""
    out: dict[str, int] = {}
    for number, line in enumerate(doc.lines, start=1):
        out.setdefault(normalise(line), number)
    return out


def mark_boilerplate(docs: list[Document]) -> dict[str, dict[int, str]]:
    """Record in each document's `skipped_lines` which lines are boilerplate or copies, and why.

    Returns them all; a copy none of whose lines is indexed gets `duplicate_of` set.
    """
    groups = copy_groups(docs)
    kept = _kept_copies(docs, groups)
    repeats = repeated_lines(docs)
    report: dict[str, dict[int, str]] = {}
    for d, doc in enumerate(docs):
        original = docs[groups[d]]
        in_original = {} if original is doc else _first_numbers(original)
        for number, line in enumerate(doc.lines, start=1):
            if not line.strip():
                continue
            key = normalise(line)
            if key in kept:
                first_doc, first_line = kept[key]
                reason = None if (first_doc, first_line) == (d, number) else \
                    f"duplicate of {docs[first_doc].source}:{first_line}"
            elif key in repeats:
                reason = "repeated line"
            elif key in in_original:  # a short line (heading, "Foto") of a copy
                reason = f"duplicate of {original.source}:{in_original[key]}"
            else:
                reason = furniture_reason(line)
            if reason:
                doc.skipped_lines[number] = reason
        if doc.skipped_lines:
            report[doc.source] = dict(doc.skipped_lines)
        if original is not doc and all(not ln.strip() or n in doc.skipped_lines
                                       for n, ln in enumerate(doc.lines, 1)):
            doc.duplicate_of = original.source
    return report


def is_copy_reason(reason: str) -> bool:
    return reason.startswith("duplicate of ")
