"""The answer prompt's fixed prefix, read by llama.cpp once and kept on disk as a state file.

The fixed system message and worked examples are ~640 tokens: ~7 s of prompt reading on 2 cores.
The chat page pays that once per server process, but a one-shot `rag ask` would pay it on every
call. llama.cpp saves a context's KV cache together with the tokens it holds
(`llama_state_save_file`, its own binary format: no pickle) and loads it back in milliseconds;
llama-cpp-python then reuses the longest common token prefix with the next prompt, exactly as after
a live warm-up. A file that is missing, stale or corrupt is simply not used and is rewritten.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
from pathlib import Path
from typing import Any

from rag.files import publish_atomically

log = logging.getLogger(__name__)

SUFFIX = ".prefix.state"
_DIGEST_CHARS = 16


def state_path(directory: Path, model_path: Path, context: str, prompt_text: str) -> Path:
    """Where the prefix state for this model file, context settings, runtime and prompt lives.

    The name changes when any of them changes, so a state is never loaded into the wrong model
    (its keys and values would be garbage for other weights) or kept for an old prompt.
    """
    import llama_cpp

    stat = model_path.stat()
    key = "\n".join([str(model_path.resolve()), str(stat.st_size), str(stat.st_mtime_ns), context,
                     llama_cpp.__version__, prompt_text])
    digest = hashlib.sha256(key.encode()).hexdigest()[:_DIGEST_CHARS]
    return directory / f"{model_path.stem}.{digest}{SUFFIX}"


def load(client: Any, path: Path) -> int:
    """Load a saved prefix into the llama.cpp context; the number of tokens restored (0 if unusable)."""
    import llama_cpp

    if not path.is_file():
        return 0
    capacity = client.n_ctx()
    tokens = (llama_cpp.llama_token * capacity)()
    count = ctypes.c_size_t(0)
    ok = llama_cpp.llama_state_load_file(client._ctx.ctx, str(path).encode(), tokens, capacity, ctypes.byref(count))
    n = int(count.value)
    if not ok or not 0 < n <= capacity:
        log.warning("prompt prefix cache %s is unusable (corrupt or from another runtime); rebuilding it", path)
        client.reset()
        client._ctx.kv_cache_clear()
        return 0
    client.input_ids[:n] = tokens[:n]
    client.n_tokens = n
    client._requires_eval = True  # the logits belong to no live decode: always evaluate the next token
    return n


def save(client: Any, path: Path) -> bool:
    """Write the context's current tokens and KV cache to `path` atomically (rag.files)."""
    import llama_cpp

    n = int(client.n_tokens)
    if n <= 0:
        return False
    tokens = (llama_cpp.llama_token * n)(*client.input_ids[:n].tolist())
    try:
        with publish_atomically(path) as tmp:
            if not llama_cpp.llama_state_save_file(client._ctx.ctx, str(tmp).encode(), tokens, n):
                raise OSError("llama_state_save_file returned false")
    except OSError as exc:  # a read-only or full cache costs speed, never the answer
        log.warning("could not save the prompt prefix cache to %s: %s", path, exc)
        return False
    _drop_stale(path)
    return True


def _drop_stale(current: Path) -> None:
    """Remove earlier prefix states of the same model (older prompt or runtime): each is ~20 MB."""
    stem = current.name[: -len(SUFFIX) - _DIGEST_CHARS - 1]  # "<model stem>.<digest><SUFFIX>"
    for old in current.parent.glob(f"{stem}.{'?' * _DIGEST_CHARS}{SUFFIX}"):
        if old != current:
            old.unlink(missing_ok=True)
