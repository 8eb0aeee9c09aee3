"""The thresholds the grounding itself reads, in one place, so the eval runner can calibrate them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GroundingConfig:
    """How retrieved lines are scored against a question, and when the evidence is too weak to answer.

    Defaults were set on the questions in evals/qa.jsonl with multilingual-e5-small: off-topic
    questions reach a best line cosine of ~0.74-0.76, answerable ones 0.78-0.92, and a sentence naming
    the same people scores ~0.83-0.85 against any line about them, true or not. What the answer step
    does with the scored lines (how many to select, quote or send to the model) is `rag.answer_config`.
    """

    dense_floor: float = 0.76  # cosine that counts as "unrelated" (rescaled to 0)
    dense_ceil: float = 0.86  # cosine that counts as "says the same thing" (rescaled to 1)
    w_dense: float = 0.55  # weight of embedding similarity
    w_contrast: float = 0.75  # share of it that is relative: how far a line stands out from the other lines
    contrast_span: float = 0.05  # cosine above the evidence's median that counts as fully standing out
    min_contrast_lines: int = 4  # with fewer lines the median means nothing: absolute cosine only
    min_key_weight: float = 1.0  # below this total, a claim's details (just "Putin") say nothing
    w_question_keys: float = 0.15  # details in a question often only set the scene ("on 30 December")
    unknown_name_penalty: float = 0.3  # names the whole corpus never mentions (Macron, Zelensky), share of names
    min_line_chars: int = 30  # shorter lines (headings, captions) are never cited
    long_line_chars: int = 260  # longer lines are also embedded sentence by sentence
    min_retrieval_cosine: float = 0.79  # best question/line cosine below this: refuse (dev: answerable >= 0.806)
    min_question_support: float = 0.2  # best line score below this: refuse (dev: answerable >= 0.30)
    max_unknown_share: float = 0.7  # refuse questions mostly about names the corpus (and its renderings) lacks
