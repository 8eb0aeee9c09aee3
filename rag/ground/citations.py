"""Citations: evidence lines -> the file, line range, exact text and rendering a reader can check."""

from __future__ import annotations

from collections.abc import Iterable

from rag.ground.evidence import Evidence
from rag.types import Citation


def line_citations(evidence: Evidence, line_ids: Iterable[int]) -> list[Citation]:
    """Citations for the given lines, best first; consecutive lines of one file become one range."""
    ids = list(dict.fromkeys(line_ids))
    by_place = {(evidence.lines[j].source, evidence.lines[j].number): (rank, evidence.lines[j])
                for rank, j in enumerate(ids)}
    merged: list[tuple[int, Citation]] = []
    for (source, number), (rank, line) in sorted(by_place.items()):
        if merged and merged[-1][1].source == source and merged[-1][1].end_line == number - 1:
            old_rank, old = merged[-1]
            translation = "\n".join(t for t in (old.translation, line.rendering) if t) or None
            merged[-1] = (min(rank, old_rank), Citation(source, old.start_line, number, f"{old.quote}\n{line.text}",
                                                        translation))
        else:
            merged.append((rank, Citation(source, number, number, line.text, line.rendering or None)))
    return [c for _, c in sorted(merged, key=lambda rc: rc[0])]
