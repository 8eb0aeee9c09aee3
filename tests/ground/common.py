"""Shared by the grounding tests and the answer tests: the seed files, evidence built from their lines,
and thresholds fitted to the fake trigram embedder."""

from __future__ import annotations

from functools import cache

from rag.corpus import load_corpus
from rag.ground.config import GroundingConfig
from rag.ground.evidence import Evidence
from rag.ground.vocabulary import Vocabulary
from rag.retrieve import Retriever
from rag.types import Passage
from tests.conftest import SEEDS
from tests.fakes import FakeEmbedder

S000 = "000_c38ec739ece7500b.txt"
S001 = "001_400e8c6d7a4d42b4.txt"
S002 = "002_4a5474f8e966f72b.txt"
S003 = "003_889ea51d68b68c7c.txt"
S004 = "004_a693e22d446df271.txt"

# Trigram cosines of unrelated text are ~0.4 and of near-copies ~0.8, and too noisy to rank lines by
# contrast: E5's calibration would not fit, so the tests use their own.
FAKE_CONFIG = GroundingConfig(dense_floor=0.45, dense_ceil=0.8, w_contrast=0.0,
                              min_retrieval_cosine=0.0, min_question_support=0.0)


def passage_at(retriever: Retriever, source: str, line: int) -> Passage:
    """The indexed chunk holding `line` of `source`, as a retrieved passage."""
    for chunk in retriever.chunks:
        if chunk.source == source and chunk.start_line <= line <= chunk.end_line:
            return Passage(chunk=chunk, score=1.0, dense_score=0.9)
    raise LookupError(f"{source}:{line} is not indexed")


def evidence_for(retriever: Retriever, *places: tuple[str, int], config: GroundingConfig = FAKE_CONFIG) -> Evidence:
    passages = [passage_at(retriever, s, n) for s, n in places]
    return Evidence(passages, FakeEmbedder(), config, Vocabulary.from_chunks(retriever.chunks))


@cache
def seed_lines() -> dict[str, list[str]]:
    """Each seed's lines as the corpus reader sees them (date marker cut from line 1)."""
    return {doc.source: doc.lines for doc in load_corpus(SEEDS)}
