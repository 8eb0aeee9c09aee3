"""benchmarks/bench_serve.py against the real server with fake models: counts, rejections, refusals."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from app.engine import Engine
from tests.serve_support import serving

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_serve.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_serve", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load()


def test_mix_rotation_interleaves_by_weight() -> None:
    assert bench.parse_mix("search=2,chat=1") == ["search", "chat", "search"]
    with pytest.raises(SystemExit):
        bench.parse_mix("upload=1")


def test_level_counts_every_request_and_429s_as_rejected(tmp_path: Path, corpus_copy: Path) -> None:
    engine = Engine.load(tmp_path / "store", corpus_copy, fake=True)
    with serving(engine, queue_size=1, delay=0.02) as (url, _):
        level = bench.run_level(url, clients=4, requests=3, duration=60,
                                rotation=bench.parse_mix("chat=1,search=1"))
    summary = bench.summarise(level)
    endpoints = summary["endpoints"]
    assert sum(k["requests"] for k in endpoints.values()) == 12
    assert endpoints["search"]["ok"] == endpoints["search"]["requests"] and summary["failed"] == 0
    assert endpoints["chat"]["rejected"] >= 1  # four clients, one place in the queue
    assert endpoints["chat"]["ok"] + endpoints["chat"]["rejected"] == endpoints["chat"]["requests"]
    assert "| 4 | chat |" in bench.markdown([summary])


def test_refuses_a_server_off_this_machine() -> None:
    with pytest.raises(SystemExit, match="only targets a server on this machine"):
        bench.main(["--url", "http://192.0.2.1:8000", "--clients", "1"])
