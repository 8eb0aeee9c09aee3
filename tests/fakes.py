"""Kept for test files that import from here; the fakes themselves ship in rag.testing."""

from rag.testing import FakeEmbedder, StaticRetriever

__all__ = ["FakeEmbedder", "StaticRetriever"]
