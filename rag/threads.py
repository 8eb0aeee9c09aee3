"""How many llama.cpp threads to use right now, given the cores other processes keep busy.

ggml's threads meet at a spinning barrier after every layer; when one of them is descheduled the
others spin. Measured on 2 cores: 2 threads generate ~1.6x faster than 1 when the machine is
otherwise idle, but 20-40x slower when one other process is busy. So the chat model asks before
each call, and again every few tokens while generating.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from rag import settings

DEFAULT_THREADS = 2  # the target machine has 2 cores


def max_threads() -> int:
    """Upper bound for llama.cpp threads: $RAG_LLM_THREADS, else 2 (the target machine's cores)."""
    own = settings.current().llm_threads
    if own is not None:
        return own
    return max(1, min(DEFAULT_THREADS, os.cpu_count() or 1))


def _own_running() -> int:
    """Runnable threads of this process (the caller included): ggml's workers may still be spinning."""
    count = 0
    for stat in Path("/proc/self/task").glob("*/stat"):
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        count += state == "R"
    return max(1, count)


def others_running(samples: int = 3, gap_s: float = 0.01) -> int:
    """Runnable tasks of other processes, from /proc/loadavg; the min over a few reads ignores blips."""
    counts = []
    for i in range(samples):
        try:
            with open("/proc/loadavg") as handle:
                running = int(handle.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return 0
        counts.append(running - _own_running())
        if i + 1 < samples:
            time.sleep(gap_s)
    return max(0, min(counts))


def pick_threads(limit: int, cores: int | None = None, samples: int = 3) -> int:
    """Threads for the next call: fewer when other processes hold the cores."""
    cores = cores or os.cpu_count() or 1
    free = cores - others_running(samples)
    return max(1, min(limit, free))
