"""Per-browser-session state of the page: the chat so far and the reader's settings.

Streamlit re-runs the page script on every interaction; what must survive a re-run lives in
st.session_state, set up here once per session.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

DEFAULTS: dict[str, Any] = {
    "k": 5,
    "retrieval_mode": "hybrid",
    "answer_mode": "llm",
    "model_size": "default",
    "filter_langs": [],
    "filter_docs": [],
    "date_from": None,
    "date_to": None,
}


def init_session() -> None:
    st.session_state.setdefault("turns", [])
    st.session_state.setdefault("uploader_round", 0)
    st.session_state.setdefault("corpus_notes", [])
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)


def new_chat() -> None:
    st.session_state.turns = []
    st.session_state.pop("pending", None)


def ask_example(question: str) -> None:
    st.session_state.pending = question
