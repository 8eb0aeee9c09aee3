"""benchmarks/bench_answer.py as a command: its options and labels (no model is loaded)."""

from __future__ import annotations

import pytest

from tests.bench_support import load_benchmark

bench = load_benchmark("bench_answer")


def test_options_and_defaults():
    args = bench.parse_args([])
    assert (args.model, args.split, args.limit, args.threads, args.out, args.json) == ("default", "dev", None,
                                                                                        None, None, None)
    with pytest.raises(SystemExit):
        bench.parse_args(["--split", "train"])


def test_threads_mode_label():
    assert bench.threads_mode(2, 2) == "fixed 2"
    assert bench.threads_mode(None, 2) == "adaptive, <= 2"
