"""The question set: gold references, the checked JSONL file and its splits."""

from __future__ import annotations

import pytest

from evals.dataset import load_qa, parse_gold


def test_parse_gold():
    assert parse_gold("000_x.txt:15") == ("000_x.txt", 15)
    with pytest.raises(ValueError):
        parse_gold("000_x.txt")


def test_qa_file_is_valid_and_split():
    from evals.validate import validate

    assert validate() == []
    dev, test = load_qa(split="dev"), load_qa(split="test")
    assert len(dev) + len(test) == len(load_qa())
    assert 0.6 < len(dev) / (len(dev) + len(test)) < 0.8
    assert len(load_qa(limit=3)) == 3
