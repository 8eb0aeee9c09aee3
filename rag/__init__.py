"""Offline multilingual question answering over a news corpus.

Data path, one module per step:
corpus -> chunks -> index (embeddings + keyword + store) -> retrieve -> generate -> ground -> present.
"""

__version__ = "0.1.0"
