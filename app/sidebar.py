"""The page's sidebar: what is indexed, answer settings, filters, and adding or removing articles."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import render
from app.engine import CorpusChangeError, Engine, fake_mode
from app.session import new_chat
from app.uploads import check_uploads, index_findings

MODEL_LABELS = {"default": "Standard model (1.5B)", "small": "Small model (0.5B, faster)"}
ANSWER_MODES = {"llm": "Language model", "extractive": "Quotes only (instant)"}
RETRIEVAL_MODES = {"hybrid": "Hybrid", "dense": "Dense", "keyword": "Keyword"}


def sidebar_summary(engine: Engine) -> None:
    summary = engine.summary()
    st.subheader("Corpus")
    cols = st.columns(3)
    cols[0].metric("Documents", len(summary.documents))
    cols[1].metric("Passages", summary.chunks)
    cols[2].metric("Languages", len(summary.languages))
    langs = ", ".join(f"{render.language_name(code)} ({n})" for code, n in summary.languages.items())
    dates = ", ".join(summary.months) or "none"
    undated = f" · {summary.undated} undated" if summary.undated else ""
    st.caption(f"{len(summary.documents)} documents in {langs}. Dates: {dates}{undated}.")
    with st.expander("Documents"):
        for doc in summary.documents:
            st.markdown(
                f"**{render.escape(doc.source)}**  \n{render.escape(render.language_name(doc.lang))} · "
                f"{render.escape(doc.date or 'undated')} · {doc.lines} lines  \n"
                f"<small>{render.escape(doc.title)}</small>",
                unsafe_allow_html=True,
            )


def sidebar_settings() -> None:
    st.subheader("Settings")
    st.slider(
        "Passages to retrieve", 1, 10, key="k", help="How many passages the search hands to the answer step."
    )
    st.radio(
        "Search",
        list(RETRIEVAL_MODES),
        key="retrieval_mode",
        horizontal=True,
        format_func=RETRIEVAL_MODES.get,
        help="Hybrid fuses meaning-based (dense) and word-based (keyword) search.",
    )
    st.radio(
        "Answer with",
        list(ANSWER_MODES),
        key="answer_mode",
        format_func=ANSWER_MODES.get,
        help="Quotes only: the best source lines, instantly, without the language model.",
    )
    st.selectbox(
        "Model size",
        list(MODEL_LABELS),
        key="model_size",
        format_func=MODEL_LABELS.get,
        disabled=st.session_state.answer_mode != "llm",
    )


def sidebar_filters(engine: Engine) -> None:
    summary = engine.summary()
    sources = [d.source for d in summary.documents]
    docs = {d.source: d for d in summary.documents}
    # Choices that no longer exist (a removed document) would make the widgets fail.
    st.session_state.filter_docs = [s for s in st.session_state.filter_docs if s in docs]
    st.session_state.filter_langs = [
        lang for lang in st.session_state.filter_langs if lang in summary.languages
    ]
    for key in ("date_from", "date_to"):
        if st.session_state[key] not in summary.months:
            st.session_state[key] = None
    active = bool(
        st.session_state.filter_docs
        or st.session_state.filter_langs
        or st.session_state.date_from
        or st.session_state.date_to
    )
    with st.expander("Filters" + (" (active)" if active else ""), expanded=active):
        st.multiselect(
            "Language",
            list(summary.languages),
            key="filter_langs",
            format_func=render.language_name,
            placeholder="All languages",
        )
        st.multiselect(
            "Documents",
            sources,
            key="filter_docs",
            placeholder="All documents",
            format_func=lambda s: f"{s} ({docs[s].lang}, {docs[s].date or 'undated'})",
        )
        months: list[str | None] = [None, *summary.months]
        cols = st.columns(2)
        cols[0].selectbox(
            "From", months, key="date_from", format_func=lambda m: m or "Any date", placeholder="Any date"
        )
        cols[1].selectbox(
            "To", months, key="date_to", format_func=lambda m: m or "Any date", placeholder="Any date"
        )
        if st.session_state.date_from or st.session_state.date_to:
            st.caption("A date filter leaves out undated documents.")


def _progress_bar() -> Any:
    bar = st.progress(0.0, text="Starting…")
    return lambda fraction, message: bar.progress(min(max(fraction, 0.0), 1.0), text=message)


def handle_upload(engine: Engine, files: list[Any], replace: bool) -> None:
    checks = check_uploads([(f.name, f.getvalue()) for f in files], engine.corpus_dir, replace)
    notes = [("error", c.message) for c in checks if not c.ok]
    accepted = [c for c in checks if c.ok]
    if accepted:
        try:
            report = engine.add_documents(accepted, _progress_bar())
            notes += [("success", c.message) for c in accepted]
            notes += [("warning", note) for note in index_findings(report, [c.name for c in accepted])]
            notes.append(
                (
                    "info",
                    f"Index updated: {report.embedded} new passages embedded, "
                    f"{report.reused} reused, {report.seconds:.1f} s.",
                )
            )
        except CorpusChangeError as exc:
            notes.append(("error", str(exc)))
    st.session_state.corpus_notes = notes
    st.session_state.uploader_round += 1  # a fresh uploader widget, so the same files are not re-sent
    st.rerun()


def handle_removal(engine: Engine, source: str) -> None:
    try:
        report = engine.remove_document(source, _progress_bar())
        notes = [("success", f"{source} was removed; the index now holds {report.chunks} passages.")]
    except CorpusChangeError as exc:
        notes = [("error", str(exc))]
    st.session_state.corpus_notes = notes
    st.rerun()


def sidebar_manage(engine: Engine) -> None:
    notes = st.session_state.corpus_notes
    with st.expander("Add or remove documents", expanded=bool(notes)):
        for kind, message in notes:
            getattr(st, kind)(message)
        st.session_state.corpus_notes = []
        with st.form(f"upload-{st.session_state.uploader_round}", clear_on_submit=True, border=False):
            files = st.file_uploader(
                "Add .txt or .md files (UTF-8)",
                type=["txt", "md"],
                accept_multiple_files=True,
                max_upload_size=5,
            )
            replace = st.checkbox("Replace files with the same name")
            add = st.form_submit_button("Add to corpus", icon=":material/upload_file:")
        if add:
            if files:
                handle_upload(engine, files, replace)
            else:
                st.warning("Choose one or more files first.")
        st.divider()
        with st.form("remove", clear_on_submit=True, border=False):
            source = st.selectbox(
                "Remove a document", engine.sources(), index=None, placeholder="Choose a document"
            )
            confirm = st.checkbox("Delete the file from the corpus folder")
            remove = st.form_submit_button("Remove", icon=":material/delete:")
        if remove:
            if source and confirm:
                handle_removal(engine, source)
            else:
                st.warning("Choose a document and tick the box to confirm.")


def sidebar(engine: Engine) -> None:
    with st.sidebar:
        st.button(
            "New chat", on_click=new_chat, type="primary", icon=":material/add_comment:", width="stretch"
        )
        sidebar_summary(engine)
        sidebar_settings()
        sidebar_filters(engine)
        sidebar_manage(engine)
        if fake_mode():
            st.caption("Test mode: fake models (RAG_APP_FAKE=1).")
