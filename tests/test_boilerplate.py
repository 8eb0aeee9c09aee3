"""Boilerplate: repeated lines and site furniture are found by rule and reported."""

from __future__ import annotations

from pathlib import Path

from rag.boilerplate import furniture_reason, mark_boilerplate
from rag.corpus import load_corpus, parse_document


def test_seed_boilerplate_report(seeds_dir: Path) -> None:
    report = mark_boilerplate(load_corpus(seeds_dir))
    kresy = report["002_4a5474f8e966f72b.txt"]
    assert [n for n, why in kresy.items() if why == "repeated line"] == [7, 23, 35, 45]
    ro = report["004_a693e22d446df271.txt"]
    assert set(ro) == {18, 24, 26}
    assert "000_c38ec739ece7500b.txt" not in report  # news text is never flagged


def test_repeat_rule_is_general() -> None:
    banner = "Subscribe to our newsletter and never miss a story from us"
    docs = [parse_document("a.txt", f"News one.\n\n{banner}\n"), parse_document("b.txt", f"{banner}\n\nNews two.\n")]
    report = mark_boilerplate(docs)
    assert report == {"a.txt": {3: "repeated line"}, "b.txt": {1: "repeated line"}}


def test_furniture_patterns() -> None:
    assert furniture_reason("Leave a Reply") == "comment form"
    assert furniture_reason("READ  Some other story") == "teaser of another article"
    assert furniture_reason("Whitehouse.gov / Kremlin.ru / Kresy.pl") == "source credits"
    assert furniture_reason("Read the statement carefully, Biden said.") is None
