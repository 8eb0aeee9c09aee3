"""Shared fixtures: the real seed files, a fake embedder, and an index built from them in a temp dir."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rag.testing import FakeEmbedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# `rag index` renders new lines with the real LLM; tests use the shipped renderings only.
os.environ.setdefault("RAG_RENDER", "0")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the seeds, for tests that add, change or delete files."""
    target = tmp_path / "corpus"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture(scope="session")
def fake_retriever(tmp_path_factory: pytest.TempPathFactory):
    """A Retriever over the real seeds with the fake embedder (fast, deterministic)."""
    from rag.retrieve import Retriever

    store = tmp_path_factory.mktemp("store") / "seeds"
    return Retriever.load(store, corpus_dir=SEEDS, embedder=FakeEmbedder(), progress=False)


@pytest.fixture(scope="session")
def real_retriever(tmp_path_factory: pytest.TempPathFactory):
    """A Retriever over the seeds with the real E5 model (slow tests only)."""
    from rag.embeddings import load_embedder
    from rag.retrieve import Retriever

    store = tmp_path_factory.mktemp("real-store") / "seeds"
    return Retriever.load(store, corpus_dir=SEEDS, embedder=load_embedder(), progress=False)
