"""The Markdown report of benchmarks/bench_answer.py: latency table with the per-question overhead,
the issue's targets, outcomes, token throughput and the run's setup; and the JSON's NaN handling.

Percentiles are evals.stats' (linear interpolation), the same as `rag eval`'s latency figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from bench_answer_measure import Result, Run

from evals.stats import mean_or_nan, percentile_or_nan

FIRST_TOKEN_TARGET_S = 2.5
TOTAL_P50_TARGET_S = 8.0


# --------------------------------------------------------------------------- cells and rows


def fmt_s(value: float, signed: bool = False) -> str:
    """Seconds with two decimals, '-' for NaN."""
    if math.isnan(value):
        return "-"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def fmt_n(value: float, decimals: int = 0) -> str:
    """A number with fixed decimals, '-' for NaN."""
    return "-" if math.isnan(value) else f"{value:.{decimals}f}"


def rate(tokens: float, seconds: float) -> float:
    """Tokens per second, NaN when nothing was timed."""
    return tokens / seconds if seconds > 0 else math.nan


def latency_row(label: str, first: Sequence[float], total: Sequence[float], signed: bool = False,
                line: Sequence[float] = ()) -> str:
    """One Markdown table row: label, n, first-line p50/p95, first-token p50/p95, total p50/p95."""
    lines = [v for v in line if not math.isnan(v)]
    cells = [percentile_or_nan(lines, 50), percentile_or_nan(lines, 95),
             percentile_or_nan(first, 50), percentile_or_nan(first, 95),
             percentile_or_nan(total, 50), percentile_or_nan(total, 95)]
    return f"| {label} | {len(total)} | " + " | ".join(fmt_s(c, signed) for c in cells) + " |"


def latency_table(pipeline: Sequence[Run], raw: Sequence[Run]) -> list[str]:
    """Markdown rows for pipeline, raw llama.cpp and the paired per-question overhead."""
    pairs = list(zip(pipeline, raw, strict=True))
    return [
        "| run | n | first verified line p50 | p95 | first token p50 | first token p95 | total p50 | total p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        latency_row("pipeline", [p.first_token_s for p in pipeline], [p.total_s for p in pipeline],
                    line=[p.first_line_s for p in pipeline]),
        latency_row("raw llama.cpp", [r.first_token_s for r in raw], [r.total_s for r in raw]),
        latency_row("overhead (pipeline - raw)", [p.first_token_s - r.first_token_s for p, r in pairs],
                    [p.total_s - r.total_s for p, r in pairs], signed=True),
    ]


def verdict(value: float, target: float) -> str:
    """'met' / 'NOT met' for value <= target; 'n/a' without data."""
    if math.isnan(value):
        return "n/a"
    return "met" if value <= target else "NOT met"


def target_lines(first: Sequence[float], total: Sequence[float]) -> list[str]:
    """The issue's targets against the pipeline figures (first token judged at p50, p95 shown too)."""
    f50, f95, t50 = percentile_or_nan(first, 50), percentile_or_nan(first, 95), percentile_or_nan(total, 50)
    return [
        f"- first token <= {FIRST_TOKEN_TARGET_S} s: p50 {fmt_s(f50)} s "
        f"**{verdict(f50, FIRST_TOKEN_TARGET_S)}**"
        f" (p95 {fmt_s(f95)} s {verdict(f95, FIRST_TOKEN_TARGET_S)})",
        f"- total p50 <= {TOTAL_P50_TARGET_S} s: {fmt_s(t50)} s **{verdict(t50, TOTAL_P50_TARGET_S)}**",
    ]


def threads_label(runs: Sequence[Run]) -> str:
    """'2' when every run used 2 threads, '1-2' when load made the adaptive count vary."""
    seen = sorted({r.threads for r in runs if r.threads})
    if not seen:
        return "-"
    return str(seen[0]) if len(seen) == 1 else f"{seen[0]}-{seen[-1]}"


# --------------------------------------------------------------------------- report


def p50(values: Sequence[float]) -> str:
    return fmt_s(percentile_or_nan(values, 50))


def outcome_lines(results: Sequence[Result]) -> list[str]:
    """How questions ended, the no-model answers' latency and where the pipeline's own time goes."""
    counts = {o: sum(r.outcome == o for r in results) for o in ("answered", "quoted", "refused", "gate")}
    gate = [r.pipeline.total_s for r in results if not r.used_model]
    model_runs = [r for r in results if r.used_model]
    return [
        "Outcomes: " + ", ".join(f"{k} {v}" for k, v in counts.items())
        + " (quoted: grounding rejected the draft and quoted the best lines; its model time is in the table)",
        f"- answered without the model (evidence gate): {len(gate)}, total p50 {p50(gate)} s, "
        f"max {fmt_s(max(gate, default=math.nan))} s",
        f"- pipeline steps, p50: retrieve {p50([r.retrieve_s for r in model_runs])} s, "
        f"question -> llama.cpp call {p50([r.before_model_s for r in model_runs])} s, "
        f"last token -> grounded answer {p50([r.after_model_s for r in model_runs])} s",
    ]


def token_lines(results: Sequence[Result], pipe: Sequence[Run], raw: Sequence[Run]) -> list[str]:
    """Prompt size, prompt-reading and generation speed from llama.cpp's counters, and a same-text check."""

    def speed(runs: Sequence[Run], kind: str) -> str:
        tokens = sum(getattr(r, f"{kind}_tokens") for r in runs)
        return fmt_n(rate(tokens, sum(getattr(r, f"{kind}_s") for r in runs)), 1)

    model_runs = [r for r in results if r.used_model]
    same = sum(p.text == r.text for p, r in zip(pipe, raw))
    return [
        f"- prompt tokens, mean: {fmt_n(mean_or_nan([r.prompt_tokens for r in model_runs]))} "
        f"(cached prefix {fmt_n(mean_or_nan([r.cached_tokens for r in model_runs]))}; read per question: "
        f"pipeline {fmt_n(mean_or_nan([p.prompt_eval_tokens for p in pipe]))}, "
        f"raw {fmt_n(mean_or_nan([r.prompt_eval_tokens for r in raw]))})",
        f"- prompt reading: pipeline {speed(pipe, 'prompt_eval')} tok/s, "
        f"raw {speed(raw, 'prompt_eval')} tok/s",
        f"- generation: pipeline {speed(pipe, 'gen')} tok/s, raw {speed(raw, 'gen')} tok/s; "
        f"mean {fmt_n(mean_or_nan([p.gen_tokens for p in pipe]))} tokens per answer; "
        f"same draft text in both runs: {same}/{len(raw)}",
    ]


def setup_lines(results: Sequence[Result], pipe: Sequence[Run], raw: Sequence[Run],
                meta: dict[str, Any]) -> list[str]:
    """Sampling, threads, machine load, model load time and memory."""
    sampling = next((r.extras["sampling"] for r in results if "sampling" in r.extras), {})
    return [
        f"- sampling: {', '.join(f'{k}={v}' for k, v in sampling.items()) or '-'}",
        f"- threads: pipeline {threads_label(pipe)}, raw {threads_label(raw)} ({meta['threads_mode']}); "
        f"load average {meta['load_before']} before, {meta['load_after']} after",
        f"- model load {meta['load_s']:.1f} s; peak RSS {meta['peak_rss_mb']:.0f} MB; "
        f"wall time {meta['wall_s']:.0f} s",
    ]


def report(results: list[Result], meta: dict[str, Any]) -> str:
    """The Markdown report: latency table, targets, questions without the model, throughput, resources."""
    model_runs = [r for r in results if r.used_model]
    pipe = [r.pipeline for r in model_runs]
    raw = [r.raw for r in model_runs if r.raw is not None]
    lines = [
        f"## Answer latency: {meta['split']} questions, model `{meta['model_file']}`",
        "",
        f"{len(results)} questions; {len(model_runs)} went to the model (table), "
        f"{len(results) - len(model_runs)} were refused by the evidence gate without it. Seconds; both runs "
        "start with only the prompt's fixed part cached; overhead is per-question pipeline minus raw, "
        "then p50/p95.",
        "",
        *latency_table(pipe, raw),
        "",
        "Targets (pipeline, questions that went to the model):",
        *target_lines([p.first_token_s for p in pipe], [p.total_s for p in pipe]),
        "",
        *outcome_lines(results),
        *token_lines(results, pipe, raw),
        *setup_lines(results, pipe, raw, meta),
    ]
    warnings = sorted({r.extras["warning"] for r in results if "warning" in r.extras})
    return "\n".join(lines + [f"- WARNING: {w}" for w in warnings])


def json_safe(value: Any) -> Any:
    """NaN -> None recursively, so the JSON file stays strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
