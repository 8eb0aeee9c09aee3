"""Behaviour of the Streamlit page with fake models (RAG_APP_FAKE=1): fast, no model files needed.

The fake chat model echoes the first retrieved line that shares a word with the question, so
the real grounding step accepts it; for a question about nothing in the corpus it invents a
claim, which grounding must reject, so the page shows a refusal.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.chat import Turn, build_filters, history, prepare_question
from app.render import answer_html, citation_html, escape, lines_html
from app.uploads import check_upload, safe_name
from rag import settings
from rag.testing import EchoChatModel
from rag.types import Answer, Citation

APP = Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py"
QUESTION = "What did Biden offer Putin on 30 December?"
OFF_TOPIC = "Who won the 2018 FIFA World Cup in Moscow?"  # names the corpus never mentions
SEED_FILE = re.compile(r"0\d\d_[0-9a-f]+\.txt")


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, corpus_copy: Path) -> AppTest:
    """The page in fake mode over a private copy of the seeds and a private index."""
    monkeypatch.setenv("RAG_APP_FAKE", "1")
    monkeypatch.setenv("RAG_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("RAG_CORPUS", str(corpus_copy))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, text: str) -> AppTest:
    at.chat_input[0].set_value(text).run()
    assert not at.exception, at.exception
    return at


def assistant_text(at: AppTest) -> str:
    message = at.chat_message[-1]
    assert message.name == "assistant"
    return "\n".join(str(getattr(el, "value", "")) for el in message.children.values())


def sidebar_metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.sidebar.metric if m.label == label)


def submit(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception
    return at


# --------------------------------------------------------------------------- chat


def test_question_gets_answer_with_cited_sources(app: AppTest) -> None:
    ask(app, QUESTION)
    assert [m.name for m in app.chat_message] == ["user", "assistant"]
    text = assistant_text(app)
    assert 'class="rag-answer"' in text and "&#91;1&#93;" in text  # the [1] marker
    assert "Sources" in text and SEED_FILE.search(text.replace("&#95;", "_"))
    assert re.search(r"lines? \d+", text) and "<mark>" in text
    labels = [e.label for e in app.chat_message[-1].expander]
    assert len(labels) == 1 and re.fullmatch(r"All retrieved passages \(\d+\) with scores", labels[0])
    assert "score 0." in "".join(str(m.value) for m in app.chat_message[-1].expander[0].markdown)


def test_refusal_is_shown_with_closest_passages(app: AppTest) -> None:
    ask(app, OFF_TOPIC)
    assert "The corpus does not say" in app.chat_message[-1].info[0].value
    labels = [e.label for e in app.chat_message[-1].expander]
    assert len(labels) == 1 and re.fullmatch(r"Closest passages \(\d+\) — read them yourself", labels[0])
    assert "Sources" not in assistant_text(app)


def test_empty_message_does_nothing(app: AppTest) -> None:
    ask(app, "   \n  ")
    assert len(app.chat_message) == 0
    assert not app.error


def test_huge_message_is_truncated_with_notice(app: AppTest) -> None:
    ask(app, "Biden Putin " * 1000)
    user = app.chat_message[0]
    assert "only the first" in user.warning[0].value
    assert len(user.markdown[0].value) <= settings.MAX_QUESTION_CHARS
    assert app.chat_message[1].name == "assistant"


def test_model_error_is_a_chat_message_not_a_traceback(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: EchoChatModel, messages: list) -> str:
        raise RuntimeError("llama_decode returned -3")

    monkeypatch.setattr(EchoChatModel, "_reply", broken)
    ask(app, QUESTION)
    errors = app.chat_message[-1].error
    assert errors and "language model failed" in errors[0].value and "llama_decode" in errors[0].value
    assert not app.exception
    ask(app, QUESTION)  # the page keeps working: both turns stay, each with its message
    assert len(app.chat_message) == 4


def test_follow_up_sends_the_conversation(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    original = EchoChatModel._reply

    def spy(self: EchoChatModel, messages: list) -> str:
        seen.append(str(messages[-1].content))
        return original(self, messages)

    monkeypatch.setattr(EchoChatModel, "_reply", spy)
    ask(app, QUESTION)
    ask(app, "And what did Putin answer?")
    condense = [m for m in seen if "Follow-up question: And what did Putin answer?" in m]
    assert condense and f"User: {QUESTION}" in condense[0]
    assert len(app.chat_message) == 4


def test_new_chat_clears_the_conversation(app: AppTest) -> None:
    ask(app, QUESTION)
    assert len(app.chat_message) == 2
    submit(app, "New chat")
    assert len(app.chat_message) == 0


def test_example_button_asks_its_question(app: AppTest) -> None:
    submit(app, QUESTION)
    assert app.chat_message[0].markdown[0].value == QUESTION
    assert app.chat_message[1].name == "assistant"


def test_extractive_mode_quotes_lines(app: AppTest) -> None:
    app.radio(key="answer_mode").set_value("extractive").run()
    ask(app, QUESTION)
    text = assistant_text(app)
    assert "<li>" in text and "Sources" in text
    assert "quotes only" in app.chat_message[-1].caption[-1].value


def test_language_filter_limits_retrieval(app: AppTest) -> None:
    app.multiselect(key="filter_langs").set_value(["ro"]).run()
    ask(app, "Rusia NATO discuțiile ianuarie")
    passages = "".join(str(m.value) for m in app.chat_message[-1].expander[0].markdown)
    files = set(re.findall(r"0\d\d&#95;[0-9a-f]+\.txt", passages))
    assert files == {"004&#95;a693e22d446df271.txt"}


# --------------------------------------------------------------------------- sidebar and corpus


def test_sidebar_summarises_the_corpus(app: AppTest) -> None:
    assert sidebar_metric(app, "Documents") == "5"
    assert int(sidebar_metric(app, "Passages")) > 20
    caption = " ".join(c.value for c in app.sidebar.caption)
    assert "Polish" in caption and "Romanian" in caption and "2021-12" in caption


def test_upload_adds_and_indexes_a_document(app: AppTest, corpus_copy: Path) -> None:
    text = "Zebra talks\n\nThe zebra summit in Geneva ended with an agreement on striped crossings.\n"
    app.sidebar.file_uploader[0].set_value(("zebra notes.md", text.encode(), "text/markdown"))
    submit(app, "Add to corpus")
    assert (corpus_copy / "zebra_notes.md").read_text("utf-8") == text
    assert sidebar_metric(app, "Documents") == "6"
    assert any("zebra_notes.md: added" in s.value for s in app.sidebar.success)


def test_upload_rejects_binary_and_non_utf8(app: AppTest, corpus_copy: Path) -> None:
    app.sidebar.file_uploader[0].set_value(
        [
            ("blob.txt", b"\x00\x01\x02binary", "text/plain"),
            ("latin.txt", "Zażółć".encode("iso-8859-2"), "text/plain"),
        ]
    )
    submit(app, "Add to corpus")
    errors = " ".join(e.value for e in app.sidebar.error)
    assert "binary" in errors and "not UTF-8" in errors
    assert not (corpus_copy / "blob.txt").exists() and not (corpus_copy / "latin.txt").exists()
    assert sidebar_metric(app, "Documents") == "5"


def test_upload_does_not_overwrite_silently(app: AppTest, corpus_copy: Path) -> None:
    name = sorted(p.name for p in corpus_copy.iterdir() if p.is_file())[0]
    before = (corpus_copy / name).read_bytes()
    app.sidebar.file_uploader[0].set_value(
        (name, b"Something else entirely, written over the article.", "text/plain")
    )
    submit(app, "Add to corpus")
    assert "already exists" in " ".join(e.value for e in app.sidebar.error)
    assert (corpus_copy / name).read_bytes() == before


def test_remove_document_deletes_and_reindexes(app: AppTest, corpus_copy: Path) -> None:
    target = "004_a693e22d446df271.txt"
    next(s for s in app.sidebar.selectbox if s.label == "Remove a document").set_value(target)
    next(c for c in app.sidebar.checkbox if c.label.startswith("Delete the file")).check()
    submit(app, "Remove")
    assert not (corpus_copy / target).exists()
    assert sidebar_metric(app, "Documents") == "4"
    assert "Romanian" not in " ".join(c.value for c in app.sidebar.caption)


# --------------------------------------------------------------------------- helpers (no Streamlit)


def test_prepare_question() -> None:
    assert prepare_question("  ") is None and prepare_question(None) is None
    assert prepare_question(" hi ").question == "hi"
    long = prepare_question("word " * 1000, limit=100)
    assert (
        long is not None and len(long.question) <= 100 and long.notice and "4,999 characters" in long.notice
    )


def test_history_and_filters() -> None:
    answered = Turn("q1", answer=Answer("q1", "a1", "en", False))
    assert history([answered, Turn("q2", error="boom")]) == [("q1", "a1")]
    assert build_filters([], [], None, None) is None
    assert build_filters(["pl"], [], "2021-12", None) == {"lang": ["pl"], "date_from": "2021-12"}


def test_escape_keeps_text_literal() -> None:
    raw = "<script>alert(1)</script> *not bold* $5 [1] a_b"
    out = escape(raw)
    assert "<" not in out and "*" not in out and "$" not in out and "_" not in out
    assert "&lt;script&gt;" in out
    assert 'class="cite"' in answer_html("Two paths [1].")


def test_citation_card_marks_only_cited_lines() -> None:
    html = lines_html([(4, "first"), (5, "second")], {5})
    assert "<mark>second</mark>" in html and "<mark>first" not in html
    card = citation_html(
        2, Citation("a.txt", 3, 4, "x\ny"), None, {"a.txt": {"date": "2021-12", "lang": "pl"}}
    )
    assert "lines 3–4" in card and "2021-12" in card and "Polish" in card


def test_upload_checks(tmp_path: Path) -> None:
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("My Notes (v2).MD") == "My_Notes_v2.md"
    assert not check_upload("a.pdf", b"%PDF", tmp_path).ok
    assert not check_upload("a.txt", b"   ", tmp_path).ok
    assert check_upload("a.txt", "Zażółć gęślą jaźń".encode(), tmp_path).ok
    (tmp_path / "a.txt").write_text("old", "utf-8")
    assert "same content" in check_upload("a.txt", b"old", tmp_path).message
    assert not check_upload("a.txt", b"new", tmp_path).ok
    assert check_upload("a.txt", b"new", tmp_path, replace=True).replaces


def test_model_turn_waits_for_the_other_session() -> None:
    import threading

    from app.engine import model_turn

    waited, entered = threading.Event(), threading.Event()

    def second_session() -> None:
        with model_turn(True, waited.set):
            entered.set()

    with model_turn(True, lambda: pytest.fail("nobody else holds the model")):
        worker = threading.Thread(target=second_session)
        worker.start()
        assert waited.wait(2)  # told that it has to wait...
        assert not entered.is_set()  # ...and really waiting
    worker.join(2)
    assert entered.is_set()
    with model_turn(False, lambda: pytest.fail("quotes-only answers need no lock")):
        pass


def test_progress_embedder_reports_batches_and_keeps_fingerprint(fake_embedder) -> None:
    from app.engine import LockedEmbedder, ProgressEmbedder

    seen: list[float] = []
    wrapped = ProgressEmbedder(LockedEmbedder(fake_embedder), lambda f, _m: seen.append(f), batch=2)
    vectors = wrapped.embed_documents(["a b", "c d", "e f"])
    assert vectors.shape == (3, fake_embedder.dim) and seen == [0.0, 2 / 3, 1.0]
    assert wrapped.fingerprint() == fake_embedder.fingerprint()


def test_failed_indexing_undoes_the_upload(
    tmp_path: Path, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import engine as engine_mod
    from app.engine import CorpusChangeError, Engine

    eng = Engine.load(tmp_path / "store", corpus_copy, fake=True)
    check = check_upload("new.txt", b"A new article about talks in Geneva and elsewhere.", corpus_copy)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(engine_mod, "build_store", boom)
    with pytest.raises(CorpusChangeError, match="disk full"):
        eng.add_documents([check], lambda f, m: None)
    assert not (corpus_copy / "new.txt").exists()
    assert len(eng.sources()) == 5


def test_engine_keeps_one_answerer_per_model_until_the_index_changes(tmp_path: Path, corpus_copy: Path) -> None:
    from app.engine import Engine
    from rag.testing import EchoChatModel

    eng = Engine.load(tmp_path / "store", corpus_copy, fake=True)
    first, other = EchoChatModel(), EchoChatModel()
    kept = eng.answerer(first)
    assert eng.answerer(first) is kept and kept.llm is first
    assert eng.answerer(other) is not kept and eng.answerer(other).llm is other
    eng.rebuild(lambda f, m: None)
    fresh = eng.answerer(first)
    assert fresh is not kept and fresh.retriever is eng.retriever


def test_a_neighbour_paragraph_shows_the_line_it_was_added_beside_not_a_rank() -> None:
    from app.render import passage_html
    from rag.types import Chunk, Passage

    chunk = Chunk(source="a.txt", start_line=13, end_line=13, text="Line thirteen.", section="", title="", date="", lang="en")
    html = passage_html(2, Passage(chunk=chunk, score=0.4, neighbour_of=11), {}, set())
    assert "beside the hit at line 11" in html and "#11" not in html
