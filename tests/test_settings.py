"""The settings object: every RAG_* variable is read there, documented in the README, and checked."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from rag import settings


def test_every_setting_is_in_the_readme_table_and_nothing_else() -> None:
    readme = (settings.PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(RAG_[A-Z_]+)` \|", table, re.MULTILINE))
    assert documented == {f"RAG_{name.upper()}" for name in settings.Settings.model_fields}


def test_no_module_reads_rag_variables_behind_its_back() -> None:
    """One owner: the rest of the code asks rag.settings (tests may set variables, not read them)."""
    offenders = []
    for folder in ("rag", "app", "benchmarks"):
        for path in (settings.PROJECT_ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if path.name != "settings.py" and re.search(r"(environ|getenv)[^\n]*[\"']RAG_", text):
                offenders.append(str(path))
    assert offenders == []


def test_paths_follow_the_environment_at_call_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAG_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert settings.cache_dir() == tmp_path / "xdg" / "rag-news"
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("RAG_STORE", "")  # empty means unset, as before
    assert settings.cache_dir() == tmp_path / "c"
    assert settings.store_dir() == settings.PROJECT_ROOT / "vectorstore" / "default"
    assert settings.current().store is None


@pytest.mark.parametrize(("name", "value"), [("RAG_LLM_THREADS", "-1"), ("RAG_APP_FAKE", "maybe"),
                                             ("RAG_EMBEDDER", "torch")])
def test_bad_values_are_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(settings.SettingsError, match=f"{name}='{value}'"):
        settings.current()


def test_the_runtime_does_not_load_langchain_community() -> None:
    """It is being sunset; the chat model is our own (rag.llama_chat). Only the eval baseline may use it."""
    code = ("import sys, rag.llm, rag.llama_chat, rag.answer, rag.retrieve, rag.langchain_retriever, app.engine; "
            "print('langchain_community' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=settings.PROJECT_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
