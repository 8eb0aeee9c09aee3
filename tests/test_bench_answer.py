"""Pure helpers of benchmarks/bench_answer.py: percentiles, table rows, the report (no model is loaded)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_answer.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_answer", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


bench = _load()

META = {"split": "dev", "model_file": "m.gguf", "load_s": 1.0, "threads_mode": "fixed 2",
        "load_before": "0.10", "load_after": "0.20", "peak_rss_mb": 100.0, "wall_s": 5.0}


def test_percentile_interpolates_between_ranks():
    assert bench.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert bench.percentile([1.0, 2.0], 50) == 1.5
    assert bench.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert bench.percentile([7.0], 95) == 7.0
    assert math.isnan(bench.percentile([], 50))


def test_common_prefix_and_role_dicts():
    assert bench.common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2
    assert bench.common_prefix([], [1]) == 0

    class Msg:
        def __init__(self, type_: str, content: str):
            self.type, self.content = type_, content

    dicts = bench.as_role_dicts([Msg("system", "s"), Msg("human", "q"), Msg("ai", "a")])
    assert [d["role"] for d in dicts] == ["system", "user", "assistant"]


def test_latency_table_pairs_overhead_per_question():
    pipe = [bench.Run(2.0, 6.0, first_line_s=0.2), bench.Run(3.0, 9.0, first_line_s=0.4)]
    raw = [bench.Run(1.5, 5.0), bench.Run(2.0, 8.5)]
    rows = bench.latency_table(pipe, raw)
    assert rows[2].startswith("| pipeline | 2 | 0.30 | 0.39 | 2.50 |")  # first verified line, then first token
    assert rows[3].startswith("| raw llama.cpp | 2 | - | - | 1.75 |")
    assert rows[4] == "| overhead (pipeline - raw) | 2 | - | - | +0.75 | +0.97 | +0.75 | +0.97 |"


def test_targets_and_empty_values():
    met, missed = bench.target_lines([1.0, 2.0], [7.0, 9.0])
    assert "**met**" in met and "**met**" in missed  # total p50 = 8.0 <= 8.0
    assert "NOT met" in bench.target_lines([3.0], [8.5])[1]
    assert bench.fmt_s(math.nan) == "-" and bench.verdict(math.nan, 1.0) == "n/a"


def test_report_counts_gate_answers_outside_the_table():
    answered = bench.Result("en-1", "en", "answered", bench.Run(2.0, 6.0, 500, 5.0, 20, 1.0, 2, "x [1]."),
                            raw=bench.Run(1.8, 5.7, 500, 4.9, 20, 1.0, 2, "x [1]."), prompt_tokens=1100,
                            cached_tokens=600, extras={"sampling": {"max_tokens": 320, "top_k": 1}})
    gate = bench.Result("en-2", "en", "gate", bench.Run(0.3, 0.3))
    text = bench.report([answered, gate], META)
    assert "| pipeline | 1 | - | - | 2.00 | 2.00 | 6.00 | 6.00 |" in text
    assert "answered without the model (evidence gate): 1, total p50 0.30 s" in text
    assert "same draft text in both runs: 1/1" in text
    assert "max_tokens=320" in text and "threads: pipeline 2, raw 2" in text


def test_json_safe_drops_nan():
    assert bench.json_safe({"a": [math.nan, 1.0], "b": (2, math.nan)}) == {"a": [None, 1.0], "b": [2, None]}
