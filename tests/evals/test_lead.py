"""The `lead` answer config: the llm config's verified lead block alone, scored like any answer."""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from evals.dataset import QAItem
from evals.lead import LeadAnswerer
from evals.runner import plan_configs, run_evaluation
from rag.answer import Answerer
from rag.retrieve import Retriever
from rag.testing import StaticRetriever
from tests.evals.fakes import fake_detect
from tests.ground.common import FAKE_CONFIG, S000, S002, S003, S004, passage_at

QUESTION = "How long did the Biden-Putin phone call last?"


def call_retriever(fake_retriever: Retriever) -> StaticRetriever:
    places = [(S000, 11), (S002, 3), (S003, 1), (S000, 15), (S004, 10)]
    return StaticRetriever([passage_at(fake_retriever, s, n) for s, n in places], fake_retriever.chunks)


def test_lead_answer_is_what_the_llm_answer_shows_first(fake_retriever: Retriever) -> None:
    retriever = call_retriever(fake_retriever)
    model = FakeListChatModel(responses=["It lasted about 50 minutes [1]."])
    first = next(iter(Answerer(retriever, model, FAKE_CONFIG).ask_stream(QUESTION)))
    lead = LeadAnswerer(Answerer(retriever, None, FAKE_CONFIG)).ask(QUESTION)
    assert isinstance(first, str) and not lead.refused
    assert lead.answer == first.rstrip("\n")


def test_lead_line_is_a_corpus_line_holding_the_asked_kind(fake_retriever: Retriever) -> None:
    lead = Answerer(call_retriever(fake_retriever), None, FAKE_CONFIG).lead_answer(QUESTION)
    assert len(lead.citations) == 1
    cite = lead.citations[0]
    lines = {n: t for ch in fake_retriever.chunks if ch.source == cite.source for n, t in ch.line_items()}
    assert lines[cite.start_line] == cite.quote
    assert any(ch.isdigit() for ch in cite.quote)  # "how long" is answered by a figure


def test_lead_config_runs_only_when_named(fake_retriever: Retriever) -> None:
    assert "lead" not in plan_configs(None, ("hybrid",), retrieval_only=False).answer_modes
    plan = plan_configs(["lead"], ("hybrid",), retrieval_only=False)
    assert plan.answer_modes == ["lead"]
    item = QAItem("en-001", QUESTION, "en", True, "About 50 minutes.", ((S000, 13),), (("50 minutes",),))
    answerer = LeadAnswerer(Answerer(call_retriever(fake_retriever), None, FAKE_CONFIG))
    results = run_evaluation([item], call_retriever(fake_retriever), plan, 5, lambda mode: answerer,
                             fake_detect, progress=False)
    row = results["answers"]["lead"]["questions"][0]
    assert row["answer"] and row["key_facts"] is not None and row["n_citations"] == 1
