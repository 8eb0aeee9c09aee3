"""Embedding a whole corpus: reuse known vectors, embed the rest in checkpointed parts, show progress.

Each part of freshly embedded texts is written to `.<index>.embedding/<model>/` beside the index
as soon as it is done (vectors, then the keys that make it count), so an interrupted build loses
at most one part: the next build finds the finished parts by text hash and embeds only the rest.
The folder is removed once an index built from it has been swapped in. Vectors are assembled
into a memory-mapped file, so a million paragraphs never sit in RAM as Python objects.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.types import Embedder

KEY_DTYPE = np.dtype("S16")
PART_TEXTS = 2048  # texts per checkpointed part (and per embedder call)


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def text_keys(texts: Iterable[str]) -> np.ndarray:
    return np.fromiter((text_key(t) for t in texts), dtype=KEY_DTYPE)


@dataclass
class KnownVectors:
    """Vectors found elsewhere (a previous index, checkpoint parts): sorted keys -> rows of `vectors`."""

    keys: np.ndarray
    vectors: np.ndarray

    def lookup(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found mask over `wanted`, row in `vectors` of each found key)."""
        if not len(self.keys):
            return np.zeros(len(wanted), dtype=bool), np.zeros(0, dtype=np.int64)
        order = np.argsort(self.keys, kind="stable")
        sorted_keys = self.keys[order]
        pos = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
        found = sorted_keys[pos] == wanted
        return found, order[pos[found]]


def checkpoint_dir(index_path: Path, fingerprint: str) -> Path:
    model = hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()[:16]
    return index_path.with_name(f".{index_path.name}.embedding") / model


def discard_checkpoints(index_path: Path) -> None:
    """Called after a successful swap: the finished index now holds every vector."""
    shutil.rmtree(index_path.with_name(f".{index_path.name}.embedding"), ignore_errors=True)


def _save(file: Path, array: np.ndarray) -> None:
    tmp = file.with_name(file.name + ".tmp.npy")
    np.save(tmp, array, allow_pickle=False)
    os.replace(tmp, file)


class _Stacked:
    """Rows of several part arrays addressed as one array (fancy indexing only)."""

    def __init__(self, parts: list[np.ndarray]) -> None:
        self.parts = parts
        self.starts = np.cumsum([0] + [len(p) for p in parts])

    def __len__(self) -> int:
        return int(self.starts[-1])

    @property
    def shape(self) -> tuple[int, int]:
        return len(self), int(self.parts[0].shape[1])

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        dim = self.parts[0].shape[1] if self.parts else 0
        out = np.empty((len(rows), dim), dtype=np.float32)
        owner = np.searchsorted(self.starts, rows, side="right") - 1
        for part in np.unique(owner):
            at = owner == part
            out[at] = self.parts[part][rows[at] - self.starts[part]]
        return out


def checkpointed(folder: Path) -> KnownVectors | None:
    """The finished parts of earlier, interrupted builds (a part counts once its keys file exists)."""
    keys, vecs = [], []
    for keys_file in sorted(folder.glob("part-*.keys.npy")) if folder.is_dir() else []:
        vecs_file = keys_file.with_name(keys_file.name.replace(".keys.npy", ".vecs.npy"))
        try:
            part_keys = np.load(keys_file, allow_pickle=False)
            part_vecs = np.load(vecs_file, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            continue  # a torn part: its texts are embedded again
        if part_keys.dtype == KEY_DTYPE and len(part_keys) == len(part_vecs) and part_vecs.ndim == 2:
            keys.append(part_keys)
            vecs.append(part_vecs)
    if not keys:
        return None
    return KnownVectors(np.concatenate(keys), _Stacked(vecs))  # type: ignore[arg-type]


def _progress_bar(total: int, enabled: bool) -> Callable[[int], None]:
    if not enabled or not total:
        return lambda n: None
    from tqdm import tqdm

    bar = tqdm(total=total, desc="Embedding", unit="text", dynamic_ncols=True, file=sys.stderr, smoothing=0.1)
    return lambda n: (bar.update(n), bar.close() if bar.n >= total else None)


def _locate(unique: np.ndarray, known: list[KnownVectors]) -> tuple[np.ndarray, np.ndarray]:
    """For each unique key, the index in `known` holding it (-1: nowhere) and its row there."""
    source = np.full(len(unique), -1, dtype=np.int64)
    row = np.zeros(len(unique), dtype=np.int64)
    for i, kv in enumerate(known):
        todo = np.flatnonzero(source < 0)
        found, rows = kv.lookup(unique[todo])
        source[todo[found]], row[todo[found]] = i, rows
    return source, row


def embed_all(texts: Sequence[str], keys: np.ndarray, known: list[KnownVectors], embedder: Embedder,
              folder: Path, out_file: Path, progress: bool) -> tuple[np.ndarray, int, int]:
    """One vector per text, in order, in a memory-mapped array at `out_file`.

    Returns (vectors, distinct texts embedded now, distinct texts reused from `known` or checkpoints).
    """
    folder.mkdir(parents=True, exist_ok=True)
    unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    earlier = checkpointed(folder)
    source, _ = _locate(unique, known + ([earlier] if earlier else []))
    missing = np.flatnonzero(source < 0)
    missing = missing[np.argsort(first[missing], kind="stable")]  # corpus order: each text where it first occurs
    part_size = max(PART_TEXTS, -(-len(missing) // 256))  # at most ~256 parts per run
    advance = _progress_bar(len(missing), progress)
    run = f"{time.time_ns():x}-{os.getpid()}"  # parts of earlier runs keep their own names
    for n, start in enumerate(range(0, len(missing), part_size)):
        batch = missing[start:start + part_size]
        vecs = np.asarray(embedder.embed_documents([texts[first[u]] for u in batch]), dtype=np.float32)
        name = f"part-{run}-{n:06d}"
        _save(folder / f"{name}.vecs.npy", vecs)
        _save(folder / f"{name}.keys.npy", unique[batch])  # written last: marks the part finished
        advance(len(batch))
    everything = known + ([stack] if (stack := checkpointed(folder)) else [])
    source, row = _locate(unique, everything)
    if (source < 0).any():
        raise RuntimeError("embedding checkpoint lost vectors while building; run the build again")
    dim = everything[0].vectors.shape[1]
    out = np.lib.format.open_memmap(out_file, mode="w+", dtype=np.float32, shape=(len(texts), dim))
    text_source, text_row = source[inverse], row[inverse]
    for i, kv in enumerate(everything):
        at = np.flatnonzero(text_source == i)
        for s in range(0, len(at), 65_536):
            out[at[s:s + 65_536]] = kv.vectors[text_row[at[s:s + 65_536]]]
    out.flush()
    return out, len(missing), len(unique) - len(missing)
