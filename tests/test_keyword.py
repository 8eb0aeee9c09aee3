"""Keyword tokenisation copes with inflection and diacritics; the index round-trips without pickle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag import settings
from rag.keyword import KeywordIndex, fold, tokenize


def test_fold_strips_diacritics() -> None:
    assert fold("Ławrow Sancțiuni ŻĄDANIA") == "lawrow sanctiuni zadania"


def test_prefix_joins_inflected_forms() -> None:
    assert tokenize("Bidena")[0] == tokenize("Bidenem")[0] == tokenize("Biden")[0]
    assert tokenize("sankcji") == tokenize("sankcje")
    assert tokenize("Who is Biden?", "plain") == ["biden"]  # stopwords dropped


def test_unknown_strategy() -> None:
    with pytest.raises(ValueError, match="unknown keyword strategy"):
        tokenize("x", "porter")


def test_scores_and_roundtrip(tmp_path: Path) -> None:
    index = KeywordIndex.build(["Biden rozmawiał z Putinem 30 grudnia", "Rusia și NATO în ianuarie", ""])
    scores = index.scores("rozmowa Bidena z Putinem")
    assert scores[0] > 0 and scores[1] == 0 and scores[2] == 0
    assert not index.scores("zzzz").any()
    index.save(tmp_path)
    assert not list(tmp_path.glob("*.pkl"))
    loaded = KeywordIndex.load(tmp_path, index.strategy, 3)
    np.testing.assert_allclose(loaded.scores("Bidena"), index.scores("Bidena"))


def test_coverage_is_the_share_of_known_query_tokens() -> None:
    index = KeywordIndex.build(["Biden rozmawiał z Putinem 30 grudnia"])
    assert index.coverage("Biden Putin grudnia") == 1.0
    assert index.coverage("Biden spoke with Putin") == pytest.approx(2 / 3)  # "with" is a stopword
    assert index.coverage("the and") == 0.0


def test_tokenizing_alone_does_not_load_bm25s() -> None:
    """rag.select counts a question's content words with `tokenize`; the answer path's import stays light."""
    code = "import sys, rag.select, rag.answer; print('bm25s' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=settings.PROJECT_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
