"""Offline evaluation of retrieval and answering against the hand-written set in evals/qa.jsonl.

Why a runner of our own: the questions carry line-level gold evidence and key facts in three
languages, so the figures we care about (did we fetch the right lines? did we answer in the
asker's language? are citations on the gold lines? do we refuse what the corpus cannot answer?)
are cheap to compute exactly here and need no judge model.

Pure metric functions sit at the top and are unit-tested; `run_evaluation` takes ready objects
(retriever, answerer factory) so tests can drive the whole runner with fakes; `main` only wires.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rag.settings import PROJECT_ROOT
from rag.text import fold_spaced

QA_PATH = PROJECT_ROOT / "evals" / "qa.jsonl"
DEFAULT_OUT = PROJECT_ROOT / "evals" / "results"
ANSWER_MODES = ("llm", "extractive", "naive")  # naive: the plain LangChain chain (evals/naive.py)
DEFAULT_RETRIEVAL_MODES = ("keyword", "dense", "hybrid")
RANK_DEPTH = 10  # MRR@10 and nDCG@10 need ten results whatever --k says
LANGS = ("en", "pl", "ro")

Line = tuple[str, int]  # (file name, 1-based line number)
Span = tuple[str, int, int]  # (file name, start_line, end_line), inclusive


# ---------------------------------------------------------------------------------------------
# The question set
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Text matching: answers are free text in three languages, so compare folded forms
# ---------------------------------------------------------------------------------------------

_CITATION_MARK = re.compile(r"\[\s*\d+(?:\s*[,;-]\s*\d+)*\s*\]")


fold = fold_spaced  # answers and expected facts compare as phrases: dashes and spaces unified


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", fold(text))


def fact_present(alternatives: Iterable[str], text: str) -> bool:
    """True if any alternative occurs in `text` starting at a word boundary.

    Prefix-of-word matching lets one stem cover inflections ("Genew" matches "Genewie");
    an alternative ending in a digit must not run into more digits ("12" never matches "2012").
    """
    haystack = fold(text)
    for alt in alternatives:
        needle = fold(alt)
        if not needle:
            continue
        tail = r"(?!\d)" if needle[-1].isdigit() else ""
        if re.search(r"(?<!\w)" + re.escape(needle) + tail, haystack):
            return True
    return False


def key_fact_score(key_facts: Sequence[Sequence[str]], answer: str) -> tuple[float, bool]:
    """(fraction of key facts found in the answer, whether all were found); (1.0, True) if none."""
    if not key_facts:
        return 1.0, True
    found = sum(fact_present(alts, answer) for alts in key_facts)
    return found / len(key_facts), found == len(key_facts)


def token_f1(prediction: str, reference: str) -> float:
    """Bag-of-tokens F1 on folded text: a rough overlap score that tolerates word order."""
    pred, ref = tokens(_CITATION_MARK.sub(" ", prediction)), tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def strip_citation_marks(text: str) -> str:
    """Bracketed citation numbers confuse language identification of short answers."""
    return _CITATION_MARK.sub(" ", text or "").strip()


# ---------------------------------------------------------------------------------------------
# Retrieval metrics. A retrieved chunk is a span; it is relevant if it contains a gold line.
# ---------------------------------------------------------------------------------------------


def span_lines(span: Span) -> set[Line]:
    source, start, end = span
    return {(source, n) for n in range(start, end + 1)}


def gold_in_span(span: Span, gold: Iterable[Line]) -> set[Line]:
    source, start, end = span
    return {(s, n) for s, n in gold if s == source and start <= n <= end}


def first_hit_rank(spans: Sequence[Span], gold: Iterable[Line]) -> int | None:
    """1-based rank of the first span holding a gold line, None if there is none."""
    gold = set(gold)
    for rank, span in enumerate(spans, start=1):
        if gold_in_span(span, gold):
            return rank
    return None


def hit_at(spans: Sequence[Span], gold: Iterable[Line], k: int) -> float:
    rank = first_hit_rank(spans[:k], gold)
    return 1.0 if rank is not None else 0.0


def reciprocal_rank(spans: Sequence[Span], gold: Iterable[Line], k: int = RANK_DEPTH) -> float:
    rank = first_hit_rank(spans[:k], gold)
    return 1.0 / rank if rank else 0.0


def recall_at(spans: Sequence[Span], gold: Iterable[Line], k: int) -> float:
    """Fraction of gold lines covered by the top-k spans (1.0 when there is no gold)."""
    gold = set(gold)
    if not gold:
        return 1.0
    covered: set[Line] = set()
    for span in spans[:k]:
        covered |= gold_in_span(span, gold)
    return len(covered) / len(gold)


def novel_gains(spans: Sequence[Span], gold: Iterable[Line]) -> list[int]:
    """Per rank, the gold lines a span adds that no higher-ranked span already covered.

    Graded gain rewards chunks holding more of the evidence; counting each line once stops
    overlapping windows of the same paragraph from being rewarded twice.
    """
    remaining = set(gold)
    gains = []
    for span in spans:
        got = gold_in_span(span, remaining)
        remaining -= got
        gains.append(len(got))
    return gains


def ideal_gains(gold: Iterable[Line], index_spans: Sequence[Span] | None) -> list[int]:
    """Best achievable gain sequence: greedy cover of the gold lines by the index's own chunks.

    Without the index's chunk list, assume one chunk per file holding all of that file's gold.
    """
    gold = set(gold)
    if not index_spans:
        return sorted(Counter(s for s, _ in gold).values(), reverse=True)
    remaining, gains = set(gold), []
    while remaining:
        best = max(index_spans, key=lambda sp: len(gold_in_span(sp, remaining)))
        got = gold_in_span(best, remaining)
        if not got:
            break  # the rest of the gold is in no chunk at all (e.g. dropped as boilerplate)
        gains.append(len(got))
        remaining -= got
    return gains


def dcg(gains: Sequence[float]) -> float:
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))


def ndcg_at(spans: Sequence[Span], gold: Iterable[Line], k: int = RANK_DEPTH,
            index_spans: Sequence[Span] | None = None) -> float:
    gold = set(gold)
    ideal = dcg(ideal_gains(gold, index_spans)[:k])
    return dcg(novel_gains(spans[:k], gold)) / ideal if ideal else 0.0


def retrieval_scores(spans: Sequence[Span], gold: Iterable[Line], k: int,
                     index_spans: Sequence[Span] | None = None) -> dict[str, float]:
    """All per-question retrieval figures for one ranked list."""
    gold = set(gold)
    return {
        "hit@1": hit_at(spans, gold, 1),
        "hit@3": hit_at(spans, gold, 3),
        "hit@5": hit_at(spans, gold, 5),
        "mrr@10": reciprocal_rank(spans, gold, RANK_DEPTH),
        "ndcg@10": ndcg_at(spans, gold, RANK_DEPTH, index_spans),
        f"recall@{k}": recall_at(spans, gold, k),
    }


# ---------------------------------------------------------------------------------------------
# Answer metrics
# ---------------------------------------------------------------------------------------------


def cited_lines(citations: Iterable[Span]) -> set[Line]:
    """Every line a citation range touches (line-level scoring of ranges)."""
    out: set[Line] = set()
    for span in citations:
        out |= span_lines(span)
    return out


def citation_precision(citations: Sequence[Span], gold: Iterable[Line]) -> float | None:
    """Share of cited lines that are gold; None when nothing was cited."""
    lines = cited_lines(citations)
    return len(lines & set(gold)) / len(lines) if lines else None


def citation_recall(citations: Sequence[Span], gold: Iterable[Line]) -> float | None:
    """Share of gold lines that were cited; None when there is no gold."""
    gold = set(gold)
    return len(cited_lines(citations) & gold) / len(gold) if gold else None


def span_within(inner: Span, outer: Span) -> bool:
    return inner[0] == outer[0] and outer[1] <= inner[1] and inner[2] <= outer[2]


def unretrieved_citations(citations: Sequence[Span], passages: Sequence[Span]) -> int:
    """Citations lying inside no retrieved passage: the model quoting something it was not shown."""
    return sum(not any(span_within(c, p) for p in passages) for c in citations)


def refusal_stats(answerable: Sequence[bool], refused: Sequence[bool]) -> dict[str, float | None]:
    """Refusal precision/recall (positives = unanswerable questions) and the false-refusal rate."""
    pairs = list(zip(answerable, refused))
    true_refusals = sum(1 for a, r in pairs if r and not a)
    n_refused = sum(1 for _, r in pairs if r)
    n_unanswerable = sum(1 for a, _ in pairs if not a)
    n_answerable = len(pairs) - n_unanswerable
    return {
        "refusal_precision": true_refusals / n_refused if n_refused else None,
        "refusal_recall": true_refusals / n_unanswerable if n_unanswerable else None,
        "false_refusal_rate": sum(1 for a, r in pairs if r and a) / n_answerable if n_answerable else None,
    }


def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear-interpolation percentile (numpy's default), None for no values."""
    data = sorted(values)
    if not data:
        return None
    pos = (len(data) - 1) * p / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return data[low] + (data[high] - data[low]) * (pos - low)


def mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


# ---------------------------------------------------------------------------------------------
# Adapters: tolerate dataclasses or dicts for passages and citations
# ---------------------------------------------------------------------------------------------


def _get(obj: Any, name: str, default: Any = None) -> Any:
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def as_span(obj: Any) -> Span:
    return (str(_get(obj, "source")), int(_get(obj, "start_line")), int(_get(obj, "end_line")))


def span_id(span: Span) -> str:
    return f"{span[0]}:{span[1]}-{span[2]}"


# ---------------------------------------------------------------------------------------------
# Evaluating one configuration
# ---------------------------------------------------------------------------------------------


def _by_lang(records: list[dict[str, Any]], summarise: Callable[[list[dict[str, Any]]], dict[str, Any]]
             ) -> dict[str, Any]:
    langs = sorted({r["lang"] for r in records}, key=lambda x: (LANGS.index(x) if x in LANGS else 99, x))
    splits = sorted({r["split"] for r in records})
    by_split = {f"split:{s}": summarise([r for r in records if r["split"] == s]) for s in splits} if len(splits) > 1 else {}
    return {"all": summarise(records), **by_split,
            **{lang: summarise([r for r in records if r["lang"] == lang]) for lang in langs}}


def evaluate_retrieval(retriever: Any, items: Sequence[QAItem], mode: str, k: int,
                       progress: bool = True) -> dict[str, Any]:
    """Search every answerable question with one retriever mode and score the ranked spans."""
    index_spans = [as_span(c) for c in getattr(retriever, "chunks", None) or []]
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

    def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"n": len(rows)}
        out.update({m: mean(r[m] for r in rows) for m in metric_names})
        out["search_p50_s"] = percentile([r["search_s"] for r in rows], 50)
        return out

    unindexed = sorted({f"{s}:{n}" for it in items for s, n in it.gold
                        if index_spans and not any(gold_in_span(sp, [(s, n)]) for sp in index_spans)})
    return {"kind": "retrieval", "mode": mode, "k": k, "summary": _by_lang(records, summarise),
            "unindexed_gold": unindexed, "questions": records}


def score_answer(item: QAItem, answer: Any, detect: Callable[[str], str]) -> dict[str, Any]:
    """Per-question answer figures; answerable-only figures are None on unanswerable questions."""
    text = str(_get(answer, "answer", "") or "")
    refused = bool(_get(answer, "refused", False))
    citations = [as_span(c) for c in (_get(answer, "citations") or [])]
    passages = [as_span(p) for p in (_get(answer, "passages") or [])]
    timings = _get(answer, "timings") or {}
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


def summarise_answers(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Aggregate per-question answer figures (means over the questions where each applies)."""
    ok = [r for r in rows if not r.get("error")]
    n_cit = sum(r["n_citations"] for r in ok)
    out: dict[str, Any] = {
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


def evaluate_answers(answerer: Any, items: Sequence[QAItem], mode: str, k: int, retrieval_mode: str,
                     detect: Callable[[str], str], progress: bool = True) -> dict[str, Any]:
    """Ask every question (answerable or not) in one answer mode and score the answers."""
    records = []
    for item in _progress(items, f"answer:{mode}", progress):
        try:
            answer = answerer.ask(item.question, mode=mode, k=k, retrieval_mode=retrieval_mode)
            records.append(score_answer(item, answer, detect))
        except Exception as exc:  # one bad question must not sink a long run; it is reported
            record = score_answer(item, {"answer": "", "refused": False}, detect)
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
    unknown = [n for n in names if n not in retrieval_modes and n not in ANSWER_MODES]
    if unknown:
        raise ValueError(f"unknown config(s) {', '.join(unknown)}; "
                         f"choose from {', '.join([*retrieval_modes, *ANSWER_MODES])}")
    plan = RunPlan([n for n in names if n in retrieval_modes], [n for n in names if n in ANSWER_MODES])
    if retrieval_only:
        plan.skipped.update({m: "--retrieval-only" for m in plan.answer_modes})
        plan.answer_modes = []
    return plan


def run_evaluation(items: Sequence[QAItem], retriever: Any, plan: RunPlan, k: int,
                   answerer_factory: Callable[[str], Any] | None = None,
                   detect: Callable[[str], str] | None = None, answer_retrieval_mode: str = "hybrid",
                   progress: bool = True, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate every planned configuration and return the results document (nothing written).

    `answerer_factory(mode)` returns an object with `.ask(...)`; if it raises (e.g. the model
    cannot load) that configuration is skipped with the reason recorded, and the run goes on.
    """
    if detect is None:
        from rag.language import detect_language as detect
    started = time.perf_counter()
    results: dict[str, Any] = {"retrieval": {}, "answers": {}}
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


# ---------------------------------------------------------------------------------------------
# Report and chart
# ---------------------------------------------------------------------------------------------

RETRIEVAL_COLUMNS = ["hit@1", "hit@3", "hit@5", "mrr@10", "ndcg@10", "recall@{k}"]
ANSWER_COLUMNS = [
    ("key_facts", "key facts"), ("all_facts", "all facts"), ("f1", "F1"), ("lang_match", "lang ok"),
    ("citation_precision", "cite P"), ("citation_recall", "cite R"),
    ("unretrieved_citation_rate", "unretr. cites"), ("refusal_precision", "refusal P"),
    ("refusal_recall", "refusal R"), ("false_refusal_rate", "false refusals"),
    ("total_s_p50", "total p50 s"), ("total_s_p95", "total p95 s"),
    ("first_token_s_p50", "1st tok p50 s"), ("first_token_s_p95", "1st tok p95 s"),
]


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return lines


def render_report(results: dict[str, Any]) -> str:
    """Markdown: run facts, one summary table per kind, then a per-language table per config."""
    meta = results["meta"]
    k = meta["k"]
    rcols = [c.format(k=k) for c in RETRIEVAL_COLUMNS]
    out = [f"# Evaluation report — {meta['date']}", "",
           f"Run time {meta['duration_s']} s · {meta['n_questions']} questions "
           f"({meta['n_answerable']} answerable) · split `{meta.get('split', 'all')}` · k={k} · "
           f"languages {', '.join(f'{l}={n}' for l, n in meta['langs'].items())}"
           + (f" · model `{meta['model']}`" if meta.get("model") else ""), ""]
    for name, reason in meta.get("skipped", {}).items():
        out.append(f"- skipped `{name}`: {reason}")
    if results["retrieval"]:
        out += ["", "## Summary: retrieval (answerable questions)", ""]
        out += md_table(["config", "n", *rcols], [[m, r["summary"]["all"]["n"], *(r["summary"]["all"][c] for c in rcols)]
                                                   for m, r in results["retrieval"].items()])
    if results["answers"]:
        out += ["", "## Summary: answers (all questions)", ""]
        out += md_table(["config", "n", *(label for _, label in ANSWER_COLUMNS)],
                        [[m, r["summary"]["all"]["n"], *(r["summary"]["all"][key] for key, _ in ANSWER_COLUMNS)]
                         for m, r in results["answers"].items()])
    for mode, res in results["retrieval"].items():
        out += ["", f"## Retrieval `{mode}` by language", ""]
        out += md_table(["lang", "n", *rcols], [[lang, s["n"], *(s[c] for c in rcols)] for lang, s in res["summary"].items()])
        misses = [q["id"] for q in res["questions"] if not q["hit@5"]]
        out += ["", f"Missed at 5: {', '.join(misses) if misses else 'none'}"]
        if res.get("unindexed_gold"):
            out += ["", f"Gold lines in no indexed chunk: {', '.join(res['unindexed_gold'])}"]
    for mode, res in results["answers"].items():
        out += ["", f"## Answers `{mode}` by language", ""]
        out += md_table(["lang", "n", *(label for _, label in ANSWER_COLUMNS)],
                        [[lang, s["n"], *(s[key] for key, _ in ANSWER_COLUMNS)] for lang, s in res["summary"].items()])
        weak = [q["id"] for q in res["questions"] if q["answerable"] and not q["all_facts"]]
        wrong_refusal = [q["id"] for q in res["questions"] if q["refused"] == q["answerable"]]
        errors = [q["id"] for q in res["questions"] if q.get("error")]
        out += ["", f"Missing key facts: {', '.join(weak) or 'none'}",
                f"Refusal mistakes: {', '.join(wrong_refusal) or 'none'}"]
        if errors:
            out.append(f"Errors: {', '.join(errors)}")
    return "\n".join(out) + "\n"


def render_chart(results: dict[str, Any], path: Path) -> None:
    """Grouped bars: hit@5 and MRR per retrieval config per language; key answer rates per answer config."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [p for p in ("retrieval", "answers") if results[p]]
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(7 * max(len(panels), 1), 5.2), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        if panel == "retrieval":
            langs = list(next(iter(results["retrieval"].values()))["summary"])
            series = {f"{m} {metric}": [res["summary"][lang][metric] or 0 for lang in langs]
                      for m, res in results["retrieval"].items() for metric in ("hit@5", "mrr@10")}
            _grouped_bars(ax, langs, series, "Retrieval by language (answerable)")
        else:
            keys = [("key_facts", "key facts"), ("f1", "F1"), ("lang_match", "lang ok"),
                    ("citation_precision", "cite P"), ("citation_recall", "cite R"), ("refusal_recall", "refusal R")]
            series = {m: [res["summary"]["all"][key] or 0 for key, _ in keys] for m, res in results["answers"].items()}
            _grouped_bars(ax, [label for _, label in keys], series, "Answers (all languages)")
    if not panels:
        axes[0][0].text(0.5, 0.5, "nothing evaluated", ha="center")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _grouped_bars(ax: Any, groups: list[str], series: dict[str, list[float]], title: str) -> None:
    width = 0.8 / max(len(series), 1)
    for i, (name, values) in enumerate(series.items()):
        ax.bar([g + i * width - 0.4 + width / 2 for g in range(len(groups))], values, width, label=name)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    # Below the bars, not over them: the tallest bars reach the top of the panel.
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False)


def write_outputs(results: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "results.json", "report": out_dir / "report.md", "chart": out_dir / "chart.png"}
    paths["json"].write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    paths["report"].write_text(render_report(results), encoding="utf-8")
    render_chart(results, paths["chart"])
    return paths


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag eval",
        description="Score retrieval and answers on the hand-written question set (evals/qa.jsonl).\n"
                    "Retrieval configs are the retriever modes (keyword, dense, hybrid, ...);\n"
                    "answer configs are 'llm' and 'extractive'. Writes results.json, report.md\n"
                    "and chart.png; see evals/README.md for what each figure means.",
        epilog="examples:\n  rag eval --retrieval-only --split dev\n"
               "  rag eval --configs hybrid,extractive --limit 10\n  rag eval --model small --out /tmp/eval",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--retrieval-only", action="store_true", help="skip the answer configs (no LLM needed)")
    parser.add_argument("--configs", help="comma list of configs to run, e.g. 'keyword,hybrid,extractive' "
                                          "(default: every retriever mode plus llm and extractive)")
    parser.add_argument("--k", type=int, default=5, help="passages per question for recall@k and answering (default 5)")
    parser.add_argument("--limit", type=int, help="evaluate only the first N questions of the split")
    parser.add_argument("--split", choices=("dev", "test", "all"), default="dev",
                        help="which questions: calibrate on dev, report on test (default dev)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default evals/results/ in the project)")
    parser.add_argument("--model", default="default", help="LLM for the 'llm' config: small, default or a GGUF path")
    parser.add_argument("--qa", type=Path, default=QA_PATH, help="question set (default evals/qa.jsonl)")
    parser.add_argument("--store", type=Path, help="index folder (default: the seeds index, built if missing)")
    parser.add_argument("--corpus", type=Path, help="corpus folder the --qa set is about (default seeds/); "
                                                    "its index goes to vectorstore/eval-<folder> unless --store")
    parser.add_argument("--answer-retrieval", default="hybrid", help="retriever mode used by the answer configs")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return parser


def load_retriever(store: Path | None, corpus: Path | None = None) -> Any:
    from rag.retrieve import Retriever

    if corpus is not None and store is None:
        store = PROJECT_ROOT / "vectorstore" / f"eval-{corpus.resolve().parent.name}-{corpus.name}"
    return Retriever.load(store_dir=store, corpus_dir=corpus)


def make_answerer_factory(retriever: Any, model: str) -> Callable[[str], Any]:
    """Answerers built lazily per mode, sharing the already loaded retriever where the API allows."""
    cache: dict[str, Any] = {}

    def factory(mode: str) -> Any:
        from rag.answer import Answerer

        if mode == "extractive":
            return Answerer(retriever, llm=None)
        if mode == "naive":
            from evals.naive import NaiveAnswerer
            from rag.llm import load_chat_model

            return NaiveAnswerer(list(retriever.chunks), retriever.embedder, load_chat_model(model))
        if "llm" not in cache:
            load = getattr(Answerer, "load", None)
            if load is None:
                raise RuntimeError("rag.answer.Answerer has no load() to build an LLM answerer")
            params = inspect.signature(load).parameters
            kwargs: dict[str, Any] = {"model": model}
            if "retriever" in params:
                kwargs["retriever"] = retriever
            cache["llm"] = load(**kwargs)
        return cache["llm"]

    return factory


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.k < 1:
        print("rag eval: --k must be at least 1", file=sys.stderr)
        return 2
    items = load_qa(args.qa, args.split, args.limit)
    if not items:
        print(f"rag eval: no questions in {args.qa} for split '{args.split}'", file=sys.stderr)
        return 2
    retriever = load_retriever(args.store, args.corpus)
    modes = list(getattr(retriever, "MODES", DEFAULT_RETRIEVAL_MODES))
    requested = [c.strip() for c in args.configs.split(",") if c.strip()] if args.configs else None
    try:
        plan = plan_configs(requested, modes, args.retrieval_only)
    except ValueError as exc:
        print(f"rag eval: {exc}", file=sys.stderr)
        return 2
    results = run_evaluation(items, retriever, plan, args.k, make_answerer_factory(retriever, args.model),
                             answer_retrieval_mode=args.answer_retrieval, progress=not args.no_progress,
                             meta={"split": args.split, "model": args.model if plan.answer_modes else None,
                                   "qa": str(args.qa), "limit": args.limit,
                                   "corpus": str(args.corpus or "seeds")})
    paths = write_outputs(results, args.out)
    print(render_summary_line(results))
    print(f"rag eval: wrote {paths['json']}, {paths['report']}, {paths['chart']}")
    return 0


def render_summary_line(results: dict[str, Any]) -> str:
    """One line per config on stdout so a terminal run shows the headline figures."""
    lines = []
    for mode, res in results["retrieval"].items():
        s = res["summary"]["all"]
        lines.append(f"retrieval {mode:<10} hit@5={fmt(s['hit@5'])} mrr@10={fmt(s['mrr@10'])} ndcg@10={fmt(s['ndcg@10'])}")
    for mode, res in results["answers"].items():
        s = res["summary"]["all"]
        lines.append(f"answers   {mode:<10} key_facts={fmt(s['key_facts'])} lang_ok={fmt(s['lang_match'])} "
                     f"cite_P={fmt(s['citation_precision'])} refusal_R={fmt(s['refusal_recall'])}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
