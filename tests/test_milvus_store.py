"""The Milvus backend against a real Milvus Lite (started in-process from a file by pymilvus; no mock)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.milvus_store import MilvusRetriever, filter_expression
from rag.retrieve import Retriever
from rag.retrievers import load_retriever
from tests.fakes import FakeEmbedder

QUESTIONS = ["What did Biden offer Putin on 30 December?", "Ce garanții de securitate a cerut Rusia?",
             "Ile trwała rozmowa Bidena z Putinem?", "sankcje NATO", "Stoltenberg dialog semnificativ"]


@pytest.fixture
def milvus_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    uri = tmp_path / "milvus.db"
    monkeypatch.setenv("RAG_VECTOR_BACKEND", "milvus")
    monkeypatch.setenv("RAG_MILVUS_URI", str(uri))
    return uri


def _open(store: Path, corpus: Path) -> MilvusRetriever:
    retriever = load_retriever(store, corpus_dir=corpus, embedder=FakeEmbedder(), progress=False)
    assert isinstance(retriever, MilvusRetriever)
    return retriever


def test_filter_expressions() -> None:
    assert filter_expression(None) == ""
    assert filter_expression({"lang": "ro", "source": ["a.txt", 'b "x".txt']}) == \
        'lang in ["ro"] and source in ["a.txt", "b \\"x\\".txt"]'
    assert filter_expression({"date_from": "2021-12", "date_to": "2022-01-15"}) == \
        "date > 0 and date >= 202112 and date <= 202201"


def test_index_search_filter_delete_reopen(milvus_env: Path, corpus_copy: Path, tmp_path: Path,
                                          fake_retriever: Retriever) -> None:
    store = tmp_path / "idx"
    milvus = _open(store, corpus_copy)
    assert milvus.milvus.count() == len(milvus.chunks) == len(fake_retriever.chunks)
    for question in QUESTIONS:  # same scoring as the FAISS backend; Milvus's BM25 differs from bm25s a little
        ours = [p.chunk.id for p in milvus.search(question, k=5)]
        theirs = [p.chunk.id for p in fake_retriever.search(question, k=5)]
        assert ours[0] == theirs[0] and len(set(ours) & set(theirs)) >= 4, (question, ours, theirs)
    ro = milvus.search("NATO", k=5, filters={"lang": "ro"})
    assert ro and {p.lang for p in ro} == {"ro"}
    dated = milvus.search("NATO", k=50, filters={"date_from": "2021-12", "date_to": "2021-12"})
    assert dated and {p.source for p in dated} == {"000_c38ec739ece7500b.txt", "002_4a5474f8e966f72b.txt"}
    assert milvus.search("NATO", k=5, mode="keyword", filters={"source": "003_889ea51d68b68c7c.txt"})

    removed = "003_889ea51d68b68c7c.txt"
    before = milvus.milvus.count()
    (corpus_copy / removed).unlink()
    reopened = _open(store, corpus_copy)  # rebuilds the local index, then deletes that file from Milvus
    assert reopened.milvus.count() == len(reopened.chunks) < before
    assert reopened.search("NATO", k=5, filters={"source": removed}) == []
    assert all(p.source != removed for p in reopened.search("Kreml Putin Biden II wojny światowej", k=10))
    assert reopened.milvus.synced_files().keys() == {p.name for p in corpus_copy.iterdir() if p.is_file()}

    again = _open(store, corpus_copy)  # re-open: nothing to synchronise, same answers
    assert again.milvus.sync(again.store) == (0, 0)
    assert [p.chunk.id for p in again.search(QUESTIONS[0], k=5)] == \
        [p.chunk.id for p in reopened.search(QUESTIONS[0], k=5)]


def test_changed_file_is_replaced_not_duplicated(milvus_env: Path, corpus_copy: Path, tmp_path: Path) -> None:
    store = tmp_path / "idx"
    first = _open(store, corpus_copy)
    n = first.milvus.count()
    target = corpus_copy / "004_a693e22d446df271.txt"
    target.write_text(target.read_text("utf-8") + "\nUn paragraf nou despre negocierile de la Geneva.\n", "utf-8")
    second = _open(store, corpus_copy)
    assert second.milvus.count() == n + 1 == len(second.chunks)
    assert second.search("paragraf nou negocierile Geneva", k=1, mode="keyword")[0].source == target.name


def test_default_uri_is_a_lite_file_beside_the_index(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from rag import settings

    monkeypatch.delenv("RAG_MILVUS_URI", raising=False)
    assert settings.milvus_uri(tmp_path / "default") == str(tmp_path / "default.milvus.db")


def test_unknown_backend_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from rag import settings

    monkeypatch.setenv("RAG_VECTOR_BACKEND", "milvs")
    with pytest.raises(ValueError, match="'faiss' or 'milvus'"):
        settings.vector_backend()


_CHILD = """
import json, sys
from pathlib import Path
from rag.retrieve import Retriever
from rag.retrievers import load_retriever
from tests.fakes import FakeEmbedder
r = load_retriever(Path(sys.argv[1]), corpus_dir=Path(sys.argv[2]), embedder=FakeEmbedder(), progress=False)
print(json.dumps({"kind": type(r).__name__, "synced": r.milvus.sync(r.store), "count": r.milvus.count(),
                  "hits": [p.chunk.id for p in r.search(sys.argv[3], k=5, filters={"lang": "pl"})]}))
"""


def test_reopen_in_another_process(milvus_env: Path, corpus_copy: Path, tmp_path: Path) -> None:
    # Collections made by an earlier process start "released" in Milvus: opening must load them.
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    run = [sys.executable, "-c", _CHILD, str(tmp_path / "idx"), str(corpus_copy), "sankcje NATO"]
    env = {**os.environ, "PYTHONPATH": str(root)}
    first, second = (json.loads(subprocess.run(run, check=True, capture_output=True, text=True, env=env,
                                               cwd=root).stdout.strip().splitlines()[-1]) for _ in range(2))
    assert first["kind"] == second["kind"] == "MilvusRetriever"
    assert second["synced"] == [0, 0] and second["count"] == first["count"] > 0
    assert first["hits"] and first["hits"][0] == second["hits"][0] and len(set(first["hits"]) & set(second["hits"])) >= 4


def test_a_lite_file_held_by_another_process_is_a_clear_error(milvus_env: Path, corpus_copy: Path,
                                                             tmp_path: Path) -> None:
    import subprocess
    import sys

    from rag.store import StoreError

    root = Path(__file__).resolve().parent.parent
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom pymilvus import MilvusClient\n"
                               "MilvusClient(sys.argv[1]); print('open', flush=True); time.sleep(60)", str(milvus_env)],
                              stdout=subprocess.PIPE, text=True, cwd=root)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreError, match="serves one process at a time"):
            load_retriever(tmp_path / "idx", corpus_dir=corpus_copy, embedder=FakeEmbedder(), progress=False)
    finally:
        holder.kill()
        holder.wait()
