"""Cached artefacts built from installed wheels (the converted embedding model, the assembled GGUF).

Each artefact has a manifest beside it: what it was built from, and the size, SHA-256 and mtime of
every file in it. Loading checks sizes and mtimes (a stat per file); a file whose mtime moved is
re-hashed, and one whose size or hash is off is damaged: the artefact is rebuilt from the wheels,
with a warning that says what was wrong. A truncated `model.safetensors` therefore costs one
rebuild, not a traceback on every start.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from filelock import FileLock

from rag.files import publish_atomically, sha256_of, write_text_atomically
from rag.locks import lock_path

log = logging.getLogger(__name__)

MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_FORMAT = 1
BUILD_TIMEOUT_S = 1800.0  # another process assembling 1 GB on a busy machine

Builder = Callable[[Path], "dict[str, str] | None"]
"""Writes the artefact at the given (temporary) path; may return the SHA-256 it already computed per
file name, so a 1 GB file is not read twice."""


@dataclass(frozen=True)
class Artifact:
    """A file or folder in the cache that can always be rebuilt from installed packages."""

    path: Path
    identity: dict[str, Any]  # what it is built from: a different identity means a different artefact
    build: Builder
    label: str  # for messages, e.g. "embedding model"
    folder: bool = False
    expected_sha256: str | None = None  # a single file whose hash is published in advance (the GGUF)


class State(Enum):
    OK = "ok"
    ABSENT = "absent"  # never built here (or built by a version without manifests)
    DAMAGED = "damaged"


@dataclass
class Verdict:
    state: State
    reason: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + MANIFEST_SUFFIX)


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the artefact at `path` ({} when absent or unreadable)."""
    try:
        data = json.loads(manifest_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def ensure(artifact: Artifact) -> Path:
    """The artefact's path, verified; built (or rebuilt, with a warning) when absent or damaged."""
    if verify(artifact).state is State.OK:
        return artifact.path
    with FileLock(str(lock_path(artifact.path)), timeout=BUILD_TIMEOUT_S):
        verdict = verify(artifact)  # another process may have built it while we waited
        if verdict.state is State.OK:
            return artifact.path
        if verdict.state is State.DAMAGED:
            log.warning("the cached %s at %s is damaged (%s); rebuilding it from the installed packages",
                        artifact.label, artifact.path, verdict.reason)
        rebuild(artifact)
    return artifact.path


class _AlreadyThere(Exception):
    """The fresh build equals what is in place: keep the old files (readers may have them open)."""


def rebuild(artifact: Artifact) -> None:
    """Build into a temporary path beside the artefact, publish it in one rename, write its manifest.

    An identical artefact already in place (a cache from before manifests) is kept as it is.
    """
    manifest_path(artifact.path).unlink(missing_ok=True)  # no manifest vouches for a half-replaced artefact
    try:
        with publish_atomically(artifact.path, folder=artifact.folder) as tmp:
            known = artifact.build(tmp) or {}
            hashes = {name: known.get(name) or sha256_of(file) for name, file in _files(tmp, artifact).items()}
            if _holds(artifact, hashes):
                raise _AlreadyThere
    except _AlreadyThere:
        log.info("the cached %s at %s matches a fresh build; kept", artifact.label, artifact.path)
    _write_manifest(artifact, hashes)


def _holds(artifact: Artifact, hashes: dict[str, str]) -> bool:
    """Whether the artefact in place has exactly these files with these hashes."""
    files = _files(artifact.path, artifact)
    if set(files) != set(hashes):
        return False
    return all(sha256_of(path) == hashes[name] for name, path in files.items())


def verify(artifact: Artifact) -> Verdict:
    """Trust the artefact after a stat per file; re-hash only files whose mtime changed."""
    manifest = read_manifest(artifact.path)
    if manifest.get("format") != MANIFEST_FORMAT or manifest.get("identity") != artifact.identity:
        return _adopt(artifact)
    recorded: dict[str, dict[str, Any]] = manifest.get("files") or {}
    actual = _files(artifact.path, artifact)
    if not recorded:
        return Verdict(State.DAMAGED, "its manifest lists no files")
    touched = False
    for name, entry in recorded.items():
        problem = _file_problem(name, actual.get(name), entry)
        if problem == "touched":
            touched = True
        elif problem:
            return Verdict(State.DAMAGED, problem)
    if touched:
        _refresh_mtimes(artifact, recorded)
    return Verdict(State.OK, manifest=manifest)


def _file_problem(name: str, path: Path | None, entry: dict[str, Any]) -> str | None:
    """None when the file is as recorded, "touched" when only its mtime moved, else what is wrong."""
    if path is None or not path.is_file():
        return f"{name} is missing"
    st = path.stat()
    if st.st_size != entry.get("size"):
        return f"{name} has {st.st_size:,} bytes, expected {entry.get('size', 0):,}"
    if st.st_mtime_ns == entry.get("mtime_ns"):
        return None
    if sha256_of(path) != entry.get("sha256"):
        return f"{name} does not match its recorded SHA-256"
    return "touched"


def _adopt(artifact: Artifact) -> Verdict:
    """No manifest for this identity: a single file with a published hash can still be vouched for."""
    path = artifact.path
    if artifact.expected_sha256 and not artifact.folder and path.is_file():
        if sha256_of(path) == artifact.expected_sha256:
            _write_manifest(artifact, {path.name: artifact.expected_sha256})
            return Verdict(State.OK)
        return Verdict(State.DAMAGED, f"{path.name} does not match its published SHA-256")
    return Verdict(State.ABSENT)


def _files(path: Path, artifact: Artifact) -> dict[str, Path]:
    """Manifest name -> file: relative paths inside a folder, the artefact's own name for a file."""
    if not artifact.folder:
        return {artifact.path.name: path} if path.exists() else {}
    if not path.is_dir():
        return {}
    return {p.relative_to(path).as_posix(): p for p in sorted(path.rglob("*")) if p.is_file()}


def _write_manifest(artifact: Artifact, hashes: dict[str, str]) -> None:
    files = _files(artifact.path, artifact)
    entries = {}
    for name, sha in sorted(hashes.items()):
        st = files[name].stat()
        entries[name] = {"size": st.st_size, "sha256": sha, "mtime_ns": st.st_mtime_ns}
    manifest = {"format": MANIFEST_FORMAT, "identity": artifact.identity, "files": entries}
    write_text_atomically(manifest_path(artifact.path), json.dumps(manifest, indent=1) + "\n")


def _refresh_mtimes(artifact: Artifact, recorded: dict[str, dict[str, Any]]) -> None:
    """Re-hashed and intact: remember the new mtimes so the next start is a stat again."""
    try:
        _write_manifest(artifact, {name: entry["sha256"] for name, entry in recorded.items()})
    except OSError as exc:  # a read-only cache: correct, only slower next time
        log.debug("could not refresh %s: %s", manifest_path(artifact.path), exc)
