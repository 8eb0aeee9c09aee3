"""`rag eval` end to end with fakes in place of the index and the models: files, errors, help."""

from __future__ import annotations

import json

import pytest

from evals import cli, loaders
from tests.evals.fakes import ITEMS, FakeAnswerer, FakeRetriever, fake_detect


def test_main_writes_json_report_and_chart(tmp_path, monkeypatch):
    qa = tmp_path / "qa.jsonl"
    rows = [{"id": it.id, "question": it.question, "lang": it.lang, "answerable": it.answerable,
             "reference": it.reference, "gold": [f"{s}:{n}" for s, n in it.gold],
             "key_facts": [list(f) for f in it.key_facts], "tags": [], "split": "dev"} for it in ITEMS]
    qa.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    monkeypatch.setattr(loaders, "load_retriever", lambda store, corpus=None: FakeRetriever())
    monkeypatch.setattr(loaders, "make_answerer_factory", lambda retriever, model: lambda mode: FakeAnswerer())
    monkeypatch.setattr("rag.language.detect_language", fake_detect)
    out = tmp_path / "out"
    code = cli.main(["--qa", str(qa), "--out", str(out), "--configs", "hybrid,extractive", "--no-progress",
                     "--k", "3"])
    assert code == 0
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert list(data["retrieval"]) == ["hybrid"] and list(data["answers"]) == ["extractive"]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Summary: retrieval" in report and "recall@3" in report and "Run time" in report
    assert (out / "chart.png").read_bytes()[:4] == b"\x89PNG"


def test_main_rejects_unknown_config(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(loaders, "load_retriever", lambda store, corpus=None: FakeRetriever())
    assert cli.main(["--configs", "nope", "--out", str(tmp_path), "--retrieval-only"]) == 2
    assert "unknown config" in capsys.readouterr().err


def test_help_lists_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    for option in ("--retrieval-only", "--configs", "--k", "--limit", "--split", "--out", "--model"):
        assert option in text
