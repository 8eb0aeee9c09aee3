"""The scale benchmark's generated corpus and derived vectors; a 10k-paragraph run as a slow test."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.corpus import load_corpus
from rag.index_build import build_store
from rag.store import Store

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _module(name: str):
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_generated_corpus_is_indexed_whole(tmp_path: Path, seeds_dir: Path) -> None:
    corpus = _module("scale_corpus")
    files = corpus.write_corpus(tmp_path / "c", 300, seeds_dir)
    docs = load_corpus(tmp_path / "c")
    assert files == len(docs) == 30 and {d.lang for d in docs} == {"en", "pl", "ro"}
    assert all(d.date for d in docs)
    bench = _module("bench_scale")
    sample = np.linalg.qr(np.random.default_rng(0).standard_normal((64, 16)))[0].T.astype(np.float32)
    report = build_store(tmp_path / "c", tmp_path / "idx", bench.SampledEmbedder(sample, "derived"), progress=False)
    assert report.chunks == 300 and not report.boilerplate  # every generated line is distinct
    vectors = Store.load(tmp_path / "idx").vectors()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    corpus.write_corpus(tmp_path / "d", 300, seeds_dir)  # seeded: the same corpus again
    assert [p.read_text() for p in sorted((tmp_path / "c").iterdir())] == \
        [p.read_text() for p in sorted((tmp_path / "d").iterdir())]


@pytest.mark.slow
def test_ten_thousand_paragraphs(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _module("bench_scale")
    assert bench.main(["--paragraphs", "10000", "--json", "--sample", "64", "--queries", "200"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    figures = json.loads(line)
    assert list(figures) == ["paragraphs", "build_s", "embed_per_s", "index_bytes", "rss_bytes", "query_p50_ms",
                             "query_p95_ms", "recall_at_10"]
    assert 9_900 <= figures["paragraphs"] <= 10_000 and figures["recall_at_10"] == 1.0  # exact index at 10k
    assert figures["rss_bytes"] < 2 * 1024**3 and figures["embed_per_s"] > 0 and figures["index_bytes"] > 0
