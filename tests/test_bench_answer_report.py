"""benchmarks/bench_answer_report.py: table rows, targets, the report and strict JSON (no model loaded)."""

from __future__ import annotations

import math

from tests.bench_support import load_benchmark

measure = load_benchmark("bench_answer_measure")
report = load_benchmark("bench_answer_report")
Run, Result = measure.Run, measure.Result

META = {"split": "dev", "model_file": "m.gguf", "load_s": 1.0, "threads_mode": "fixed 2",
        "load_before": "0.10", "load_after": "0.20", "peak_rss_mb": 100.0, "wall_s": 5.0}


def test_latency_table_pairs_overhead_per_question():
    pipe = [Run(2.0, 6.0, first_line_s=0.2), Run(3.0, 9.0, first_line_s=0.4)]
    raw = [Run(1.5, 5.0), Run(2.0, 8.5)]
    rows = report.latency_table(pipe, raw)
    assert rows[2].startswith("| pipeline | 2 | 0.30 | 0.39 | 2.50 |")  # first verified line, then first token
    assert rows[3].startswith("| raw llama.cpp | 2 | - | - | 1.75 |")
    assert rows[4] == "| overhead (pipeline - raw) | 2 | - | - | +0.75 | +0.97 | +0.75 | +0.97 |"


def test_targets_and_empty_values():
    met, missed = report.target_lines([1.0, 2.0], [7.0, 9.0])
    assert "**met**" in met and "**met**" in missed  # total p50 = 8.0 <= 8.0
    assert "NOT met" in report.target_lines([3.0], [8.5])[1]
    assert report.fmt_s(math.nan) == "-" and report.verdict(math.nan, 1.0) == "n/a"


def test_report_counts_gate_answers_outside_the_table():
    answered = Result("en-1", "en", "answered", Run(2.0, 6.0, 500, 5.0, 20, 1.0, 2, "x [1]."),
                      raw=Run(1.8, 5.7, 500, 4.9, 20, 1.0, 2, "x [1]."), prompt_tokens=1100,
                      cached_tokens=600, extras={"sampling": {"max_tokens": 320, "top_k": 1}})
    gate = Result("en-2", "en", "gate", Run(0.3, 0.3))
    text = report.report([answered, gate], META)
    assert "| pipeline | 1 | - | - | 2.00 | 2.00 | 6.00 | 6.00 |" in text
    assert "answered without the model (evidence gate): 1, total p50 0.30 s" in text
    assert "same draft text in both runs: 1/1" in text
    assert "max_tokens=320" in text and "threads: pipeline 2, raw 2" in text


def test_json_safe_drops_nan():
    assert report.json_safe({"a": [math.nan, 1.0], "b": (2, math.nan)}) == {"a": [None, 1.0], "b": [2, None]}
