"""The whole run driven with fakes: retrieval and answer configs, errors, skipped configs, the plan."""

from __future__ import annotations

import pytest

from evals.metrics import RANK_DEPTH
from evals.naive import NaiveAnswerer
from evals.protocols import EvalAnswerer, EvalRetriever
from evals.runner import plan_configs, run_evaluation
from rag.answer import Answerer
from rag.testing import EchoChatModel, FakeEmbedder, StaticRetriever
from rag.types import Passage
from tests.evals.fakes import ITEMS, FakeAnswerer, FakeRetriever, chunk, fake_detect


def test_run_evaluation_with_fakes():
    retriever = FakeRetriever()
    plan = plan_configs(None, retriever.MODES, retrieval_only=False)
    results = run_evaluation(ITEMS, retriever, plan, k=2, answerer_factory=lambda mode: FakeAnswerer(),
                             detect=fake_detect, progress=False)
    hybrid = results["retrieval"]["hybrid"]
    assert hybrid["summary"]["all"]["n"] == 2  # answerable only
    assert hybrid["summary"]["en"]["mrr@10"] == 0.5
    assert hybrid["summary"]["en"]["recall@2"] == 0.5  # ("a",1,3) covers a:3 of a:3,a:4
    assert all(call[1] == RANK_DEPTH for call in retriever.calls)
    assert results["retrieval"]["keyword"]["summary"]["pl"]["hit@1"] == 0.0  # reversed: ("a",4,4) first

    llm = results["answers"]["llm"]
    by_id = {q["id"]: q for q in llm["questions"]}
    assert by_id["en-001"]["key_facts"] == 1.0 and by_id["en-001"]["lang_match"] is True
    assert by_id["en-001"]["citation_precision"] == pytest.approx(2 / 3)  # a:3, a:4 gold; z:1 not
    assert by_id["en-001"]["n_unretrieved_citations"] == 1
    assert "model crashed" in by_id["pl-002"]["error"]
    summary = llm["summary"]["all"]
    assert summary["errors"] == 1
    assert summary["refusal_recall"] == 1.0 and summary["false_refusal_rate"] == 0.0
    assert summary["unretrieved_citation_rate"] == 0.5
    assert summary["total_s_p50"] == 1.0
    assert results["answers"]["extractive"]["summary"]["all"]["total_s_p50"] == pytest.approx(0.2)
    assert results["meta"]["n_questions"] == 3


def test_unloadable_answerer_is_skipped_with_reason():
    def factory(mode: str):
        if mode == "llm":
            raise OSError("no model file")
        return FakeAnswerer()

    plan = plan_configs(["hybrid", "llm", "extractive"], ("hybrid",), retrieval_only=False)
    results = run_evaluation(ITEMS[:2], FakeRetriever(), plan, 5, factory, fake_detect, progress=False)
    assert list(results["answers"]) == ["extractive"]
    assert "no model file" in results["meta"]["skipped"]["llm"]


def test_plan_configs_validates_and_honours_retrieval_only():
    with pytest.raises(ValueError, match="bm99"):
        plan_configs(["bm99"], ("hybrid",), False)
    plan = plan_configs(None, ("keyword", "hybrid"), retrieval_only=True)
    assert plan.retrieval_modes == ["keyword", "hybrid"] and plan.answer_modes == []
    assert set(plan.skipped) == {"llm", "extractive", "naive"}


def test_runner_takes_any_object_satisfying_the_protocols():
    """The shipped fakes are nothing but protocol implementations: no MODES, no base class, no dicts."""
    passages = [Passage(chunk=chunk("a", 1, 3), score=1.0), Passage(chunk=chunk("b", 7, 9), score=0.5)]
    retriever: EvalRetriever = StaticRetriever(passages)
    chunks = [p.chunk for p in passages]
    answerers: dict[str, EvalAnswerer] = {
        "extractive": Answerer(retriever, llm=None),
        "naive": NaiveAnswerer(chunks, FakeEmbedder(), EchoChatModel(delay=0.0)),
    }
    plan = plan_configs(["hybrid", "extractive", "naive"], ("hybrid",), retrieval_only=False)
    results = run_evaluation(ITEMS[:2], retriever, plan, 5, answerers.__getitem__, fake_detect, progress=False)

    assert results["meta"]["skipped"] == {} and list(results["answers"]) == ["extractive", "naive"]
    hybrid = results["retrieval"]["hybrid"]["questions"]
    assert [q["retrieved"] for q in hybrid] == [["a:1-3", "b:7-9"]]
    assert hybrid[0]["hit@1"] == 1.0 and hybrid[0]["first_hit_rank"] == 1
    for mode in ("extractive", "naive"):
        assert not any(q.get("error") for q in results["answers"][mode]["questions"]), mode
    naive = {q["id"]: q for q in results["answers"]["naive"]["questions"]}
    assert set(naive["en-001"]["citations"]) <= {"a:1-1", "a:2-2", "a:3-3", "b:7-7", "b:8-8", "b:9-9"}
    assert naive["en-001"]["n_unretrieved_citations"] == 0  # it cites exactly the lines it retrieved
    assert naive["en-001"]["total_s"] is not None
