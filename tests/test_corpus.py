"""Corpus loading: metadata, exact line numbering, and bad files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rag.corpus import CorpusError, load_corpus, parse_document, split_date_marker


def test_seed_metadata(seeds_dir: Path) -> None:
    docs = {d.source: d for d in load_corpus(seeds_dir)}
    assert len(docs) == 5
    assert docs["000_c38ec739ece7500b.txt"].date == "2021-12"
    assert docs["002_4a5474f8e966f72b.txt"].date == "2021-12"
    assert docs["001_400e8c6d7a4d42b4.txt"].date == ""
    assert [d.lang for d in docs.values()] == ["pl", "pl", "pl", "pl", "ro"]
    assert docs["004_a693e22d446df271.txt"].title.startswith("Rusia spune că speră")


def test_date_marker_is_metadata_not_text(seeds_dir: Path) -> None:
    doc = {d.source: d for d in load_corpus(seeds_dir)}["000_c38ec739ece7500b.txt"]
    assert doc.line(1).startswith("Podsumowując mijający rok")
    assert "date 2021" not in doc.line(1)


def test_line_numbers_match_the_file(seeds_dir: Path) -> None:
    for doc in load_corpus(seeds_dir):
        raw = (seeds_dir / doc.source).read_text("utf-8").split("\n")
        for number in range(2, len(doc.lines) + 1):
            assert doc.line(number) == raw[number - 1]


def test_split_date_marker() -> None:
    assert split_date_marker(" date 2021-12 Tekst") == ("2021-12", "Tekst")
    assert split_date_marker("date 2022-01-05 Text") == ("2022-01", "Text")
    assert split_date_marker("The date 2021-12 is here") == ("", "The date 2021-12 is here")


def test_bad_files_are_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "good.txt").write_text("Biden a vorbit cu Putin.\n", "utf-8")
    (tmp_path / "latin1.txt").write_bytes("Zażółć gęślą jaźń".encode("cp1250"))
    (tmp_path / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (tmp_path / "empty.txt").write_text("", "utf-8")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")  # not a corpus suffix: ignored silently
    with caplog.at_level(logging.WARNING):
        docs = load_corpus(tmp_path)
    assert [d.source for d in docs] == ["good.txt"]
    text = caplog.text
    assert "latin1.txt" in text and "not UTF-8" in text
    assert "image.md" in text and "binary" in text
    assert "empty.txt" in text


def test_empty_or_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no .txt or .md files"):
        load_corpus(tmp_path)
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "nope")
    (tmp_path / "blank.txt").write_text("\n\n   \n", "utf-8")
    with pytest.raises(CorpusError, match="no indexable text"):
        load_corpus(tmp_path)


def test_crlf_and_trailing_newline() -> None:
    doc = parse_document("x.txt", "a\r\nb\r\n")
    assert doc.lines == ["a", "b"]
