"""The evaluation runner: metric functions against hand-computed values, the whole run with fakes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rag import evaluate as ev
from rag.types import Answer, Chunk, Citation, Passage

ROOT = Path(__file__).resolve().parent.parent

# gold: two lines of file a, one of file b
GOLD = {("a", 3), ("a", 4), ("b", 7)}
RANKED = [("c", 1, 5), ("a", 1, 3), ("b", 7, 9), ("a", 4, 4)]
INDEX = [("a", 1, 3), ("a", 4, 6), ("b", 7, 9), ("c", 1, 5)]


# --------------------------------------------------------------------------- text matching

def test_fold_strips_case_diacritics_polish_l_and_dashes():
    assert ev.fold("Łódź  Genewą – ţară ș") == "lodz genewa - tara s"


@pytest.mark.parametrize("alts, text, expected", [
    (["Genew"], "Rozmowy odbędą się w Genewie.", True),      # stem covers inflection
    (["12"], "in 2012", False),                              # no match inside a number
    (["12"], "on 120 days", False),                          # nor running into more digits
    (["12"], "on the 12th", True),
    (["12 January"], "on 12 january", True),
    (["błąd"], "to byłby poważny BLAD", True),                # diacritics and case folded
    (["nato"], "donation", False),                            # must start at a word boundary
    (["9-10"], "9–10 stycznia", True),                        # en dash equals hyphen
])
def test_fact_present(alts, text, expected):
    assert ev.fact_present(alts, text) is expected


def test_key_fact_score_fraction_and_all():
    facts = [["50 minutes", "50 min"], ["Delaware"]]
    assert ev.key_fact_score(facts, "About 50 min, from Delaware.") == (1.0, True)
    assert ev.key_fact_score(facts, "From his home in Delaware.") == (0.5, False)
    assert ev.key_fact_score([], "anything") == (1.0, True)


def test_token_f1_hand_computed():
    # pred 3 tokens all in ref; ref 4 tokens: P=1, R=3/4, F1=6/7
    assert ev.token_f1("The cat sat [1]", "the cat sat down") == pytest.approx(6 / 7)
    assert ev.token_f1("w Genewie", "W GENEWIE") == 1.0
    assert ev.token_f1("nothing shared", "other words") == 0.0


# --------------------------------------------------------------------------- retrieval metrics

def test_hits_rank_and_recall():
    assert ev.first_hit_rank(RANKED, GOLD) == 2
    assert ev.hit_at(RANKED, GOLD, 1) == 0.0
    assert ev.hit_at(RANKED, GOLD, 3) == 1.0
    assert ev.reciprocal_rank(RANKED, GOLD) == 0.5
    assert ev.reciprocal_rank(RANKED, GOLD, k=1) == 0.0
    assert ev.recall_at(RANKED, GOLD, 2) == pytest.approx(1 / 3)
    assert ev.recall_at(RANKED, GOLD, 4) == 1.0


def test_ndcg_graded_with_novelty():
    assert ev.novel_gains(RANKED, GOLD) == [0, 1, 1, 1]
    assert ev.novel_gains([("a", 1, 5), ("a", 3, 3)], GOLD) == [2, 0]  # overlap not counted twice
    dcg = 1 / math.log2(3) + 1 / math.log2(4) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)  # index chunks hold one gold line each
    assert ev.ndcg_at(RANKED, GOLD, 10, INDEX) == pytest.approx(dcg / ideal)
    # without the index: one ideal chunk per file -> gains [2, 1]
    assert ev.ideal_gains(GOLD, None) == [2, 1]
    assert ev.ndcg_at([("a", 1, 5), ("b", 7, 7)], GOLD) == pytest.approx(1.0)


def test_ideal_gains_ignores_gold_no_chunk_holds():
    assert ev.ideal_gains({("a", 3), ("z", 1)}, INDEX) == [1]


# --------------------------------------------------------------------------- answer metrics

def test_citation_precision_recall_and_unretrieved():
    cites = [("a", 3, 4), ("a", 10, 10)]
    assert ev.citation_precision(cites, GOLD) == pytest.approx(2 / 3)
    assert ev.citation_recall(cites, GOLD) == pytest.approx(2 / 3)
    assert ev.citation_precision([], GOLD) is None
    assert ev.unretrieved_citations(cites, [("a", 1, 5)]) == 1
    assert ev.unretrieved_citations([("a", 4, 6)], [("a", 1, 5)]) == 1  # must lie wholly inside


def test_refusal_stats():
    stats = ev.refusal_stats(answerable=[True, True, False, False], refused=[False, True, True, False])
    assert stats == {"refusal_precision": 0.5, "refusal_recall": 0.5, "false_refusal_rate": 0.5}
    assert ev.refusal_stats([True], [False])["refusal_precision"] is None


def test_percentile_interpolates_like_numpy():
    assert ev.percentile([4, 1, 3, 2], 50) == 2.5
    assert ev.percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert ev.percentile([], 50) is None


# --------------------------------------------------------------------------- data set

def test_parse_gold():
    assert ev.parse_gold("000_x.txt:15") == ("000_x.txt", 15)
    with pytest.raises(ValueError):
        ev.parse_gold("000_x.txt")


def test_qa_file_is_valid_and_split():
    from evals.validate import validate

    assert validate() == []
    dev, test = ev.load_qa(split="dev"), ev.load_qa(split="test")
    assert len(dev) + len(test) == len(ev.load_qa())
    assert 0.6 < len(dev) / (len(dev) + len(test)) < 0.8
    assert len(ev.load_qa(limit=3)) == 3


# --------------------------------------------------------------------------- runner with fakes

def _chunk(source: str, start: int, end: int) -> Chunk:
    return Chunk(source=source, start_line=start, end_line=end, text="\n".join(["x"] * (end - start + 1)))


class FakeRetriever:
    """Returns the same ranking for every question; keyword mode returns it reversed."""

    MODES = ("keyword", "hybrid")

    def __init__(self) -> None:
        self.chunks = [_chunk(*s) for s in INDEX]
        self.calls: list[tuple[str, int, str]] = []

    def search(self, question: str, k: int = 5, mode: str = "hybrid", filters=None) -> list[Passage]:
        self.calls.append((question, k, mode))
        ranked = [_chunk(*s) for s in RANKED]
        ranked = ranked[::-1] if mode == "keyword" else ranked
        return [Passage(chunk=c, score=1.0 / (i + 1)) for i, c in enumerate(ranked[:k])]


class FakeAnswerer:
    """Answers q1 correctly with a good citation, refuses q2, and fails on 'boom'."""

    def ask(self, question: str, mode: str = "llm", k: int = 5, retrieval_mode: str = "hybrid") -> Answer:
        if question == "boom":
            raise RuntimeError("model crashed")
        passages = [Passage(chunk=_chunk("a", 1, 5), score=1.0)]
        timings = {"retrieve_s": 0.01, "first_token_s": 0.1, "total_s": 1.0 if mode == "llm" else 0.2}
        if question == "q2":
            return Answer(question, "Korpus tego nie podaje.", "pl", True, [], passages, timings)
        cites = [Citation("a", 3, 4, "x"), Citation("z", 1, 1, "y")]
        return Answer(question, "About 50 minutes [1].", "en", False, cites, passages, timings)


ITEMS = [
    ev.QAItem("en-001", "q1", "en", True, "About 50 minutes.", (("a", 3), ("a", 4)), (("50 minutes",),)),
    ev.QAItem("pl-001", "q2", "pl", False, "Korpus tego nie podaje.", (), ()),
    ev.QAItem("pl-002", "boom", "pl", True, "Tak.", (("b", 7),), (("tak",),)),
]


def fake_detect(text: str) -> str:
    return "pl" if "Korpus" in text else "en"


def test_run_evaluation_with_fakes():
    retriever = FakeRetriever()
    plan = ev.plan_configs(None, retriever.MODES, retrieval_only=False)
    results = ev.run_evaluation(ITEMS, retriever, plan, k=2, answerer_factory=lambda mode: FakeAnswerer(),
                                detect=fake_detect, progress=False)
    hybrid = results["retrieval"]["hybrid"]
    assert hybrid["summary"]["all"]["n"] == 2  # answerable only
    assert hybrid["summary"]["en"]["mrr@10"] == 0.5
    assert hybrid["summary"]["en"]["recall@2"] == 0.5  # ("a",1,3) covers a:3 of a:3,a:4
    assert all(call[1] == ev.RANK_DEPTH for call in retriever.calls)
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

    plan = ev.plan_configs(["hybrid", "llm", "extractive"], ("hybrid",), retrieval_only=False)
    results = ev.run_evaluation(ITEMS[:2], FakeRetriever(), plan, 5, factory, fake_detect, progress=False)
    assert list(results["answers"]) == ["extractive"]
    assert "no model file" in results["meta"]["skipped"]["llm"]


def test_plan_configs_validates_and_honours_retrieval_only():
    with pytest.raises(ValueError, match="bm99"):
        ev.plan_configs(["bm99"], ("hybrid",), False)
    plan = ev.plan_configs(None, ("keyword", "hybrid"), retrieval_only=True)
    assert plan.retrieval_modes == ["keyword", "hybrid"] and plan.answer_modes == []
    assert set(plan.skipped) == {"llm", "extractive", "naive"}


def test_main_writes_json_report_and_chart(tmp_path, monkeypatch):
    qa = tmp_path / "qa.jsonl"
    rows = [{"id": it.id, "question": it.question, "lang": it.lang, "answerable": it.answerable,
             "reference": it.reference, "gold": [f"{s}:{n}" for s, n in it.gold],
             "key_facts": [list(f) for f in it.key_facts], "tags": [], "split": "dev"} for it in ITEMS]
    qa.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    monkeypatch.setattr(ev, "load_retriever", lambda store, corpus=None: FakeRetriever())
    monkeypatch.setattr(ev, "make_answerer_factory", lambda retriever, model: lambda mode: FakeAnswerer())
    monkeypatch.setattr("rag.language.detect_language", fake_detect)
    out = tmp_path / "out"
    code = ev.main(["--qa", str(qa), "--out", str(out), "--configs", "hybrid,extractive", "--no-progress",
                    "--k", "3"])
    assert code == 0
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert list(data["retrieval"]) == ["hybrid"] and list(data["answers"]) == ["extractive"]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Summary: retrieval" in report and "recall@3" in report and "Run time" in report
    assert (out / "chart.png").read_bytes()[:4] == b"\x89PNG"


def test_main_rejects_unknown_config(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(ev, "load_retriever", lambda store, corpus=None: FakeRetriever())
    assert ev.main(["--configs", "nope", "--out", str(tmp_path), "--retrieval-only"]) == 2
    assert "unknown config" in capsys.readouterr().err


def test_help_lists_options(capsys):
    with pytest.raises(SystemExit):
        ev.main(["--help"])
    text = capsys.readouterr().out
    for option in ("--retrieval-only", "--configs", "--k", "--limit", "--split", "--out", "--model"):
        assert option in text
