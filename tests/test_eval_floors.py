"""Quality floors on the real models: `make test` fails if a change makes the chatbot worse.

Each floor is a `test`-split figure measured when it was set (see the README's eval tables; the dev
split is for calibration); floors are only ever raised. Retrieval and extractive answers run on every
test question; model answers on a small fixed slice of them to bound CI time.
"""

from __future__ import annotations

import pytest

from evals.dataset import load_qa
from evals.loaders import make_answerer_factory
from evals.runner import plan_configs, run_evaluation

# hit@5 of the default (hybrid) retriever per question language, test split (36 answerable questions).
RETRIEVAL_FLOORS = {"en": 0.92, "pl": 0.91, "ro": 0.70, "all": 0.86}  # test split: measured 0.929 / 0.917 / 0.700 / 0.861
# Extractive answers over every test question (instant, no LLM).
EXTRACTIVE_FLOORS = {"key_facts": 0.55, "refusal_recall": 0.28, "citation_precision": 0.36}  # test: 0.567 / 0.286 / 0.369
# Model answers over a small slice (the first test questions of each language, 3 answerable + 1 not).
# Measured on this slice (fresh clone, 2026-12-02): language 0.833, refusal recall 0.333 (1 of 3); key facts
# and citation precision at or above these floors.
# Each floor sits one question below it: thread counts adapt to load, and llama.cpp's sums (hence a
# greedy answer) can differ between 1 and 2 threads.
# Refusal recall is held by the extractive floors (the same evidence gates decide it, deterministically);
# on this slice's 3 unanswerable questions one flip is 0.33, too coarse for a floor.
LLM_FLOORS = {"key_facts": 0.44, "lang_match": 0.75, "citation_precision": 0.40}
LLM_SLICE = {True: 3, False: 1}  # answerable / unanswerable questions per language


def _check(summary: dict, floors: dict[str, float], label: str) -> None:
    low = {name: summary[name] for name, floor in floors.items()
           if summary.get(name) is None or summary[name] < floor - 1e-9}
    assert not low, f"{label} fell below its floor: {low} (floors {floors})"


@pytest.mark.slow
def test_retrieval_floors(real_retriever) -> None:
    items = load_qa(split="test")
    plan = plan_configs(["hybrid"], real_retriever.MODES, retrieval_only=True)
    results = run_evaluation(items, real_retriever, plan, k=5, progress=False)
    summary = results["retrieval"]["hybrid"]["summary"]
    for lang, floor in RETRIEVAL_FLOORS.items():
        assert summary[lang]["hit@5"] >= floor, f"hybrid hit@5 for {lang}: {summary[lang]['hit@5']:.3f} < {floor}"


@pytest.mark.slow
def test_extractive_answer_floors(real_retriever) -> None:
    items = load_qa(split="test")
    plan = plan_configs(["extractive"], real_retriever.MODES, retrieval_only=False)
    results = run_evaluation(items, real_retriever, plan, k=5,
                             answerer_factory=make_answerer_factory(real_retriever, "default"),
                             progress=False)
    _check(results["answers"]["extractive"]["summary"]["all"], EXTRACTIVE_FLOORS, "extractive answers")


@pytest.mark.slow
def test_llm_answer_floors(real_retriever) -> None:
    items, taken = [], {}
    for item in load_qa(split="test"):
        key = (item.lang, item.answerable)
        if taken.get(key, 0) < LLM_SLICE[item.answerable]:
            taken[key] = taken.get(key, 0) + 1
            items.append(item)
    assert any(not it.answerable for it in items), "the slice must include unanswerable questions"
    plan = plan_configs(["llm"], real_retriever.MODES, retrieval_only=False)
    results = run_evaluation(items, real_retriever, plan, k=5,
                             answerer_factory=make_answerer_factory(real_retriever, "default"),
                             progress=False)
    assert "llm" in results["answers"], results["meta"]["skipped"]
    _check(results["answers"]["llm"]["summary"]["all"], LLM_FLOORS, "model answers")
