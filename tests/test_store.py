"""The persisted index: manifest checks, atomic rebuilds, incremental re-embedding, corruption."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from rag import store as store_mod
from rag.corpus import CorpusError
from rag.index_build import build_store
from rag.store import Store, StoreError, StoreMismatch
from rag.testing import FakeEmbedder


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]):
        self.embedded.extend(texts)
        return super().embed_documents(texts)


class OtherEmbedder(FakeEmbedder):
    model_id = "other"

    def fingerprint(self) -> str:
        return "other-v1"


def test_manifest_contents(corpus_copy: Path, tmp_path: Path) -> None:
    path = tmp_path / "idx"
    report = build_store(corpus_copy, path, FakeEmbedder(), progress=False)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format_version"] == store_mod.FORMAT_VERSION
    assert manifest["embedding"] == {"model_id": "fake-trigram", "fingerprint": "fake-trigram-v1", "dim": 64}
    assert manifest["chunking"]["max_chars"] > 0
    assert set(manifest["files"]) == {p.name for p in corpus_copy.iterdir() if p.is_file()}
    assert manifest["boilerplate"]["002_4a5474f8e966f72b.txt"]["7"] == "repeated line"
    assert manifest["chunks"] == report.chunks == len(Store.load(path).chunks)
    assert not list(path.rglob("*.pkl")) and not list(path.rglob("*.pickle"))


def test_incremental_rebuild_embeds_only_changes(corpus_copy: Path, tmp_path: Path) -> None:
    path = tmp_path / "idx"
    first = CountingEmbedder()
    build_store(corpus_copy, path, first, progress=False)
    assert len(first.embedded) > 40

    again = CountingEmbedder()
    report = build_store(corpus_copy, path, again, progress=False)
    assert again.embedded == [] and report.changed == []

    (corpus_copy / "003_889ea51d68b68c7c.txt").unlink()
    (corpus_copy / "new.md").write_text("Nowy artykuł\n\nBiden i Putin rozmawiali ponownie w styczniu.\n", "utf-8")
    third = CountingEmbedder()
    report = build_store(corpus_copy, path, third, progress=False)
    assert report.removed == ["003_889ea51d68b68c7c.txt"] and report.changed == ["new.md"]
    assert third.embedded == ["Nowy artykuł", "Biden i Putin rozmawiali ponownie w styczniu."]
    sources = {c.source for c in Store.load(path).chunks}
    assert "003_889ea51d68b68c7c.txt" not in sources and "new.md" in sources


def test_sentence_vectors_are_stored_and_reused(corpus_copy: Path, tmp_path: Path) -> None:
    path = tmp_path / "idx"
    first = CountingEmbedder()
    build_store(corpus_copy, path, first, progress=False)
    store = Store.load(path)
    assert len(first.embedded) == len(set(first.embedded))  # a one-sentence chunk is embedded once
    assert store.sentence_vectors.shape == (len(store.sentence_rows), 64)
    assert set(store.sentence_rows.tolist()) == set(range(len(store.chunks)))  # every chunk has a sentence
    long = next(i for i, c in enumerate(store.chunks) if c.id == "003_889ea51d68b68c7c.txt:31-31")
    assert (store.sentence_rows == long).sum() >= 2
    assert json.loads((path / "manifest.json").read_text())["dense"]["sentences"] == len(store.sentence_rows)
    # Chunk vectors are of the bare text; the heading goes to the keyword index only.
    headed = next(c for c in store.chunks if c.section)
    assert headed.text in first.embedded and headed.keyword_text() not in first.embedded

    first_sentence = "Nowe zdanie o rozmowach w Genewie w styczniu 2022 roku."
    second_sentence = "Drugie zdanie o NATO i Rosji, też dość długie."
    target = corpus_copy / "003_889ea51d68b68c7c.txt"
    target.write_text(target.read_text("utf-8") + f"\n\n{first_sentence} {second_sentence}\n", "utf-8")
    again = CountingEmbedder()
    build_store(corpus_copy, path, again, progress=False)
    assert again.embedded == [f"{first_sentence} {second_sentence}", first_sentence, second_sentence]


def test_inconsistent_sentence_rows_are_a_clear_error(corpus_copy: Path, tmp_path: Path) -> None:
    path = tmp_path / "idx"
    build_store(corpus_copy, path, FakeEmbedder(), progress=False)
    np.save(path / "sentence_rows.npy", np.array([999], dtype=np.int32), allow_pickle=False)
    with pytest.raises(StoreError, match="rag index"):
        Store.load(path)


def test_model_mismatch_is_reported_not_mixed(corpus_copy: Path, tmp_path: Path) -> None:
    path = tmp_path / "idx"
    build_store(corpus_copy, path, FakeEmbedder(), progress=False)
    with pytest.raises(StoreMismatch, match="rag index"):
        Store.load(path, OtherEmbedder().fingerprint())
    # Rebuilding with the other model re-embeds everything rather than reusing foreign vectors.
    other = CountingEmbedder()
    other.fingerprint = lambda: "other-v1"  # type: ignore[method-assign]
    report = build_store(corpus_copy, path, other, progress=False)
    assert report.reused == 0 and report.embedded >= report.chunks  # chunks and their sentences


def test_format_mismatch(corpus_copy: Path, tmp_path: Path) -> None:
    path = tmp_path / "idx"
    build_store(corpus_copy, path, FakeEmbedder(), progress=False)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format_version"] = 99
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreMismatch, match="format 99"):
        Store.load(path)


@pytest.mark.parametrize("damage", ["manifest", "faiss", "chunks", "missing"])
def test_corrupt_index_is_a_clear_error(corpus_copy: Path, tmp_path: Path, damage: str) -> None:
    path = tmp_path / "idx"
    build_store(corpus_copy, path, FakeEmbedder(), progress=False)
    if damage == "manifest":
        (path / "manifest.json").write_text("{not json")
    elif damage == "faiss":
        (path / "dense.faiss").write_bytes(b"garbage")
    elif damage == "chunks":
        with sqlite3.connect(path / "chunks.sqlite") as db:
            db.execute("DELETE FROM chunks WHERE row >= 3")
    else:
        shutil.rmtree(path)
    with pytest.raises(StoreError, match="rag index"):
        Store.load(path)


def test_interrupted_build_keeps_old_index(corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "idx"
    build_store(corpus_copy, path, FakeEmbedder(), progress=False)
    before = (path / "chunks.sqlite").read_bytes()
    n_before = len(Store.load(path).chunks)
    (corpus_copy / "extra.txt").write_text("Un articol nou despre NATO.\n", "utf-8")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(store_mod.KeywordIndex, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        build_store(corpus_copy, path, FakeEmbedder(), progress=False)
    assert (path / "chunks.sqlite").read_bytes() == before
    assert len(Store.load(path).chunks) == n_before
    assert not [p.name for p in tmp_path.iterdir() if ".building-" in p.name]  # no half-built folder left


def test_crash_between_renames_is_recovered(corpus_copy: Path, tmp_path: Path) -> None:
    path = tmp_path / "idx"
    build_store(corpus_copy, path, FakeEmbedder(), progress=False)
    path.rename(store_mod._backup_of(path))  # the state right after the first rename
    assert len(Store.load(path).chunks) > 0


def test_empty_corpus_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    with pytest.raises(CorpusError):
        build_store(tmp_path / "c", tmp_path / "idx", FakeEmbedder(), progress=False)
    assert not (tmp_path / "idx").exists()


def test_new_shipped_renderings_make_the_index_stale(corpus_copy: Path, tmp_path: Path) -> None:
    from rag.store import is_stale

    path = tmp_path / "idx"
    build_store(corpus_copy, path, FakeEmbedder(), progress=False)
    assert not is_stale(path, corpus_copy)
    shipped = corpus_copy / ".renderings" / "en.jsonl"
    shipped.parent.mkdir(exist_ok=True)
    shipped.write_text(shipped.read_text("utf-8") + "\n" if shipped.exists() else "{}\n", "utf-8")
    assert is_stale(path, corpus_copy)  # the keyword side joins renderings: they must reach the index
