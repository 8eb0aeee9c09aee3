"""The README's "How it works" table is the map a newcomer reads: it must name what exists, all of it."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _how_it_works() -> str:
    text = (ROOT / "README.md").read_text("utf-8")
    return text.split("## How it works", 1)[1].split("\n## ", 1)[0]


def _named_paths() -> set[str]:
    return set(re.findall(r"`((?:rag|app|evals)/[\w/.]*)`", _how_it_works()))


def test_every_path_in_the_table_exists() -> None:
    missing = sorted(p for p in _named_paths() if not (ROOT / p).exists())
    assert not missing, f"README 'How it works' names paths that do not exist: {missing}"


def test_every_module_of_the_package_is_in_the_table() -> None:
    named = _named_paths()
    modules = []
    for path in sorted((ROOT / "rag").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if path.name == "__init__.py" and path.parent.name == "rag":
            continue
        folder = rel.rsplit("/", 1)[0] + "/"
        if rel not in named and folder not in named:
            modules.append(rel)
    assert not modules, f"modules the README 'How it works' table does not map: {modules}"
