"""The grounding's vector cache stays correct past its bound and under concurrent use."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rag import vector_cache
from rag.cache import BoundedCache
from tests.fakes import FakeEmbedder


@pytest.fixture
def small_cache(monkeypatch: pytest.MonkeyPatch) -> BoundedCache:
    cache: BoundedCache = BoundedCache(8)
    monkeypatch.setattr(vector_cache, "VECTORS", cache)
    return cache


def test_one_call_with_more_texts_than_the_bound(small_cache: BoundedCache) -> None:
    # The old cache evicted texts this same call had counted as cached, then raised KeyError.
    texts = [f"line number {i} of a long article" for i in range(20)]
    vector_cache.embed_documents_cached(FakeEmbedder(), texts[:5])
    vectors = vector_cache.embed_documents_cached(FakeEmbedder(), texts + texts[:3])
    assert vectors.shape == (23, FakeEmbedder.dim)
    assert np.allclose(vectors, FakeEmbedder().embed_documents(texts + texts[:3]))
    assert len(small_cache) == 8


def test_grounding_cache_filled_past_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vector_cache, "VECTORS", BoundedCache(vector_cache.MAX_VECTORS))
    texts = [f"t{i}" for i in range(vector_cache.MAX_VECTORS + 500)]
    vectors = vector_cache.embed_documents_cached(FakeEmbedder(), texts)
    assert len(vectors) == len(texts) and len(vector_cache.VECTORS) == vector_cache.MAX_VECTORS


def test_seeding_never_evicts_and_stops_at_the_bound(small_cache: BoundedCache) -> None:
    asked = ["a question's line"]
    vector_cache.embed_documents_cached(FakeEmbedder(), asked)
    seeds = [f"index paragraph {i}" for i in range(30)]
    added = vector_cache.remember_document_vectors(FakeEmbedder(), seeds, FakeEmbedder().embed_documents(seeds))
    assert added == 7 and len(small_cache) == 8
    assert ("fake-trigram-v1", asked[0]) in small_cache


def test_threads_sharing_the_cache_get_their_own_vectors(small_cache: BoundedCache) -> None:
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        texts = [f"thread text {(offset + i) % 40}" for i in range(25)]
        try:
            for _ in range(20):
                got = vector_cache.embed_documents_cached(FakeEmbedder(), texts)
                assert np.allclose(got, FakeEmbedder().embed_documents(texts))
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n * 7,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
