"""Line renderings: the checks, retries, the cache, and the shipped renderings of seeds/ and corpus2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.render import (
    RENDER_DIR,
    LineToRender,
    Rendering,
    RenderingStore,
    check_rendering,
    corpus_lines,
    line_hash,
    render_line,
    render_missing,
)
from tests.conftest import ROOT, SEEDS

LINE = "Rozmowa, która odbyła się 30 grudnia na wniosek strony rosyjskiej, trwała około 50 minut."
GOOD = "The conversation, held on 30 December at the Russian side's request, lasted about 50 minutes."


def _scripted(replies: list[str], calls: list[tuple[float, str]]):
    answers = iter(replies)

    def generate(messages, temperature, seed):
        calls.append((temperature, messages[-1]["content"]))
        return next(answers)

    return generate


def test_a_candidate_with_wrong_figures_is_retried_with_a_note_naming_them() -> None:
    calls: list[tuple[float, str]] = []
    wrong = "The conversation, held on 30 December at the Russian side's request, lasted about 50 hours."
    item = render_line(LineToRender(LINE, "pl", ""), _scripted([wrong, GOOD], calls), lambda a, b: 0.9)
    assert item.ok and item.text == GOOD
    assert [t for t, _ in calls] == [0.0, 0.0]
    assert "says 50 minutes" in calls[1][1] and "does not say 50 hours" in calls[1][1]


def test_a_candidate_failing_otherwise_is_retried_by_sampling() -> None:
    calls: list[tuple[float, str]] = []
    item = render_line(LineToRender(LINE, "pl", ""), _scripted([GOOD + " " + GOOD + " " + GOOD, GOOD], calls),
                       lambda a, b: 0.9)
    assert item.ok and item.text == GOOD and [t for t, _ in calls] == [0.0, 0.5]
    assert LINE in calls[1][1]  # the first prompt again, no note


def test_no_passing_candidate_keeps_no_text() -> None:
    item = render_line(LineToRender(LINE, "pl", ""), lambda *a: "It lasted 30 minutes.", lambda a, b: 0.9)
    assert not item.ok and item.text == "" and item.rejected


def test_store_is_keyed_by_line_text_and_survives_a_torn_line(tmp_path: Path) -> None:
    store = RenderingStore(path=tmp_path / "en.jsonl")
    render_missing([LineToRender(LINE, "pl", "")], store, lambda *a: GOOD, lambda a, b: 0.9, progress=False)
    with open(tmp_path / "en.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"hash": "torn')  # a crash mid-write
    again = RenderingStore(path=tmp_path / "en.jsonl")
    assert again.text(LINE) == GOOD and again.text(LINE + " Edited.") == ""
    assert render_missing([LineToRender(LINE, "pl", "")], again, lambda *a: 1 / 0, lambda a, b: 0.9,
                          progress=False) == 0  # cached: the model is not asked again


def test_export_ships_passing_and_failed_records_without_rejected_text(tmp_path: Path) -> None:
    store = RenderingStore(path=tmp_path / "cache.jsonl")
    store.add(Rendering(line_hash("a"), "pl", "A.", True, 0.9))
    store.add(Rendering(line_hash("b"), "pl", "", False, 0.5, ["similarity"], rejected="garbage"))
    n = store.export([line_hash("a"), line_hash("b")], tmp_path / "out" / "en.jsonl")
    rows = [json.loads(x) for x in (tmp_path / "out" / "en.jsonl").read_text("utf-8").splitlines()]
    assert n == 2 and all(r["rejected"] == "" for r in rows)


@pytest.mark.parametrize("corpus", [SEEDS, ROOT / "evals" / "corpus2" / "docs"], ids=["seeds", "corpus2"])
def test_shipped_renderings_match_the_corpus_lines(corpus: Path) -> None:
    """Regenerate with `rag render --corpus DIR --export DIR/.renderings/en.jsonl` after editing a file."""
    shipped = corpus / RENDER_DIR / "en.jsonl"
    assert shipped.exists(), f"run: rag render --corpus {corpus} --export {shipped}"
    rows = {r["hash"]: r for r in map(json.loads, shipped.read_text("utf-8").splitlines())}
    lines = corpus_lines(corpus)
    missing = [ln.text[:60] for ln in lines if line_hash(ln.text) not in rows]
    assert not missing, f"lines without a rendering record (re-run rag render): {missing}"
    for ln in lines:
        row = rows[line_hash(ln.text)]
        if row["ok"]:  # what is shipped as text still passes the checks (with its recorded similarity)
            assert check_rendering(ln.text, ln.lang, row["text"], row["similarity"]).ok, row
        else:
            assert row["text"] == ""
    passed = sum(rows[line_hash(ln.text)]["ok"] for ln in lines)
    assert passed >= 0.7 * len(lines), f"only {passed}/{len(lines)} lines have a checked rendering"
