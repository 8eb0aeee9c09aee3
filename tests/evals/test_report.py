"""The written results: cell formatting, Markdown tables and the report built from one fake run."""

from __future__ import annotations

from evals.report import fmt, md_table, render_report, render_summary_line
from evals.runner import plan_configs, run_evaluation
from tests.evals.fakes import ITEMS, FakeAnswerer, FakeRetriever, fake_detect


def test_fmt_and_md_table():
    assert fmt(None) == "–" and fmt(0.5) == "0.500" and fmt(3) == "3"
    assert md_table(["a", "b"], [[1, None]]) == ["| a | b |", "|---|---|", "| 1 | – |"]


def test_report_and_summary_line_read_the_results_document():
    plan = plan_configs(["hybrid", "llm"], ("hybrid",), retrieval_only=False)
    results = run_evaluation(ITEMS, FakeRetriever(), plan, 2, lambda mode: FakeAnswerer(), fake_detect,
                             progress=False)
    report = render_report(results)
    assert "## Retrieval `hybrid` by language" in report and "## Answers `llm` by language" in report
    assert "Errors: pl-002" in report and "recall@2" in report
    lines = render_summary_line(results).splitlines()
    assert lines[0].startswith("retrieval hybrid") and lines[1].startswith("answers   llm")
