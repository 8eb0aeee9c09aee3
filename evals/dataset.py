"""The question set: one record per hand-written question, read from JSONL and cut into splits.

Dev is for calibration and test for reporting, so a split travels with every question and every
figure is also given per split.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.settings import PROJECT_ROOT

QA_PATH = PROJECT_ROOT / "evals" / "qa.jsonl"
SPLITS = ("dev", "test", "all")
LANGS = ("en", "pl", "ro")  # the order languages are reported in; others follow alphabetically

Line = tuple[str, int]  # (file name, 1-based line number)


@dataclass(frozen=True)
class QAItem:
    """One evaluation question with its gold evidence lines and key facts."""

    id: str
    question: str
    lang: str
    answerable: bool
    reference: str
    gold: tuple[Line, ...]
    key_facts: tuple[tuple[str, ...], ...]
    tags: tuple[str, ...] = ()
    split: str = "dev"


def parse_gold(ref: str) -> Line:
    """"000_x.txt:15" -> ("000_x.txt", 15); rsplit so a colon in a file name cannot break it."""
    name, _, number = ref.rpartition(":")
    if not name or not number.isdigit():
        raise ValueError(f"gold reference must look like 'file.txt:LINE', got {ref!r}")
    return name, int(number)


def item_from_dict(row: dict[str, Any]) -> QAItem:
    return QAItem(
        id=row["id"], question=row["question"], lang=row["lang"], answerable=bool(row["answerable"]),
        reference=row.get("reference", ""), gold=tuple(parse_gold(g) for g in row.get("gold", [])),
        key_facts=tuple(tuple(alts) for alts in row.get("key_facts", [])),
        tags=tuple(row.get("tags", [])), split=row.get("split", "dev"),
    )


def load_qa(path: Path = QA_PATH, split: str = "all", limit: int | None = None) -> list[QAItem]:
    """Read the JSONL set, keep one split ("dev", "test" or "all") and at most `limit` items."""
    items = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                items.append(item_from_dict(json.loads(line)))
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
    if split != "all":
        items = [it for it in items if it.split == split]
    return items[:limit] if limit else items
