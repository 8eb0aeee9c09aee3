"""Runs the configurations over the question set and returns the results document (nothing written).

The runner takes ready objects (a retriever, an answerer factory) that satisfy evals.protocols, so
tests drive the whole run with fakes and the CLI only wires the real ones in.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from evals.dataset import LANGS, QAItem
from evals.metrics import (
    RANK_DEPTH,
    Span,
    citation_precision,
    citation_recall,
    first_hit_rank,
    gold_in_span,
    key_fact_score,
    refusal_stats,
    retrieval_scores,
    strip_citation_marks,
    token_f1,
    unretrieved_citations,
)
from evals.protocols import AnswererFactory, EvalAnswer, EvalAnswerer, EvalRetriever, LineSpan
from evals.stats import mean, percentile

ANSWER_MODES = ("llm", "extractive", "naive")  # naive: the plain LangChain chain (evals/naive.py)
# Run only when named: `lead` is the llm config's verified lead block alone (evals/lead.py).
OPT_IN_ANSWER_MODES = ("lead",)

Record = dict[str, Any]


def as_span(obj: LineSpan) -> Span:
    return (str(obj.source), int(obj.start_line), int(obj.end_line))


def span_id(span: Span) -> str:
    return f"{span[0]}:{span[1]}-{span[2]}"


@dataclass(frozen=True)
class _NoAnswer:
    """What a question whose answerer raised is scored as: an empty answer that does not refuse."""

    answer: str = ""
    refused: bool = False
    citations: tuple[LineSpan, ...] = ()
    passages: tuple[LineSpan, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Evaluating one configuration
# ---------------------------------------------------------------------------------------------


def _by_lang(records: list[Record], summarise: Callable[[list[Record]], Record]) -> Record:
    """The summary over all records, per split when there are several, then per language."""
    langs = sorted({r["lang"] for r in records}, key=lambda x: (LANGS.index(x) if x in LANGS else 99, x))
    splits = sorted({r["split"] for r in records})
    by_split = {f"split:{s}": summarise([r for r in records if r["split"] == s]) for s in splits} if len(splits) > 1 else {}
    return {"all": summarise(records), **by_split,
            **{lang: summarise([r for r in records if r["lang"] == lang]) for lang in langs}}


def evaluate_retrieval(retriever: EvalRetriever, items: Sequence[QAItem], mode: str, k: int,
                       progress: bool = True) -> Record:
    """Search every answerable question with one retriever mode and score the ranked spans."""
    index_spans = [as_span(c) for c in retriever.chunks or []]
    records = []
    for item in _progress([it for it in items if it.answerable], f"retrieval:{mode}", progress):
        started = time.perf_counter()
        passages = retriever.search(item.question, k=max(k, RANK_DEPTH), mode=mode)
        elapsed = time.perf_counter() - started
        spans = [as_span(p) for p in passages]
        scores = retrieval_scores(spans, item.gold, k, index_spans or None)
        records.append({"id": item.id, "lang": item.lang, "split": item.split, "tags": list(item.tags),
                        "retrieved": [span_id(s) for s in spans], "first_hit_rank": first_hit_rank(spans, item.gold),
                        "search_s": round(elapsed, 4), **scores})
    metric_names = ["hit@1", "hit@3", "hit@5", "mrr@10", "ndcg@10", f"recall@{k}"]

    def summarise(rows: list[Record]) -> Record:
        out: Record = {"n": len(rows)}
        out.update({m: mean(r[m] for r in rows) for m in metric_names})
        out["search_p50_s"] = percentile([r["search_s"] for r in rows], 50)
        return out

    unindexed = sorted({f"{s}:{n}" for it in items for s, n in it.gold
                        if index_spans and not any(gold_in_span(sp, [(s, n)]) for sp in index_spans)})
    return {"kind": "retrieval", "mode": mode, "k": k, "summary": _by_lang(records, summarise),
            "unindexed_gold": unindexed, "questions": records}


def score_answer(item: QAItem, answer: EvalAnswer, detect: Callable[[str], str]) -> Record:
    """Per-question answer figures; answerable-only figures are None on unanswerable questions."""
    text = str(answer.answer or "")
    refused = bool(answer.refused)
    citations = [as_span(c) for c in (answer.citations or [])]
    passages = [as_span(p) for p in (answer.passages or [])]
    timings = answer.timings or {}
    facts, all_facts = key_fact_score(item.key_facts, "" if refused else text)
    plain = strip_citation_marks(text)
    detected = detect(plain) if plain else None
    return {
        "id": item.id, "lang": item.lang, "split": item.split, "answerable": item.answerable,
        "tags": list(item.tags), "answer": text, "refused": refused,
        "detected_lang": detected,
        "lang_match": detected == item.lang,
        "key_facts": facts if item.answerable else None,
        "all_facts": float(all_facts) if item.answerable else None,
        "f1": token_f1(text, item.reference) if item.answerable else None,
        "citations": [span_id(c) for c in citations],
        "citation_precision": citation_precision(citations, item.gold) if item.answerable else None,
        "citation_recall": citation_recall(citations, item.gold) if item.answerable else None,
        "n_citations": len(citations),
        "n_unretrieved_citations": unretrieved_citations(citations, passages),
        "total_s": _float_or_none(timings.get("total_s")),
        "first_token_s": _float_or_none(timings.get("first_token_s")),
    }


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def summarise_answers(rows: list[Record]) -> Record:
    """Aggregate per-question answer figures (means over the questions where each applies)."""
    ok = [r for r in rows if not r.get("error")]
    n_cit = sum(r["n_citations"] for r in ok)
    out: Record = {
        "n": len(rows), "errors": len(rows) - len(ok),
        "key_facts": mean(r["key_facts"] for r in ok), "all_facts": mean(r["all_facts"] for r in ok),
        "f1": mean(r["f1"] for r in ok), "lang_match": mean(float(r["lang_match"]) for r in ok),
        "citation_precision": mean(r["citation_precision"] for r in ok),
        "citation_recall": mean(r["citation_recall"] for r in ok),
        "unretrieved_citation_rate": sum(r["n_unretrieved_citations"] for r in ok) / n_cit if n_cit else None,
    }
    out.update(refusal_stats([r["answerable"] for r in ok], [r["refused"] for r in ok]))
    for key in ("total_s", "first_token_s"):
        values = [r[key] for r in ok if r[key] is not None]
        out[f"{key}_p50"], out[f"{key}_p95"] = percentile(values, 50), percentile(values, 95)
    return out


def evaluate_answers(answerer: EvalAnswerer, items: Sequence[QAItem], mode: str, k: int, retrieval_mode: str,
                     detect: Callable[[str], str], progress: bool = True) -> Record:
    """Ask every question (answerable or not) in one answer mode and score the answers."""
    records = []
    for item in _progress(items, f"answer:{mode}", progress):
        try:
            answer = answerer.ask(item.question, mode=mode, k=k, retrieval_mode=retrieval_mode)
            records.append(score_answer(item, answer, detect))
        except Exception as exc:  # one bad question must not sink a long run; it is reported
            record = score_answer(item, _NoAnswer(), detect)
            record["error"] = f"{type(exc).__name__}: {exc}"
            records.append(record)
    return {"kind": "answer", "mode": mode, "k": k, "retrieval_mode": retrieval_mode,
            "summary": _by_lang(records, summarise_answers), "questions": records}


def _progress(items: Sequence[QAItem], desc: str, enabled: bool) -> Iterable[QAItem]:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="q", file=sys.stderr, leave=False)


# ---------------------------------------------------------------------------------------------
# The whole run
# ---------------------------------------------------------------------------------------------


@dataclass
class RunPlan:
    """Which configurations to run; `skipped` explains every requested config that was dropped."""

    retrieval_modes: list[str]
    answer_modes: list[str]
    skipped: dict[str, str] = field(default_factory=dict)


def plan_configs(requested: Sequence[str] | None, retrieval_modes: Sequence[str],
                 retrieval_only: bool) -> RunPlan:
    """Split the --configs names into retrieval and answer configs, validating them."""
    names = list(requested) if requested else [*retrieval_modes, *ANSWER_MODES]
    answer_modes = (*ANSWER_MODES, *OPT_IN_ANSWER_MODES)
    unknown = [n for n in names if n not in retrieval_modes and n not in answer_modes]
    if unknown:
        raise ValueError(f"unknown config(s) {', '.join(unknown)}; "
                         f"choose from {', '.join([*retrieval_modes, *answer_modes])}")
    plan = RunPlan([n for n in names if n in retrieval_modes], [n for n in names if n in answer_modes])
    if retrieval_only:
        plan.skipped.update({m: "--retrieval-only" for m in plan.answer_modes})
        plan.answer_modes = []
    return plan


def run_evaluation(items: Sequence[QAItem], retriever: EvalRetriever, plan: RunPlan, k: int,
                   answerer_factory: AnswererFactory | None = None,
                   detect: Callable[[str], str] | None = None, answer_retrieval_mode: str = "hybrid",
                   progress: bool = True, meta: dict[str, Any] | None = None) -> Record:
    """Evaluate every planned configuration and return the results document.

    If `answerer_factory(mode)` raises (e.g. the model cannot load), that configuration is skipped
    with the reason recorded, and the run goes on.
    """
    if detect is None:
        from rag.language import detect_language

        detect = detect_language
    started = time.perf_counter()
    results: Record = {"retrieval": {}, "answers": {}}
    for mode in plan.retrieval_modes:
        results["retrieval"][mode] = evaluate_retrieval(retriever, items, mode, k, progress)
    for mode in plan.answer_modes:
        try:
            answerer = answerer_factory(mode) if answerer_factory else None
            if answerer is None:
                raise RuntimeError("no answerer available")
        except Exception as exc:
            plan.skipped[mode] = f"could not load: {type(exc).__name__}: {exc}"
            print(f"rag eval: skipping '{mode}' answers ({plan.skipped[mode]})", file=sys.stderr)
            continue
        results["answers"][mode] = evaluate_answers(answerer, items, mode, k, answer_retrieval_mode, detect,
                                                    progress)
    results["meta"] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": round(time.perf_counter() - started, 2), "k": k, "n_questions": len(items),
        "n_answerable": sum(it.answerable for it in items),
        "langs": dict(Counter(it.lang for it in items)),
        "retrieval_configs": plan.retrieval_modes, "answer_configs": list(results["answers"]),
        "answer_retrieval_mode": answer_retrieval_mode, "skipped": dict(plan.skipped), **(meta or {}),
    }
    return results
