"""Question evidence: how well each retrieved line matches the question, and the gates that refuse
before anything is written (weak evidence, names the corpus lacks, the kind of detail asked for)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.ground import lexicon
from rag.ground.config import GroundingConfig
from rag.ground.details import extract_keys
from rag.ground.evidence import Evidence
from rag.ground.names import translit
from rag.text import fold
from rag.types import Passage

_ASKS_QUANTITY = re.compile(rf"\b(?:{lexicon.alternatives(lexicon.ASKS_QUANTITY)})\b")
_ASKS_TIME = re.compile(rf"^\W*(?:{lexicon.alternatives(lexicon.ASKS_TIME_OPENERS)})\b"
                        rf"|\b(?:{lexicon.alternatives(lexicon.ASKS_TIME)})\b")


@dataclass
class QuestionEvidence:
    """How well each retrieved line matches the question: drives refusal, prompt trimming and quoting."""

    scores: np.ndarray  # combined score per line (-1 for lines that cannot be cited)
    cosine: np.ndarray  # raw question/line cosine per line
    seg_cosine: np.ndarray  # raw question/segment cosines, for cutting long lines to their best part
    top_cosine: float  # best of the line cosines and the retriever's own dense scores
    unknown: float = 0.0  # share of the question's names/entities the corpus never mentions

    def best(self) -> float:
        return float(self.scores.max()) if self.scores.size else -1.0

    def ranked(self) -> list[int]:
        return [int(j) for j in np.argsort(-self.scores, kind="stable") if self.scores[j] >= 0]


def score_question(question: str, evidence: Evidence, lang: str = "") -> QuestionEvidence:
    """Score lines against the question; a detail found elsewhere in the same article counts half.

    ("What did Biden offer on 30 December?": the offer is in one line, the date in the line before.)
    """
    c = evidence.config
    if not len(evidence):
        empty = np.zeros(0, dtype=np.float32)
        return QuestionEvidence(empty, empty, empty, _retriever_top(evidence.passages))
    seg_cos = evidence.segment_cosine([question])
    cos = evidence.line_cosine(seg_cos)[0]
    dense = evidence.dense(cos, contrast=False)
    claim = evidence.claim(extract_keys(question, lang))
    # A question's first word is its interrogative ("Czego", "Cum", "Which"), not a name to look up.
    opener = {translit(w) for w in re.findall(r"[^\W\d_]+", question)[:1]}
    unknown = evidence.unknown_names(claim.only(lambda k: not (k.kind == "name" and k.value in opener)))
    scores = np.zeros(len(evidence), dtype=np.float32)
    for j in range(len(evidence)):
        own = evidence.coverage(claim, [j])
        ctx = evidence.coverage(claim, evidence.source_lines(j))
        cov = float(dense[j]) if own is None else 0.5 * own + 0.5 * (ctx or 0.0)
        scores[j] = (c.w_dense * dense[j] + c.w_question_keys * cov) * (1.0 - c.unknown_name_penalty * unknown)
    scores = np.where(evidence.citable, scores, -1.0)
    top = max(float(cos.max()), _retriever_top(evidence.passages))
    return QuestionEvidence(scores, cos, seg_cos[0], top, unknown)


def _retriever_top(passages: Sequence[Passage]) -> float:
    dense = [p.dense_score for p in passages if p.dense_score is not None]
    return max(dense) if dense else -1.0


def low_evidence(qe: QuestionEvidence, config: GroundingConfig) -> bool:
    """Nothing retrieved is close enough to the question to answer it, in either mode.

    Also true for questions mostly about names the corpus never mentions: the model would answer
    them from the nearest lines about someone else, and such answers pass the sentence check.
    """
    return (qe.top_cosine < config.min_retrieval_cosine or qe.best() < config.min_question_support
            or qe.unknown >= config.max_unknown_share)


def asked_kinds(question: str) -> tuple[str, ...]:
    """Key kinds an answer must contain to answer a "how many" or "when" question at all."""
    folded = fold(question)
    if _ASKS_QUANTITY.search(folded):
        return ("num", "count")
    if _ASKS_TIME.search(folded):
        return ("date", "month", "weekday", "num")
    return ()
