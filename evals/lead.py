"""The `lead` answer config: the verified lead block the `llm` config shows first, with no model.

In the model-written answer the lead line is shown before the model starts, and when the claim
check drops the model's sentences it is the whole answer; scoring it alone measures its choice
in seconds, while the model is busy or absent.
"""

from __future__ import annotations

from rag.answer import Answerer
from rag.types import Answer


class LeadAnswerer:
    """Answers with `Answerer.lead_answer`: same retrieval, evidence, selection and rendering as `llm`."""

    def __init__(self, answerer: Answerer):
        self.answerer = answerer

    def ask(self, question: str, mode: str = "lead", k: int = 5, retrieval_mode: str = "hybrid") -> Answer:
        return self.answerer.lead_answer(question, k=k, retrieval_mode=retrieval_mode)
