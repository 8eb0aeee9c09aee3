"""Select: choose the lines that answer before anything is written.

The model only ever writes from these lines and may cite only them (the grammar allows no other
ids), so what is selected here bounds what an answer can claim. The best line by question score
comes first, then the lines after it in its section (news reports name an event first, "Biden
spoke with Putin on 30 December", and say what happened in it in the next paragraphs), then the
other close lines, within a character budget that keeps prompt reading short on two cores.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.ground import Evidence, QuestionEvidence


@dataclass(frozen=True)
class Selection:
    """Evidence line indices chosen for the answer, in prompt order; `lead` are shown before writing."""

    lines: tuple[int, ...]
    lead: tuple[int, ...]

    def __bool__(self) -> bool:
        return bool(self.lines)


def section_followers(evidence: Evidence, j: int, limit: int) -> list[int]:
    """Up to `limit` citable lines after line j in its article and section, in reading order."""
    if limit <= 0:
        return []
    anchor = evidence.lines[j]
    section = evidence.passages[anchor.passage].chunk.section
    after = [i for i, ln in enumerate(evidence.lines)
             if ln.source == anchor.source and ln.number > anchor.number and evidence.supports[i]
             and evidence.passages[ln.passage].chunk.section == section]
    return sorted(after, key=lambda i: evidence.lines[i].number)[:limit]


def ranked_lines(evidence: Evidence, qe: QuestionEvidence) -> list[int]:
    """Lines close enough to the best one, best first, with the best line's section followers after it."""
    c = evidence.config
    ranked = [j for j in qe.ranked() if qe.scores[j] >= qe.best() - c.context_margin and evidence.supports[j]]
    if not ranked:
        return []
    follow = section_followers(evidence, ranked[0], c.context_follow)
    return [ranked[0], *follow, *(j for j in ranked[1:] if j not in follow)]


def line_chars(evidence: Evidence, j: int) -> int:
    line = evidence.lines[j]
    return len(line.rendering or line.text)


def lead_lines(evidence: Evidence, qe: QuestionEvidence, chosen: list[int]) -> tuple[int, ...]:
    """The line shown at once, before the model writes: the best-scoring chosen line.

    When the best line only names the event and a follower of it in the same section scores
    nearly as well, the follower carries what happened and is shown too.
    """
    if not chosen:
        return ()
    best = chosen[0]
    lead = [best]
    c = evidence.config
    for j in section_followers(evidence, best, c.context_follow):
        if j in chosen and qe.scores[j] >= qe.scores[best] - c.lead_margin and len(lead) < c.lead_lines:
            lead.append(j)
    return tuple(lead)


def select_lines(evidence: Evidence, qe: QuestionEvidence) -> Selection:
    """The answer's lines within `context_chars` (a long line may still come first on its own)."""
    c = evidence.config
    chosen: list[int] = []
    used = 0
    for j in ranked_lines(evidence, qe):
        size = min(line_chars(evidence, j), c.context_line_chars)
        if chosen and used + size > c.context_chars:
            continue  # a shorter line further down may still fit
        chosen.append(j)
        used += size
        if len(chosen) >= c.max_context_lines:
            break
    return Selection(tuple(chosen), lead_lines(evidence, qe, chosen))
