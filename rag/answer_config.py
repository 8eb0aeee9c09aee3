"""What the answer step does with the scored evidence: how much to retrieve, select, show and quote.

Kept apart from `rag.ground.config.GroundingConfig` (which the grounding reads to score lines and
gate weak evidence) so each step owns its own settings; `rag.answer.Answerer` holds one of each.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerConfig:
    """Retrieval width, line selection for the prompt, the verified lead and the extractive quotes."""

    evidence_k: int = 8  # passages retrieved as evidence even when fewer are asked for (recall 57/71 at 5, 64/71 at 8)
    neighbour_top: int = 3  # widen the evidence with same-section neighbours of this many top hits
    neighbour_window: int = 2  # paragraphs either side
    lead_candidates: int = 6  # the verified line shown first is chosen among this many best lines
    # Lines within this much of the best lead score are near-ties (the question score saturates for
    # every line naming the event); among them the one sharing the question's rarest words leads.
    lead_tie: float = 0.05
    max_context_lines: int = 6  # lines the model may write from (and cite)
    # Reader languages the model writes in; for others it writes English (the verified lines still
    # come in the reader's language where a checked form exists). See the README, "Romanian readers".
    write_languages: tuple[str, ...] = ("en", "pl", "ro")
    override_not_found: float = 0.3  # the model's "not in these lines" refuses only below this best line score (dev: answerable >= 0.30)
    lead_chars: int = 480  # a long verified line is cut to its sentences closest to the question
    context_chars: int = 1200  # source text sent to the model (~300 tokens; prompt reading is ~146 tokens/s)
    context_margin: float = 0.35  # lines this far below the best question score are not sent
    # A model sentence must cite a line within this much of the best line's score (None: any sent
    # line) or one of the best line's section followers; lines down to `context_margin` are still
    # sent, as context. Tighter margins cut more wandering citations on the seeds but lost a key fact
    # on the second corpus (README, "Measured").
    sentence_margin: float | None = 0.3
    context_follow: int = 2  # lines after the best one in its section, sent right after it
    # A long line is cut to its best sentences for the prompt: four short excerpts inform the model
    # more than two whole paragraphs for the same prompt-reading time.
    context_line_chars: int = 300
    extract_max_lines: int = 3  # lines quoted by the extractive mode
    extract_margin: float = 0.12  # quote lines within this much of the best line
    extract_line_chars: int = 480  # a long quoted line is cut to its best sentences
