"""Calibrate the refusal decision on the dev split: run every question through the model once with
the evidence gate open, record the signals, then score each threshold setting without re-running it.

Signals per question (all of them scale-free or read off the question itself, so they carry to a
new corpus better than a fitted cosine): the best question/line cosine, the best line score, the
share of the question's names the corpus never mentions, whether a "how many / when" question's
selected lines hold such a detail, and the model's own "not in these lines" (grammar branch).

    python -m evals.calibrate --qa evals/qa.jsonl --split dev --out /tmp/cal-seeds.jsonl
    python -m evals.calibrate --qa evals/corpus2/qa.jsonl --corpus evals/corpus2/docs --split dev ...
    python -m evals.calibrate --grid /tmp/cal-seeds.jsonl /tmp/cal-c2.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
from pathlib import Path
from typing import Any

from evals.dataset import QA_PATH, load_qa
from evals.loaders import load_retriever
from evals.metrics import key_fact_score


def record_signals(qa: Path, corpus: Path | None, split: str, out: Path, model: str) -> None:
    from tqdm import tqdm

    from rag.answer import Answerer
    from rag.answer_config import AnswerConfig
    from rag.ground.config import GroundingConfig
    from rag.ground.evidence import Evidence
    from rag.ground.question import score_question
    from rag.language import answer_language
    from rag.prompt import is_no_answer

    retriever = load_retriever(None, corpus)
    # The gates open: every refusal threshold (the grounding's and the answer step's) let through.
    open_gate = dataclasses.replace(GroundingConfig(), min_retrieval_cosine=-1.0, min_question_support=-1.0,
                                    max_unknown_share=2.0)
    trust_model = dataclasses.replace(AnswerConfig(), override_not_found=-1.0)
    answerer = Answerer.load(model, retriever=retriever, grounding=open_gate, config=trust_model)
    with open(out, "w", encoding="utf-8") as fh:
        for item in tqdm(load_qa(qa, split), desc="questions", unit="q", file=sys.stderr):
            language = answer_language(item.question)
            passages = retriever.search(item.question, k=trust_model.evidence_k)
            passages = passages + answerer._neighbours(passages)
            evidence = Evidence(passages, retriever.embedder, open_gate, answerer.vocabulary,
                                renderings=answerer.renderings.text if answerer.renderings else None)
            qe = score_question(item.question, evidence, language)
            answer = answerer.ask(item.question)
            model_said = next((d["text"] for d in answer.sentences if d.get("kind") == "model: not found"), "")
            facts, _ = key_fact_score(item.key_facts, answer.answer)
            cited = {(c.source, n) for c in answer.citations for n in range(c.start_line, c.end_line + 1)}
            gold = set(item.gold)
            fh.write(json.dumps({
                "id": item.id, "lang": item.lang, "answerable": item.answerable,
                "top_cosine": qe.top_cosine, "best": qe.best(), "unknown": qe.unknown,
                "not_found": bool(model_said) or is_no_answer(answer.answer),
                "key_facts": facts if item.answerable else None,
                "cite_p": (len(cited & gold) / len(cited)) if cited and item.answerable else None,
                "answer": answer.answer[-300:],
            }, ensure_ascii=False) + "\n")


def _refused_anyway(row: dict[str, Any]) -> bool:
    """Refused with the gate open (the selection found no line, or lacked the asked kind of detail)."""
    from rag.ground.lexicon import REFUSALS

    return any(row["answer"].startswith(text[:20]) for text in REFUSALS.values()) and not row["not_found"]


def simulate(rows: list[dict[str, Any]], cosine: float, best: float, unknown: float, override: float) -> dict:
    refused = [r["top_cosine"] < cosine or r["best"] < best or r["unknown"] >= unknown
               or (r["not_found"] and r["best"] < override) or _refused_anyway(r) for r in rows]
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    kept = [r for r, x in zip(rows, refused) if r["answerable"] and not x]
    facts = sum(r["key_facts"] or 0 for r in kept) / max(len(ans), 1)
    recall = sum(x for r, x in zip(rows, refused) if not r["answerable"]) / max(len(una), 1)
    false = sum(x for r, x in zip(rows, refused) if r["answerable"]) / max(len(ans), 1)
    return {"cosine": cosine, "best": best, "unknown": unknown, "override": override,
            "key_facts": round(facts, 3), "refusal_recall": round(recall, 3), "false_refusals": round(false, 3)}


def grid(files: list[Path]) -> None:
    sets = {f.name: [json.loads(line) for line in f.read_text("utf-8").splitlines() if line] for f in files}
    results = []
    for cos, best, unk, over in itertools.product((-1, 0.70, 0.72, 0.74, 0.76, 0.775),
                                                  (-1, 0.05, 0.10, 0.15), (0.5, 2.0),
                                                  (-1, 0.3, 0.4, 0.5, 0.6, 0.75, 9)):
        per = {name: simulate(rows, cos, best, unk, over) for name, rows in sets.items()}
        worst = min(min(p["refusal_recall"] - 2 * p["false_refusals"], p["key_facts"]) for p in per.values())
        results.append((worst, per))
    for worst, per in sorted(results, key=lambda x: -x[0])[:12]:
        first = next(iter(per.values()))
        print(f"cos<{first['cosine']} best<{first['best']} unk>={first['unknown']} override<{first['override']}: "
              + " | ".join(f"{n}: facts {p['key_facts']} rR {p['refusal_recall']} fR {p['false_refusals']}"
                           for n, p in per.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.calibrate", description=__doc__.split("\n")[0])
    parser.add_argument("--qa", type=Path, default=QA_PATH)
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--split", default="dev", choices=("dev", "test", "all"))
    parser.add_argument("--out", type=Path, help="write the signals of every question here (JSONL)")
    parser.add_argument("--model", default="default")
    parser.add_argument("--grid", nargs="+", type=Path, help="score threshold settings on recorded signal files")
    args = parser.parse_args(argv)
    if args.grid:
        grid(args.grid)
    elif args.out:
        record_signals(args.qa, args.corpus, args.split, args.out, args.model)
    else:
        parser.error("give --out to record or --grid to score")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
