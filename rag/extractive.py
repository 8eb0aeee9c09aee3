"""The --no-llm mode: quote the source lines that best answer the question, instantly and without a model.

Lines are scored against the question by `rag.ground.question` (embedding similarity +
names/numbers/dates) as for the model's answers, so both modes refuse on the same evidence.
"""

from __future__ import annotations

from typing import Any

from rag import languages
from rag.answer_config import AnswerConfig
from rag.ground.evidence import Evidence
from rag.ground.question import QuestionEvidence, low_evidence, score_question
from rag.ground.refusal import refusal_answer
from rag.present import excerpt, is_rendered_for
from rag.types import Answer, Citation


def lead_in(language: str, source_langs: set[str]) -> str:
    """One line introducing the quotes, in the question's language (the default one without a pack).

    Quoted lines stay in the source language; the note says so when it is not the question's.
    """
    lang = languages.fallback(language)
    foreign = {s for s in source_langs if s and s != lang.code}
    if not foreign:
        note = ""
    elif len(foreign) == 1 and lang.code not in source_langs:
        note = lang.quoted_in.get(next(iter(foreign)), "")
    else:  # several languages, possibly including the question's own
        note = lang.quoted_mixed
    return lang.lead_in.format(note=note)


def pick_lines(qe: QuestionEvidence, evidence: Evidence, config: AnswerConfig = AnswerConfig()) -> list[int]:
    """The best line and the runners-up close to it, at most `extract_max_lines`."""
    c = config
    ranked = qe.ranked()
    if not ranked:
        return []
    floor = max(evidence.config.min_question_support, qe.best() - c.extract_margin)
    close = [j for j in ranked if qe.scores[j] >= floor]
    # A line addressing the assistant ("ignore previous instructions…", in any wording: see
    # rag.injection) is data, never an answer: it is not quoted, even when nothing else is close.
    return [j for j in close if evidence.supports[j]][: c.extract_max_lines]


def extractive_answer(question: str, language: str, evidence: Evidence, qe: QuestionEvidence | None = None,
                      timings: dict[str, float] | None = None, config: AnswerConfig = AnswerConfig()) -> Answer:
    """Lead-in plus the best lines as quotes, each cited to its exact line; a refusal on weak evidence."""
    qe = qe if qe is not None else score_question(question, evidence, language)
    picked = [] if low_evidence(qe, evidence.config) else pick_lines(qe, evidence, config)
    if not picked:
        return refusal_answer(question, language, evidence.passages, timings)
    citations: list[Citation] = []
    quotes: list[str] = []
    details: list[dict[str, Any]] = []
    for n, j in enumerate(picked, start=1):
        line = evidence.lines[j]
        citation = Citation(line.source, line.number, line.number, line.text, line.rendering or None)
        citations.append(citation)
        if is_rendered_for(line, language):
            shown = excerpt(line.rendering, None, evidence, config.extract_line_chars)
        else:
            shown = evidence.excerpt(j, qe.seg_cosine, config.extract_line_chars)
        quotes.append(f"- “{shown}” [{n}]")
        details.append({"text": shown, "supported": True, "score": round(float(qe.scores[j]), 4),
                        "citations": [citation.to_dict()]})
    head = lead_in(language, {("en" if is_rendered_for(evidence.lines[j], language) else evidence.lines[j].lang)
                              for j in picked})
    return Answer(question=question, answer="\n".join([head, *quotes]), language=language, refused=False,
                  citations=citations, passages=evidence.passages, timings=dict(timings or {}), sentences=details)
