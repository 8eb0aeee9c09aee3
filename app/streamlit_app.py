"""The chat page: questions in English, Polish or Romanian; answers that cite exact source lines.

Run with `make run`. Models and the index load once per server process (st.cache_resource);
each browser session keeps its own chat in st.session_state. RAG_APP_FAKE=1 swaps in fake
models for tests; RAG_STORE / RAG_CORPUS relocate the index and the corpus folder.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run app/streamlit_app.py` puts only app/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import render  # noqa: E402
from app.chat import Incoming, Turn, build_filters, history, prepare_question  # noqa: E402
from app.engine import (  # noqa: E402
    Engine,
    data_dirs,
    fake_mode,
    is_ready,
    load_llm,
    mark_ready,
    model_turn,
)
from app.session import ask_example, init_session  # noqa: E402
from app.sidebar import MODEL_LABELS, sidebar  # noqa: E402
from rag import languages  # noqa: E402
from rag.types import Answer  # noqa: E402

log = logging.getLogger("rag.app")

EXAMPLES = [
    "What did Biden offer Putin on 30 December?",
    "Co Ławrow powiedział o rozmowach z Zachodem?",
    "Când vrea Rusia să înceapă discuțiile cu SUA și NATO?",
]


# --------------------------------------------------------------------------- shared resources


@st.cache_resource(show_spinner=False)
def cached_engine(store: str, corpus: str, fake: bool) -> Engine:
    engine = Engine.load(Path(store), Path(corpus), fake)
    mark_ready("engine", store, corpus, fake)
    return engine


@st.cache_resource(show_spinner=False)
def cached_llm(size: str, fake: bool) -> Any:
    llm = load_llm(size, fake)
    mark_ready("llm", size, fake)
    return llm


def prepare_engine() -> Engine:
    """The shared engine; the first session of a fresh server sees a status while it loads."""
    store, corpus = data_dirs(fake_mode())
    key = (str(store), str(corpus), fake_mode())
    if is_ready("engine", *key):
        return cached_engine(*key)
    slot = st.empty()
    try:
        with slot.status("Preparing the search index (first start only)…", expanded=True) as status:
            status.write(
                "Loading the embedding model and opening the index — a new or changed corpus is "
                "indexed now, which can take a minute."
            )
            engine = cached_engine(*key)
            status.update(label="Search index ready", state="complete")
    except Exception as exc:  # a missing corpus folder, an unreadable index, a model that fails to load
        log.exception("engine failed to load")
        slot.error(f"The search index could not be opened: {exc}", icon=":material/error:")
        st.stop()
    slot.empty()
    return engine


def prepare_llm(size: str) -> Any | None:
    """The shared chat model, or None (with a warning) if it cannot be loaded: answers then quote."""
    fake = fake_mode()
    if is_ready("llm", size, fake):
        return cached_llm(size, fake)
    slot = st.empty()
    try:
        with slot.status(
            f"Loading the language model — {MODEL_LABELS[size]} (first start only)…", expanded=False
        ) as status:
            llm = cached_llm(size, fake)
            status.update(label="Language model ready", state="complete")
    except Exception as exc:  # rag.llm.ModelError, llama.cpp load errors
        log.exception("language model failed to load")
        slot.warning(
            f"The language model could not be loaded, so answers quote the sources instead. {exc}",
            icon=":material/warning:",
        )
        return None
    slot.empty()
    return llm


# --------------------------------------------------------------------------- chat rendering


def show_user(turn: Turn) -> None:
    with st.chat_message("user"):
        st.markdown(render.escape(turn.question).replace("\n", "  \n"), unsafe_allow_html=True)
        if turn.notice:
            st.warning(turn.notice, icon=":material/content_cut:")


def show_passages(answer: Answer, documents: dict[str, Any], label: str, expanded: bool = False) -> None:
    cited = render.cited_lines(answer.citations)
    with st.expander(label, expanded=expanded):
        st.markdown(
            "".join(render.passage_html(i, p, documents, cited) for i, p in enumerate(answer.passages, 1)),
            unsafe_allow_html=True,
        )


def show_answer(turn: Turn, engine: Engine) -> None:
    """The grounded answer, its cited sources, and everything that was retrieved."""
    answer = turn.answer
    assert answer is not None
    documents = engine.retriever.store.manifest.get("documents", {})
    if answer.refused:
        st.info(answer.answer, icon=":material/search_off:")
        if answer.passages:
            show_passages(
                answer, documents, f"Closest passages ({len(answer.passages)}) — read them yourself"
            )
        else:
            st.caption("No passage matched the current filters.")
    else:
        st.markdown(render.answer_html(answer.answer), unsafe_allow_html=True)
        cards = [
            render.citation_html(
                n, c, render.find_paragraph(c, answer.passages, engine.retriever.chunks), documents
            )
            for n, c in enumerate(answer.citations, 1)
        ]
        st.markdown('<div class="rag-sources-title">Sources</div>' + "".join(cards), unsafe_allow_html=True)
        show_passages(answer, documents, f"All retrieved passages ({len(answer.passages)}) with scores")
    dropped = sum(1 for s in answer.sentences if not s.get("supported", True))
    note = (
        f" · {dropped} unsupported sentence(s) of the draft left out"
        if dropped and not answer.refused
        else ""
    )
    st.caption(render.timings_text(answer, turn.model) + note)


def show_turn(turn: Turn, engine: Engine) -> None:
    show_user(turn)
    with st.chat_message("assistant"):
        if turn.error:
            st.error(turn.error, icon=":material/error:")
        else:
            show_answer(turn, engine)


# --------------------------------------------------------------------------- answering


def stream_answer(engine: Engine, llm: Any | None, turn: Turn, past: list[Turn]) -> Answer:
    """Stream the draft as it is written, then return the grounded answer that replaces it."""
    state = st.session_state
    mode = "llm" if state.answer_mode == "llm" and llm is not None else "extractive"
    filters = build_filters(state.filter_langs, state.filter_docs, state.date_from, state.date_to)
    waiting = st.empty()
    waiting.caption(
        ":material/search: Searching the articles…"
        if mode == "extractive"
        else ":material/search: Searching the articles and asking the model…"
    )
    draft = st.empty()
    result: dict[str, Answer] = {}

    def pieces(stream: Iterator[str | Answer]) -> Iterator[str]:
        for item in stream:
            if isinstance(item, Answer):
                result["answer"] = item
            else:
                waiting.empty()
                yield render.escape(item)

    def queued() -> None:
        waiting.caption(
            ":material/hourglass_top: Another conversation is using the model — your question is next…"
        )

    with model_turn(llm is not None, queued):
        stream = engine.answerer(llm).ask_stream(
            turn.question,
            mode=mode,
            k=state.k,
            retrieval_mode=state.retrieval_mode,
            filters=filters,
            history=history(past) or None,
        )
        try:
            with draft.container():
                st.write_stream(pieces(stream))
        finally:
            stream.close()
    waiting.empty()
    draft.empty()
    if "answer" not in result:
        raise RuntimeError("the answer step ended without an answer")
    return result["answer"]


def answer_label(llm: Any | None) -> str:
    if st.session_state.answer_mode != "llm" or llm is None:
        return "quotes only"
    return MODEL_LABELS[st.session_state.model_size].split(" (")[0].lower()


def handle_question(engine: Engine, llm: Any | None, incoming: Incoming) -> None:
    from rag.answer import AnswerError

    past = list(st.session_state.turns)
    turn = Turn(incoming.question, notice=incoming.notice, model=answer_label(llm))
    show_user(turn)
    with st.chat_message("assistant"):
        try:
            turn.answer = stream_answer(engine, llm, turn, past)
        except AnswerError as exc:
            turn.error = str(exc)
        except Exception as exc:  # never a stack trace in the chat; the log keeps it
            log.exception("answering failed")
            turn.error = f"Something went wrong while answering: {exc}. Please try again."
        if turn.error:
            st.error(turn.error, icon=":material/error:")
        else:
            show_answer(turn, engine)
    st.session_state.turns.append(turn)


def welcome(documents: int) -> None:
    st.markdown(
        f"Ask about the **{documents} news articles** in the corpus, in English, Polish or Romanian. "
        "Every answer cites the exact lines it rests on; when the articles don't say, the assistant "
        "says so."
    )
    st.caption("Try one of these:")
    for example in EXAMPLES:
        st.button(
            example, on_click=ask_example, args=(example,), icon=":material/chat_bubble:", type="tertiary"
        )


def main() -> None:
    st.set_page_config(
        page_title="News Q&A with citations", page_icon=":material/newspaper:", layout="centered"
    )
    # Users get messages, not tracebacks (those go to the server log) and no developer menu.
    st.set_option("client.showErrorDetails", "none")
    st.set_option("client.toolbarMode", "viewer")
    st.markdown(render.CSS, unsafe_allow_html=True)
    init_session()
    st.title(":material/newspaper: Ask the news")
    engine = prepare_engine()
    sidebar(engine)
    llm = prepare_llm(st.session_state.model_size) if st.session_state.answer_mode == "llm" else None
    spoken = ", ".join(p.native_name for p in languages.packs())
    typed = st.chat_input(f"Ask about the articles — {spoken}")  # pinned to the bottom
    incoming = prepare_question(typed or st.session_state.pop("pending", None))
    # A fixed slot, emptied explicitly: otherwise the previous run's welcome lingers (greyed out)
    # under the first question until the whole answer is done.
    intro = st.empty()
    if not st.session_state.turns and incoming is None:
        with intro.container():
            welcome(len(engine.sources()))
    else:
        intro.empty()
    for turn in st.session_state.turns:
        show_turn(turn, engine)
    if incoming is not None:
        handle_question(engine, llm, incoming)


main()
