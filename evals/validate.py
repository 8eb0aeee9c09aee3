"""Checks evals/qa.jsonl before anyone trusts numbers computed from it.

Why: gold line numbers silently rot when a seed file changes, and a reference answer that
fails its own key facts would score every correct system as wrong. Run it after any edit:

    python evals/validate.py            # exit status 1 on errors
    from evals.validate import validate  # -> list of problems
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `evals` and `rag` importable for the shared matcher
    sys.path.insert(0, str(ROOT))

from evals.metrics import fact_present  # noqa: E402
from rag.text import fold_spaced  # noqa: E402

QA_PATH = ROOT / "evals" / "qa.jsonl"
SEEDS = ROOT / "seeds"
MINIMUMS = {"en": 32, "pl": 14, "ro": 12}
MIN_TOTAL = 66
MIN_UNANSWERABLE = 12
FIELDS = {"id": str, "question": str, "lang": str, "answerable": bool, "reference": str,
          "gold": list, "key_facts": list, "tags": list, "split": str}
GOLD_RE = re.compile(r"^(?P<file>[\w.-]+\.txt):(?P<line>[1-9]\d*)$")
COPY_NGRAM = 7  # a question sharing this many consecutive words with a seed line is a copy, not a paraphrase


def read_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            row = json.loads(line)
            row["_line"] = number
            rows.append(row)
    return rows


def seed_lines(seeds: Path) -> dict[str, list[str]]:
    return {p.name: p.read_text(encoding="utf-8").split("\n") for p in sorted(seeds.glob("*.txt"))}


def check_schema(row: dict[str, Any]) -> list[str]:
    problems = [f"missing or mistyped '{name}'" for name, kind in FIELDS.items()
                if not isinstance(row.get(name), kind)]
    if problems:
        return problems
    if row["lang"] not in MINIMUMS:
        problems.append(f"lang {row['lang']!r} not one of {sorted(MINIMUMS)}")
    if not row["id"].startswith(row["lang"] + "-"):
        problems.append(f"id {row['id']!r} should start with '{row['lang']}-'")
    if row["split"] not in ("dev", "test"):
        problems.append(f"split {row['split']!r} must be dev or test")
    if not row["question"].strip() or not row["reference"].strip():
        problems.append("empty question or reference")
    if row["answerable"] != bool(row["gold"]) or row["answerable"] != bool(row["key_facts"]):
        problems.append("answerable questions need gold and key_facts; unanswerable ones must have neither")
    if not row["answerable"] and "unanswerable" not in row["tags"]:
        problems.append("unanswerable question lacks the 'unanswerable' tag")
    for fact in row["key_facts"]:
        if not (isinstance(fact, list) and fact and all(isinstance(a, str) and a.strip() for a in fact)):
            problems.append(f"key fact {fact!r} must be a non-empty list of non-empty strings")
    return problems


def check_gold(row: dict[str, Any], seeds: dict[str, list[str]]) -> list[str]:
    problems = []
    if len(set(row["gold"])) != len(row["gold"]):
        problems.append("duplicate gold lines")
    for ref in row["gold"]:
        match = GOLD_RE.match(ref) if isinstance(ref, str) else None
        if not match:
            problems.append(f"gold {ref!r} is not 'file.txt:LINE'")
            continue
        lines = seeds.get(match["file"])
        number = int(match["line"])
        if lines is None:
            problems.append(f"gold {ref}: no such seed file")
        elif number > len(lines) or not lines[number - 1].strip():
            problems.append(f"gold {ref}: line missing or blank")
    return problems


def check_reference_facts(row: dict[str, Any]) -> list[str]:
    """The reference answer must pass its own key facts, or the facts are mis-written."""
    return [f"reference fails key fact {fact}" for fact in row["key_facts"]
            if isinstance(fact, list) and not fact_present(fact, row["reference"])]


def copied_ngram(question: str, seeds: dict[str, list[str]], n: int = COPY_NGRAM) -> str | None:
    words = fold_spaced(question).split()
    grams = {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}
    for lines in seeds.values():
        for line in lines:
            folded = fold_spaced(line)
            for gram in grams:
                if gram in folded:
                    return gram
    return None


def check_counts(rows: list[dict[str, Any]]) -> list[str]:
    langs = Counter(r.get("lang") for r in rows)
    problems = [f"{lang}: {langs[lang]} questions, need at least {need}"
                for lang, need in MINIMUMS.items() if langs[lang] < need]
    if len(rows) < MIN_TOTAL:
        problems.append(f"{len(rows)} questions, need at least {MIN_TOTAL}")
    unanswerable = sum(1 for r in rows if r.get("answerable") is False)
    if unanswerable < MIN_UNANSWERABLE:
        problems.append(f"{unanswerable} unanswerable questions, need at least {MIN_UNANSWERABLE}")
    ids = Counter(r.get("id") for r in rows)
    problems += [f"duplicate id {i}" for i, n in ids.items() if n > 1]
    return problems


def validate(path: Path = QA_PATH, seeds_dir: Path = SEEDS) -> list[str]:
    """Every problem found, as 'qa.jsonl:LINE id: message' strings; empty means valid."""
    seeds = seed_lines(seeds_dir)
    rows = read_rows(path)
    problems = []
    for row in rows:
        where = f"{path.name}:{row['_line']} {row.get('id', '?')}"
        found = check_schema(row)
        if not found:
            found = check_gold(row, seeds) + check_reference_facts(row)
            gram = copied_ngram(row["question"], seeds)
            if gram:
                found.append(f"question copies the article verbatim: '{gram}'")
        problems += [f"{where}: {p}" for p in found]
    return problems + check_counts(rows)


def summary(path: Path = QA_PATH) -> str:
    rows = read_rows(path)
    table = Counter((r["lang"], r["answerable"], r["split"]) for r in rows)
    out = [f"{len(rows)} questions"]
    for lang in MINIMUMS:
        ans = sum(n for (l, a, _), n in table.items() if l == lang and a)
        una = sum(n for (l, a, _), n in table.items() if l == lang and not a)
        dev = sum(n for (l, _, s), n in table.items() if l == lang and s == "dev")
        out.append(f"  {lang}: {ans + una} ({ans} answerable, {una} unanswerable; {dev} dev, {ans + una - dev} test)")
    tags = Counter(t for r in rows for t in r["tags"])
    out.append("  tags: " + ", ".join(f"{t}={n}" for t, n in tags.most_common()))
    return "\n".join(out)


def main() -> int:
    problems = validate()
    for problem in problems:
        print(problem)
    print(summary())
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
