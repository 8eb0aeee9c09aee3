"""Pure helpers of benchmarks/bench_answer_measure.py (no model is loaded)."""

from __future__ import annotations

from tests.bench_support import load_benchmark

measure = load_benchmark("bench_answer_measure")


def test_common_prefix_and_role_dicts():
    assert measure.common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2
    assert measure.common_prefix([], [1]) == 0

    class Msg:
        def __init__(self, type_: str, content: str):
            self.type, self.content = type_, content

    dicts = measure.as_role_dicts([Msg("system", "s"), Msg("human", "q"), Msg("ai", "a")])
    assert [d["role"] for d in dicts] == ["system", "user", "assistant"]


def test_a_result_used_the_model_only_with_a_raw_run():
    assert not measure.Result("en-1", "en", "gate", measure.Run(0.3, 0.3)).used_model
    assert measure.Result("en-1", "en", "answered", measure.Run(1.0, 2.0), raw=measure.Run(1.0, 2.0)).used_model
