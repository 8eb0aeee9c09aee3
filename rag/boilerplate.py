"""Boilerplate detection: site furniture must not be indexed or cited.

The main rule is general: a line that occurs more than once in the corpus (after normalising
case and spaces) is a banner, donation plea or footer, not news. A short pattern list catches
one-off furniture the repeat rule cannot see (comment forms, "READ …" teasers, source credits).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from rag.corpus import Document

MIN_REPEAT_CHARS = 25  # short repeated lines ("–", "Foto") are not worth flagging as banners
FURNITURE = [
    (re.compile(r"^READ\s{1,3}\S"), "teaser of another article"),
    (re.compile(r"^(lasă un răspuns|leave a (reply|comment)|zostaw komentarz|dodaj komentarz)\W*$", re.I),
     "comment form"),
    (re.compile(r"adresa ta de email nu va fi publicat|your email address will not be published|"
                r"twój adres e-?mail nie zostanie opublikowany", re.I), "comment form"),
    (re.compile(r"^(?:[\w-]+\.)+[a-z]{2,4}(?:\s*/\s*(?:[\w-]+\.)+[a-z]{2,4})+\s*$", re.I), "source credits"),
]


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
    for pattern, reason in FURNITURE:
        if pattern.search(stripped):
            return reason
    return None


def mark_boilerplate(docs: list[Document]) -> dict[str, dict[int, str]]:
    """Record in each document's `skipped_lines` which lines are boilerplate and why; return them all."""
    repeats = repeated_lines(docs)
    report: dict[str, dict[int, str]] = {}
    for doc in docs:
        for number, line in enumerate(doc.lines, start=1):
            if not line.strip():
                continue
            reason = "repeated line" if normalise(line) in repeats else furniture_reason(line)
            if reason:
                doc.skipped_lines[number] = reason
        if doc.skipped_lines:
            report[doc.source] = dict(doc.skipped_lines)
    return report
