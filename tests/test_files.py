"""Atomic publish: a reader sees the old file or folder or the finished new one, never a partial one."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.files import publish_atomically, sha256_of


def test_a_file_appears_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "state.bin"
    with publish_atomically(target) as tmp:
        tmp.write_bytes(b"half")
        assert not target.exists() and tmp.parent == target.parent
        tmp.write_bytes(b"whole")
    assert target.read_bytes() == b"whole"
    assert [p.name for p in target.parent.iterdir()] == ["state.bin"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_litter(tmp_path: Path) -> None:
    target = tmp_path / "state.bin"
    target.write_bytes(b"old")
    with pytest.raises(OSError), publish_atomically(target) as tmp:
        tmp.write_bytes(b"new but broken")
        raise OSError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.bin"]


def test_a_folder_replaces_the_old_one_whole(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    with publish_atomically(target, folder=True) as tmp:
        assert tmp.is_dir() and (tmp.stat().st_mode & 0o777) == 0o755
        (tmp / "weights").write_bytes(b"w")
    assert sorted(p.name for p in target.iterdir()) == ["weights"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_sha256_reports_progress(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    seen: list[int] = []
    assert sha256_of(path, seen.append) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert seen == [3]
