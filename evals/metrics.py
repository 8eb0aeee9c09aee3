"""Retrieval and answer metrics, exact and judge-free: the questions carry line-level gold evidence
and key facts in three languages, so what matters (did we fetch the right lines, are citations on
them, did the answer state the facts, do we refuse what the corpus cannot answer) is computed here.

A retrieved chunk or a citation is a span (file, start line, end line); it is relevant if it
holds a gold line. Answers are free text in three languages, so they are compared folded.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from evals.dataset import Line
from rag.text import fold_spaced

RANK_DEPTH = 10  # MRR@10 and nDCG@10 need ten results whatever --k says

Span = tuple[str, int, int]  # (file name, start_line, end_line), inclusive


# ---------------------------------------------------------------------------------------------
# Text matching: answers and expected facts compare as phrases, dashes and spaces unified
# ---------------------------------------------------------------------------------------------

_CITATION_MARK = re.compile(r"\[\s*\d+(?:\s*[,;-]\s*\d+)*\s*\]")


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", fold_spaced(text))


def fact_present(alternatives: Iterable[str], text: str) -> bool:
    """True if any alternative occurs in `text` starting at a word boundary.

    Prefix-of-word matching lets one stem cover inflections ("Genew" matches "Genewie");
    an alternative ending in a digit must not run into more digits ("12" never matches "2012").
    """
    haystack = fold_spaced(text)
    for alt in alternatives:
        needle = fold_spaced(alt)
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
