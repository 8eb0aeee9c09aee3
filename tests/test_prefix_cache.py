"""The on-disk prompt-prefix cache: naming (fast) and a save / restore round trip on the real model (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import prefix_cache


def _model_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(b"GGUF" + bytes(64))
    return path


def test_state_name_changes_with_prompt_and_context(tmp_path: Path) -> None:
    model = _model_file(tmp_path, "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    a = prefix_cache.state_path(tmp_path, model, "n_ctx=4096", "system: rules")
    assert a == prefix_cache.state_path(tmp_path, model, "n_ctx=4096", "system: rules")
    assert a != prefix_cache.state_path(tmp_path, model, "n_ctx=4096", "system: other rules")
    assert a != prefix_cache.state_path(tmp_path, model, "n_ctx=2048", "system: rules")
    assert a.name.startswith("qwen2.5-coder-1.5b-instruct-q4_k_m.") and a.name.endswith(prefix_cache.SUFFIX)


def test_stale_states_of_the_same_model_go_and_other_models_stay(tmp_path: Path) -> None:
    big = _model_file(tmp_path, "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    small = _model_file(tmp_path, "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
    old = prefix_cache.state_path(tmp_path, big, "n_ctx=4096", "old prompt")
    other = prefix_cache.state_path(tmp_path, small, "n_ctx=4096", "old prompt")
    current = prefix_cache.state_path(tmp_path, big, "n_ctx=4096", "new prompt")
    for path in (old, other, current):
        path.write_bytes(b"state")
    prefix_cache._drop_stale(current)
    assert current.exists() and other.exists() and not old.exists()


def test_a_missing_state_file_restores_nothing(tmp_path: Path) -> None:
    assert prefix_cache.load(object(), tmp_path / "absent" / f"x{prefix_cache.SUFFIX}") == 0


# --------------------------------------------------------------------------- real model


def _has_default_model() -> bool:
    from rag import llm

    try:
        llm.part_paths(llm.MODELS["default"])
        import llama_cpp  # noqa: F401
    except (llm.ModelError, ImportError):
        return False
    return True


QUESTION = "What did Biden offer Putin?"
SOURCE = ('Biały Dom podał, że Biden przedstawił Putinowi "dwie ścieżki działań", jedną opartą na dyplomacji '
          "i drugą opartą na odstraszaniu.")


def _answer(model) -> str:
    from rag.generate import answer_chain
    from rag.prompt import prompt_inputs
    from rag.types import Chunk, Passage

    passages = [Passage(Chunk("000_seed.txt", 15, 15, SOURCE), 1.0)]
    return answer_chain(model).invoke(prompt_inputs(QUESTION, passages, "English"))


def _forget(model) -> None:
    """Empty the context, as in a new process."""
    model.client.reset()
    model.client._ctx.kv_cache_clear()


@pytest.mark.slow
@pytest.mark.skipif(not _has_default_model(), reason="default model packages or llama-cpp not installed")
def test_saved_prefix_restores_into_an_empty_context_and_answers_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag.generate import fixed_prompt_text, warm_prefix
    from rag.llm import load_chat_model

    model = load_chat_model("default", max_tokens=120)
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))  # state files go here; the weights stay loaded
    path = model.prefix_state_path(fixed_prompt_text())
    assert path.parent == tmp_path / "models"

    _forget(model)
    warm_prefix(model)  # nothing on disk: reads the prefix live, then saves it
    assert path.is_file() and path.stat().st_size > 1_000_000
    live = _answer(model)

    _forget(model)
    restored = model.restore_prefix(path)
    assert restored > 500  # system message and worked examples: ~640 tokens
    assert model.client.n_tokens == restored
    assert _answer(model) == live

    path.write_bytes(b"not a llama.cpp state file" * 100)  # corrupt: refused, context left empty
    _forget(model)
    assert model.restore_prefix(path) == 0
    assert model.client.n_tokens == 0
    warm_prefix(model)  # rewrites a good file
    assert model.restore_prefix(path) > 500
    assert _answer(model) == live
