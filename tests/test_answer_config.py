"""The answer step's settings and the grounding's are apart, and calibration finds what it tunes."""

from __future__ import annotations

import dataclasses

from rag.answer import Answerer
from rag.answer_config import AnswerConfig
from rag.ground.config import GroundingConfig


def test_each_setting_has_one_owner() -> None:
    grounding = {f.name for f in dataclasses.fields(GroundingConfig)}
    answer = {f.name for f in dataclasses.fields(AnswerConfig)}
    assert not grounding & answer


def test_calibrated_fields_are_where_calibration_sets_them() -> None:
    """evals/calibrate.py opens these gates by name."""
    assert {"min_retrieval_cosine", "min_question_support", "max_unknown_share"} <= {
        f.name for f in dataclasses.fields(GroundingConfig)}
    assert {"override_not_found", "evidence_k"} <= {f.name for f in dataclasses.fields(AnswerConfig)}


def test_answerer_holds_both_configs(fake_retriever) -> None:
    grounding, config = GroundingConfig(min_line_chars=10), AnswerConfig(evidence_k=4)
    answerer = Answerer(fake_retriever, None, grounding, config=config)
    assert answerer.grounding is grounding and answerer.config is config
    assert Answerer(fake_retriever, None).config == AnswerConfig()
