"""Select: choose the lines that answer before anything is written.

The model only ever writes from these lines and may cite only them (the grammar allows no other
ids), so what is selected here bounds what an answer can claim. The best line by question score
comes first, then the lines after it in its section (news reports name an event first, "Biden
spoke with Putin on 30 December", and say what happened in it in the next paragraphs), then the
other close lines, within a character budget that keeps prompt reading short on two cores.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from rag import languages
from rag.answer_config import AnswerConfig
from rag.ground.details import Key, extract_keys, is_year
from rag.ground.evidence import Evidence, rarity
from rag.ground.lines import Line, stated_keys
from rag.ground.question import QuestionEvidence
from rag.keyword import tokenize
from rag.language import answer_language
from rag.languages import LanguagePack


@dataclass(frozen=True)
class Selection:
    """Evidence line indices chosen for the answer, in prompt order; `lead` are shown before writing;
    `follow` were sent for following the best line in its section, whatever their own score."""

    lines: tuple[int, ...]
    lead: tuple[int, ...]
    follow: tuple[int, ...] = ()

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


def ranked_lines(evidence: Evidence, qe: QuestionEvidence, config: AnswerConfig = AnswerConfig()) -> list[int]:
    """Lines close enough to the best one, best first, with the best line's section followers after it."""
    c = config
    ranked = [j for j in qe.ranked() if qe.scores[j] >= qe.best() - c.context_margin and evidence.supports[j]]
    if not ranked:
        return []
    follow = section_followers(evidence, ranked[0], c.context_follow)
    return [ranked[0], *follow, *(j for j in ranked[1:] if j not in follow)]


def line_chars(evidence: Evidence, j: int) -> int:
    line = evidence.lines[j]
    return len(line.rendering or line.text)


def _dangling_preposition(packs: tuple[LanguagePack, ...]) -> re.Pattern[str]:
    """A date preposition of any pack left at the end of a question once its date is cut ("… on?")."""
    words = "|".join(re.escape(w) for p in packs for w in p.date_prepositions) or "(?!)"
    return re.compile(rf"\s+(?:{words})\s*(?=[?.!,]|$)")


dangling_preposition = languages.derived(_dangling_preposition)


def without_scene(question: str) -> str:
    """The question without its dates ("on 30 December"): what it asks, not when it happened.

    Ranked by the whole question, the line naming the event ("Biden spoke with Putin on 30
    December") beats the line saying what happened in it; the lead line should be the latter.
    """
    from rag.ground.details import DATE_DAY_FIRST, DATE_MONTH_FIRST
    from rag.text import fold

    folded = fold(question)
    if len(folded) != len(question):  # spans of the folded text would not map back
        return question
    spans = [(m.start(), _with_year(folded, m.end()))
             for pattern in (DATE_DAY_FIRST, DATE_MONTH_FIRST) for m in pattern.finditer(folded)]
    out = question
    for start, end in sorted(spans, reverse=True):
        out = out[:start] + out[end:]
    out = _SPACE_BEFORE_MARK.sub("", dangling_preposition().sub("", " ".join(out.split())))
    # "What happened on 24 February?" asks about the date itself: without it nothing is left to match.
    return out if len(tokenize(out)) >= 2 else question


_SPACE_BEFORE_MARK = re.compile(r"\s+(?=[?.!,])")  # "Putinowi ?" once "30 grudnia" is cut
_YEAR_AFTER = re.compile(r",?\s+\d{4}\b(?:\s*r\.)?")


def _with_year(text: str, end: int) -> int:
    """The end of a date's span with the year that follows it ("24 February 2022", "24 lutego 2022 r.")."""
    year = _YEAR_AFTER.match(text, end)
    return year.end() if year else end


def other_date(evidence: Evidence, j: int, question: str) -> bool:
    """Line j dates itself to another day than every day the question names (the 7 December call,
    asked about the 30 December one)."""
    asked = {k for k in extract_keys(question) if k.kind == "date"}
    if not asked:
        return False
    said = {k for k in stated_keys(evidence.lines[j]) if k.kind == "date"}
    return bool(said) and not (said & asked)


def has_detail(evidence: Evidence, j: int, kinds: tuple[str, ...], besides: Collection[Key] = ()) -> bool:
    """Line j states a detail of these kinds other than `besides` (the article's date does not count)."""
    return any(k.kind in kinds and k not in besides for k in stated_keys(evidence.lines[j]))


def states_asked(evidence: Evidence, j: int, kinds: tuple[str, ...], besides: Collection[Key] = ()) -> bool:
    """Line j states a detail of these kinds beyond `besides`, a date's day not counting as a
    figure, nor a year as a count: "how long" is not answered by "on December 30"."""
    line = evidence.lines[j]
    said = extract_keys(line.text, line.lang) + (extract_keys(line.rendering, "en") if line.rendering else [])
    counting = "date" not in kinds  # "how many troops" is not answered by "in 2022"
    return any(k.kind in kinds and k not in besides and not (counting and is_year(k)) for k in said)


def lead_lines(evidence: Evidence, chosen: list[int], question: str = "", asked: tuple[str, ...] = (),
               config: AnswerConfig = AnswerConfig(), scores: Sequence[float] | None = None,
               cosine: Sequence[float] | None = None, language: str = "") -> tuple[int, ...]:
    """The line shown at once, before the model writes: among the first chosen lines, preferring
    one holding the kind of detail asked for ("how long" -> a number), the one that best answers
    what the question asks.

    That is the line's question score (`scores`, names and figures included) plus its similarity,
    both for the question with its scene (dates) set aside: the similarity alone picks the line
    announcing the event over the one saying what happened in it, and a score that counts the date
    picks the line that only names the day. Near-ties (within `lead_tie`) go to the line holding
    more of the question's rare words (in its language: `language`, detected when "").
    """
    if not chosen:
        return ()
    c = config
    candidates = [j for j in chosen[: c.lead_candidates] if not other_date(evidence, j, question)] or chosen[:1]
    if not question or len(candidates) == 1:
        return (candidates[0],)
    if asked:  # "how long" is answered by a line with a figure: prefer lines that hold one
        given = set(extract_keys(question))
        for kinds in (tuple(k for k in asked if k != "count"), asked):  # a figure in digits, else a number word
            holding = [j for j in candidates if states_asked(evidence, j, kinds, given)]
            if holding:
                candidates = holding
                break
    asks = without_scene(question)
    cos = cosine if cosine is not None else evidence.cosine([asks])[0]
    own = (lambda j: float(scores[j])) if scores is not None else (lambda j: 0.0)
    value = {j: own(j) + float(cos[j]) for j in candidates}
    best = max(value.values())
    tied = [j for j in candidates if best - value[j] <= c.lead_tie]
    overlap = keyword_overlap(evidence, asks, language or answer_language(question), tied) if len(tied) > 1 else None
    if overlap is None:
        return (max(tied, key=value.__getitem__),)
    return (max(tied, key=lambda j: (round(overlap[j], 6), value[j])),)


def _in_language(line: Line, language: str) -> str:
    """The line's own words or its English rendering, whichever is in `language` ("" if neither)."""
    if line.lang == language:
        return line.text
    return line.rendering if language == "en" else ""


def keyword_overlap(evidence: Evidence, question: str, language: str,
                    among: Sequence[int]) -> dict[int, float] | None:
    """Per line of `among`, the summed rarity (IDF over the evidence lines) of the question's keyword
    tokens it holds in the question's language: "offer" and "guarantees" single out the line that
    answers, where the names every line shares do not. None when a line has no form in that
    language: only its names could match, and names are what every line shares."""
    forms = [_in_language(ln, language) for ln in evidence.lines]
    if not all(forms[j] for j in among):
        return None
    held = [set(tokenize(f)) for f in forms]
    idf = {t: rarity(len(held), sum(t in h for h in held)) for t in set(tokenize(question))}
    return {j: sum(w for t, w in idf.items() if t in held[j]) for j in among}


def select_lines(evidence: Evidence, qe: QuestionEvidence, question: str = "",
                 config: AnswerConfig = AnswerConfig(), language: str = "") -> Selection:
    """The answer's lines within `context_chars` (a long line may still come first on its own);
    lines dated to another day than the question's are left out."""
    c = config
    chosen: list[int] = []
    used = 0
    ranked = ranked_lines(evidence, qe, config)
    follow = set(section_followers(evidence, ranked[0], c.context_follow)) if ranked else set()
    for j in ranked:
        if question and j not in follow and other_date(evidence, j, question):
            continue
        size = min(line_chars(evidence, j), c.context_line_chars)
        if chosen and used + size > c.context_chars:
            continue  # a shorter line further down may still fit
        chosen.append(j)
        used += size
        if len(chosen) >= c.max_context_lines:
            break
    from rag.ground.question import asked_kinds, score_question

    # "What did Biden offer on 30 December?": the date sets the scene; the offer is what is asked.
    if not question:
        return Selection(tuple(chosen), lead_lines(evidence, chosen, config=config), tuple(j for j in chosen if j in follow))
    scene_less = score_question(without_scene(question), evidence)  # embeds it once: its cosines serve too
    # Judged on the question's similarity with the own-language lift removed: a Romanian question
    # would otherwise lead with a Romanian line over the Polish one that answers it.
    fair = evidence.fair_cosine(scene_less.seg_cosine[None, :])[0]
    lead = lead_lines(evidence, chosen, question, asked_kinds(question), config, scene_less.scores, fair, language)
    return Selection(tuple(chosen), lead, tuple(j for j in chosen if j in follow))
