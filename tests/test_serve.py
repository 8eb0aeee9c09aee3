"""`rag serve`: the real server (uvicorn on a free port) driven by the `openai` client and plain HTTP.

Fake embedder and echo chat model (see rag/testing.py): the grounding step is the real one, so
citations are real line numbers of the seed files.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest

from app.engine import Engine
from rag.serve.auth import bind_problem
from rag.serve.openai_format import split_conversation
from rag.serve.schemas import Message
from rag.testing import EchoChatModel
from tests.conftest import SEEDS
from tests.fakes import FakeEmbedder
from tests.serve_support import free_port, serving

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What did Biden offer Putin on 30 December?"
ASK = [{"role": "user", "content": QUESTION}]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """A fake-model engine over a private copy of the seeds, shared by the read-only tests."""
    root = tmp_path_factory.mktemp("serve")
    shutil.copytree(SEEDS, root / "corpus")
    return Engine.load(root / "store", root / "corpus", fake=True)


@pytest.fixture(scope="module")
def server(engine: Engine):
    with serving(engine) as (url, state):
        yield url, state


@pytest.fixture
def url(server) -> str:
    return server[0]


@pytest.fixture
def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=30)


def line_of(source: str, number: int) -> str:
    """The line as the corpus reads it: line 1's ` date YYYY-MM` marker is metadata, not text."""
    from rag.corpus import split_date_marker

    line = (SEEDS / source).read_text("utf-8").splitlines()[number - 1]
    return split_date_marker(line)[1] if number == 1 else line


def assert_real_citations(citations: list[dict]) -> None:
    """Each citation names a seed file and quotes exactly the lines it cites."""
    assert citations
    for c in citations:
        assert set(c) >= {"source", "start_line", "end_line", "quote"}
        lines = [line_of(c["source"], n) for n in range(c["start_line"], c["end_line"] + 1)]
        assert c["quote"] == "\n".join(lines)


def error_of(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"] and error["type"]
    return error


# --------------------------------------------------------------------------- OpenAI client


def test_models_lists_the_three_ids(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["default", "small", "extractive"]
    assert client.models.retrieve("small").id == "small"


def test_chat_answers_with_citations_and_markers(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="default", messages=ASK)
    message = reply.choices[0].message
    assert message.role == "assistant" and "[1]" in message.content
    extra = message.model_extra
    assert extra["refused"] is False
    assert_real_citations(extra["citations"])
    assert reply.choices[0].finish_reason == "stop" and reply.model == "default"


def test_streamed_answer_ends_with_grounded_fields(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="default", messages=ASK, stream=True))
    draft = "".join(c.choices[0].delta.content or "" for c in chunks)
    last = chunks[-1].choices[0]
    assert last.finish_reason == "stop"
    fields = last.delta.model_extra
    assert fields["refused"] is False and fields["answer"].strip()
    assert_real_citations(fields["citations"])
    assert draft.strip() and len(chunks) > 3  # the draft came in pieces, before the grounded fields
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])


def test_stream_is_sse_ending_with_done(url: str) -> None:
    body = {"model": "extractive", "messages": ASK, "stream": True}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=30) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    final = json.loads(events[-2][6:])
    assert final["object"] == "chat.completion.chunk" and "citations" in final["choices"][0]["delta"]


def test_stream_without_draft_sends_only_the_grounded_answer(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="default", messages=ASK, stream=True,
                                                 extra_body={"stream_draft": False}))
    texts = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert texts == [chunks[-1].choices[0].delta.model_extra["answer"]]


def test_extractive_model_quotes_lines_without_the_chat_model(client: openai.OpenAI,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self, messages):
        raise AssertionError("the chat model must not be used")

    monkeypatch.setattr(EchoChatModel, "_reply", broken)
    message = client.chat.completions.create(model="extractive", messages=ASK).choices[0].message
    assert message.content and message.model_extra["refused"] is False
    assert_real_citations(message.model_extra["citations"])


def test_earlier_turns_are_the_history(client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    original = EchoChatModel._reply

    def spy(self, messages):
        seen.append(str(messages[-1].content))
        return original(self, messages)

    monkeypatch.setattr(EchoChatModel, "_reply", spy)
    client.chat.completions.create(model="default", messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": "Two paths [1]."},
        {"role": "user", "content": "And what did Putin answer?"},
    ])
    condense = [m for m in seen if "Follow-up question: And what did Putin answer?" in m]
    assert condense and f"User: {QUESTION}" in condense[0] and "Two paths" in condense[0]


def test_split_conversation_pairs_turns_and_takes_the_last_question() -> None:
    msgs = [Message(role="system", content="x"), Message(role="user", content="q1"),
            Message(role="assistant", content="a1"), Message(role="user", content=[{"type": "text", "text": "q2"}])]
    assert split_conversation(msgs) == ("q2", [("q1", "a1")])


def test_unknown_model_is_openai_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=ASK)
    assert info.value.body["code"] == "model_not_found"


def test_embeddings_match_the_embedder_base64_and_float(client: openai.OpenAI) -> None:
    texts = ["Biden i Putin", "garanții de securitate"]
    expected = FakeEmbedder().embed_queries(texts)
    packed = client.embeddings.create(model="e5", input=texts)  # the client asks for base64 by default
    floats = client.embeddings.create(model="e5", input=texts, encoding_format="float")
    for result in (packed, floats):
        got = np.array([d.embedding for d in sorted(result.data, key=lambda d: d.index)], dtype=np.float32)
        np.testing.assert_allclose(got, expected, atol=1e-6)


class SidedEmbedder(FakeEmbedder):
    """E5 style: the two sides get different prefixes, so the test can tell which one was used."""

    def embed_queries(self, texts):
        return self._embed([f"query {t}" for t in texts])

    def embed_documents(self, texts):
        return self._embed([f"passage {t}" for t in texts])


def test_embeddings_input_type_picks_the_side(url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.retrieve import Retriever

    monkeypatch.setattr(engine, "retriever", Retriever(engine.retriever.store, SidedEmbedder()))
    sided = SidedEmbedder()
    for input_type, expected in (("query", sided.embed_queries(["x"])), ("passage", sided.embed_documents(["x"])),
                                 (None, sided.embed_queries(["x"]))):
        body = {"model": "e5", "input": "x", **({"input_type": input_type} if input_type else {})}
        data = httpx.post(f"{url}/v1/embeddings", json=body).json()["data"]
        np.testing.assert_allclose(data[0]["embedding"], expected[0], atol=1e-6)


def test_base64_embedding_is_little_endian_float32(url: str) -> None:
    r = httpx.post(f"{url}/v1/embeddings", json={"model": "e5", "input": "NATO", "encoding_format": "base64"})
    vector = np.frombuffer(base64.b64decode(r.json()["data"][0]["embedding"]), dtype="<f4")
    np.testing.assert_allclose(vector, FakeEmbedder().embed_queries(["NATO"])[0], atol=1e-6)


# --------------------------------------------------------------------------- search and health


def test_search_returns_the_cli_hit_objects(url: str, engine: Engine) -> None:
    r = httpx.post(f"{url}/v1/search", json={"query": "Ile trwała rozmowa Bidena z Putinem?", "k": 3})
    expected = [p.to_hit() for p in engine.retriever.search("Ile trwała rozmowa Bidena z Putinem?", k=3)]
    assert r.json()["data"] == expected and len(expected) == 3


def test_search_filters_and_modes(url: str) -> None:
    r = httpx.post(f"{url}/v1/search", json={"query": "securitate NATO", "k": 4, "mode": "keyword",
                                             "filters": {"lang": "ro"}})
    hits = r.json()["data"]
    assert hits and {h["source"] for h in hits} == {"004_a693e22d446df271.txt"}


def test_health_reports_the_index(url: str) -> None:
    assert httpx.get(f"{url}/health").json() == {"status": "ready", "documents": 5, "passages": 57,
                                                "model": "default"}


def test_health_says_loading_and_requests_wait(engine: Engine) -> None:
    from rag.serve.app import create_app
    from rag.serve.config import ServeConfig
    from rag.serve.state import ServerState
    from tests.serve_support import running

    with running(create_app(ServerState(ServeConfig(fake=True)))) as base:  # loading never started
        assert httpx.get(f"{base}/health").json()["status"] == "loading"
        error = error_of(httpx.post(f"{base}/v1/search", json={"query": "NATO"}), 503)
        assert error["code"] == "loading"


def test_failed_loading_is_reported_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    from app import engine as engine_mod
    from rag.serve.app import create_app
    from rag.serve.config import ServeConfig
    from rag.serve.state import ServerState
    from tests.serve_support import running

    def no_index(*args, **kwargs):
        raise OSError("index folder unreadable")

    monkeypatch.setattr(engine_mod.Engine, "load", no_index)
    state = ServerState(ServeConfig(fake=True))
    state.start_loading().join(10)
    with running(create_app(state)) as base:
        health = httpx.get(f"{base}/health")
        assert health.status_code == 503 and "index folder unreadable" in health.json()["error"]
        assert "index folder unreadable" in error_of(httpx.get(f"{base}/v1/documents"), 503)["message"]


# --------------------------------------------------------------------------- bad input


BAD_REQUESTS = [
    ("empty question", "/v1/chat/completions", {"json": {"model": "default", "messages": [
        {"role": "user", "content": "   "}]}}, 400, "question_empty"),
    ("over-long question", "/v1/chat/completions", {"json": {"model": "default", "messages": [
        {"role": "user", "content": "Biden " * 400}]}}, 400, "question_too_long"),
    ("no messages", "/v1/chat/completions", {"json": {"model": "default", "messages": []}}, 400, "invalid_value"),
    ("assistant last", "/v1/chat/completions", {"json": {"model": "default", "messages": [
        {"role": "assistant", "content": "hi"}]}}, 400, "invalid_value"),
    ("unknown model", "/v1/chat/completions", {"json": {"model": "llama3", "messages": ASK}}, 404,
     "model_not_found"),
    ("malformed JSON", "/v1/chat/completions", {"content": b'{"model": "default",',
                                                "headers": {"content-type": "application/json"}}, 400,
     "invalid_json"),
    ("not UTF-8 JSON", "/v1/search", {"content": b'{"query": "\xff"}', "headers": {"content-type": "application/json"}},
     400, "invalid_json"),
    ("JSON array", "/v1/search", {"json": ["NATO"]}, 400, "invalid_json"),
    ("wrong content type", "/v1/chat/completions", {"content": b"model=default",
                                                    "headers": {"content-type": "application/x-www-form-urlencoded"}},
     415, "unsupported_media_type"),
    ("body over the limit", "/v1/chat/completions", {"content": b" " * (1024 * 1024 + 1),
                                                     "headers": {"content-type": "application/json"}}, 413,
     "body_too_large"),
    ("image content", "/v1/chat/completions", {"json": {"model": "default", "messages": [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}}, 400,
     "unsupported_content"),
    ("bad k", "/v1/search", {"json": {"query": "NATO", "k": 0}}, 400, "invalid_value"),
    ("bad mode", "/v1/search", {"json": {"query": "NATO", "mode": "magic"}}, 400, "invalid_value"),
    ("unknown filter", "/v1/search", {"json": {"query": "NATO", "filters": {"country": "pl"}}}, 400,
     "invalid_value"),
    ("bad date filter", "/v1/search", {"json": {"query": "NATO", "filters": {"date_from": "December"}}}, 400,
     "invalid_value"),
    ("empty query", "/v1/search", {"json": {"query": ""}}, 400, "question_empty"),
    ("empty embedding input", "/v1/embeddings", {"json": {"model": "e5", "input": []}}, 400, None),
    ("token-id embedding input", "/v1/embeddings", {"json": {"model": "e5", "input": [[1, 2, 3]]}}, 400,
     "invalid_value"),
    ("unknown embedding model", "/v1/embeddings", {"json": {"model": "text-embedding-3-small", "input": "x"}}, 404,
     "model_not_found"),
]


@pytest.mark.parametrize("what,path,kwargs,status,code", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_requests_get_openai_error_json(url: str, what: str, path: str, kwargs: dict, status: int,
                                           code: str | None) -> None:
    error = error_of(httpx.post(f"{url}{path}", timeout=30, **kwargs), status)
    if code:
        assert error["code"] == code


def test_chunked_body_over_the_limit_is_stopped(url: str) -> None:
    def body():
        for _ in range(40):
            yield b" " * 32768  # 1.25 MiB without a Content-Length

    r = httpx.post(f"{url}/v1/search", content=body(), headers={"content-type": "application/json"})
    assert error_of(r, 413)["code"] == "body_too_large"


def test_unknown_path_and_method_are_error_json(url: str) -> None:
    error_of(httpx.get(f"{url}/v2/anything"), 404)
    error_of(httpx.get(f"{url}/v1/chat/completions"), 405)


# --------------------------------------------------------------------------- documents


@pytest.fixture
def docs_server(tmp_path: Path, corpus_copy: Path):
    """A server over its own corpus copy: these tests change the corpus."""
    with serving(Engine.load(tmp_path / "store", corpus_copy, fake=True)) as (base, state):
        yield base, state, corpus_copy


def names(base: str) -> list[str]:
    return [d["id"] for d in httpx.get(f"{base}/v1/documents").json()["data"]]


def upload(base: str, name: str, data: bytes, **form) -> httpx.Response:
    return httpx.post(f"{base}/v1/documents", files=[("file", (name, data, "text/plain"))], data=form, timeout=60)


ARTICLE = b"Talks in Geneva\n\nThe zanzibarian delegation met the negotiators on 9 January in Geneva.\n"


def test_upload_indexes_and_delete_removes(docs_server) -> None:
    base, _, corpus = docs_server
    before = names(base)
    r = upload(base, "geneva.md", ARTICLE)
    assert r.status_code == 200, r.text
    assert r.json()["added"] == ["geneva.md"] and r.json()["reindexed"] == ["geneva.md"]
    assert names(base) == sorted([*before, "geneva.md"])
    hits = httpx.post(f"{base}/v1/search", json={"query": "zanzibarian delegation", "k": 1}).json()["data"]
    assert hits[0]["source"] == "geneva.md" and hits[0]["start_line"] == 3
    assert error_of(upload(base, "geneva.md", ARTICLE + b"More.\n"), 409)["code"] == "document_exists"
    assert upload(base, "geneva.md", ARTICLE + b"More.\n", replace="true").json()["replaced"] == ["geneva.md"]
    assert httpx.delete(f"{base}/v1/documents/geneva.md").json()["deleted"] is True
    assert names(base) == before and not (corpus / "geneva.md").exists()
    assert error_of(httpx.delete(f"{base}/v1/documents/geneva.md"), 404)["code"] == "document_not_found"


@pytest.mark.parametrize("name,data,status", [
    ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00", 400),
    ("binary.txt", b"abc\x00def\x00" * 10, 400),
    ("latin1.txt", "Zażółć gęślą jaźń".encode("iso-8859-2"), 400),
    ("empty.txt", b"  \n", 400),
    ("huge.txt", b"a" * (5 * 1024 * 1024 + 1), 413),
])
def test_bad_uploads_are_refused_and_nothing_is_written(docs_server, name: str, data: bytes, status: int) -> None:
    base, _, corpus = docs_server
    before = sorted(p.name for p in corpus.iterdir())
    error_of(upload(base, name, data), status)
    assert sorted(p.name for p in corpus.iterdir()) == before


@pytest.mark.parametrize("name", ["../evil.txt", "/tmp/evil.txt", "sub/evil.txt", "..\\evil.txt", "C:evil.txt",
                                  ".hidden.txt", ".."])
def test_path_tricks_in_names_are_refused(docs_server, name: str) -> None:
    base, _, corpus = docs_server
    before = sorted(p.name for p in corpus.parent.rglob("*"))
    assert error_of(upload(base, name, ARTICLE), 400)["code"] == "invalid_file_name"
    assert sorted(p.name for p in corpus.parent.rglob("*")) == before
    assert not Path("/tmp/evil.txt").exists()


def test_nul_byte_in_a_name_is_refused(docs_server) -> None:
    base, _, corpus = docs_server
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"evil\x00.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\n").encode() + ARTICLE + f"\r\n--{boundary}--\r\n".encode()
    r = httpx.post(f"{base}/v1/documents", content=body,
                   headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert error_of(r, 400)["code"] == "invalid_file_name"
    assert len([p for p in corpus.iterdir() if p.is_file()]) == 5


def test_delete_refuses_path_names_and_the_last_document(docs_server) -> None:
    base, state, _ = docs_server
    assert error_of(httpx.delete(f"{base}/v1/documents/..%2Fseeds"), 404)  # never reaches the corpus folder
    assert error_of(httpx.delete(f"{base}/v1/documents/.hidden"), 400)["code"] == "invalid_file_name"
    for name in names(base)[:-1]:
        assert httpx.delete(f"{base}/v1/documents/{name}", timeout=60).status_code == 200
    assert error_of(httpx.delete(f"{base}/v1/documents/{names(base)[0]}"), 409)["code"] == "last_document"


def test_failed_indexing_keeps_the_old_index_and_undoes_the_upload(docs_server,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from app import engine as engine_mod

    base, state, corpus = docs_server
    serving_before = state.engine.retriever
    before = names(base)

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(engine_mod, "build_store", disk_full)
    error = error_of(upload(base, "geneva.md", ARTICLE), 500)
    assert error["code"] == "indexing_failed" and "disk full" in error["message"] and "undone" in error["message"]
    assert not (corpus / "geneva.md").exists()
    assert state.engine.retriever is serving_before and names(base) == before
    assert httpx.post(f"{base}/v1/search", json={"query": "Biden"}).json()["data"]


def test_upload_needs_multipart(url: str) -> None:
    r = httpx.post(f"{url}/v1/documents", json={"file": "x"})
    assert error_of(r, 415)["code"] == "unsupported_media_type"
    no_file = httpx.post(f"{url}/v1/documents", files={"replace": (None, "true")})  # multipart, no file part
    assert "named 'file'" in error_of(no_file, 400)["message"]


# --------------------------------------------------------------------------- load


def test_full_queue_answers_429_and_a_disconnect_frees_the_model(engine: Engine) -> None:
    """One place in the queue: a slow streamed answer holds it; search, embeddings and extractive
    answers still go through; a second model answer is refused at once; hanging up frees the model."""
    with serving(engine, queue_size=1, delay=0.1) as (base, state):
        body = {"model": "default", "messages": ASK, "stream": True}
        with httpx.stream("POST", f"{base}/v1/chat/completions", json=body, timeout=30) as r:
            lines = r.iter_lines()
            while '"content": "' not in next(lines) or state.queue.admitted == 0:
                pass  # until the model is writing
            t0 = time.monotonic()
            refused = httpx.post(f"{base}/v1/chat/completions", json={**body, "stream": False})
            error = error_of(refused, 429)
            assert error["type"] == "rate_limit_error" and int(refused.headers["Retry-After"]) >= 1
            assert httpx.post(f"{base}/v1/search", json={"query": "NATO"}).status_code == 200
            assert httpx.post(f"{base}/v1/embeddings", json={"model": "e5", "input": "NATO"}).status_code == 200
            extractive = httpx.post(f"{base}/v1/chat/completions", json={**body, "model": "extractive",
                                                                         "stream": False})
            assert extractive.status_code == 200
            assert time.monotonic() - t0 < 3.0  # none of them waited for the answer (~6 s at this speed)
        hung_up = time.monotonic()
        while state.queue.admitted and time.monotonic() - hung_up < 5:
            time.sleep(0.02)
        assert state.queue.admitted == 0 and time.monotonic() - hung_up < 1.5
        with httpx.stream("POST", f"{base}/v1/chat/completions", json=body, timeout=30) as again:
            assert again.status_code == 200  # admitted: the place was given back


def test_queue_admits_up_to_capacity_and_estimates_the_wait() -> None:
    from rag.serve.queue import GenerationQueue, QueueFull

    queue = GenerationQueue(2, threading.Lock())
    first, second = queue.admit(), queue.admit()
    with pytest.raises(QueueFull) as full:
        queue.admit()
    assert full.value.status == 429 and int(full.value.headers["Retry-After"]) >= 1
    assert first.wait_turn(lambda: False)
    assert not second.wait_turn(lambda: True)  # its client left while the first held the model
    first.release()
    first.release()  # idempotent: a place is given back once
    second.release()
    assert queue.admitted == 0 and queue.admit()


def test_disconnect_while_waiting_gives_the_place_back(engine: Engine) -> None:
    with serving(engine, queue_size=2, delay=0.05) as (base, state):
        body = {"model": "default", "messages": ASK}
        first = threading.Thread(target=lambda: httpx.post(f"{base}/v1/chat/completions", json=body, timeout=30))
        first.start()
        while state.queue.admitted == 0:
            time.sleep(0.01)
        with pytest.raises(httpx.ReadTimeout):  # the second waits its turn, then gives up
            httpx.post(f"{base}/v1/chat/completions", json=body, timeout=0.5)
        deadline = time.monotonic() + 2
        while state.queue.admitted > 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert state.queue.admitted == 1  # only the first, still answering
        first.join()


# --------------------------------------------------------------------------- security


def test_api_key_guards_everything_but_health(engine: Engine) -> None:
    with serving(engine, api_key="s3cret-key") as (base, _):
        assert httpx.get(f"{base}/health").status_code == 200
        assert error_of(httpx.get(f"{base}/v1/models"), 401)["type"] == "authentication_error"
        error_of(httpx.get(f"{base}/v1/models", headers={"Authorization": "Bearer wrong"}), 401)
        error_of(httpx.get(f"{base}/v1/models", headers={"Authorization": "Basic s3cret-key"}), 401)
        error_of(httpx.post(f"{base}/v1/search", json={"query": "NATO"}), 401)
        error_of(httpx.get(f"{base}/v1/nothing-here"), 401)  # no probing of paths without the key
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{base}/v1", api_key="wrong", max_retries=0).models.list()
        good = openai.OpenAI(base_url=f"{base}/v1", api_key="s3cret-key", max_retries=0)
        assert good.chat.completions.create(model="extractive", messages=ASK).choices[0].message.content


def test_no_cors_headers_unless_asked(url: str, engine: Engine) -> None:
    origin = {"Origin": "http://evil.example"}
    assert "access-control-allow-origin" not in httpx.get(f"{url}/v1/models", headers=origin).headers
    with serving(engine, cors_origins=("http://app.example",)) as (base, _):
        r = httpx.options(f"{base}/v1/chat/completions", headers={
            "Origin": "http://app.example", "Access-Control-Request-Method": "POST"})
        assert r.headers["access-control-allow-origin"] == "http://app.example"


@pytest.mark.parametrize("host,key,ok", [("127.0.0.1", None, True), ("::1", None, True), ("localhost", None, True),
                                         ("0.0.0.0", None, False), ("192.168.1.5", None, False),
                                         ("0.0.0.0", "k", True)])
def test_only_loopback_without_a_key(host: str, key: str | None, ok: bool) -> None:
    assert (bind_problem(host, key) is None) is ok


def test_model_flag_picks_what_each_id_loads() -> None:
    from rag.serve.config import ServeConfig

    gguf = ServeConfig(model="/models/my.gguf")
    assert (gguf.preloaded_id, gguf.model_source("default"), gguf.model_source("small")) == (
        "default", "/models/my.gguf", "small")
    small = ServeConfig(model="small")
    assert (small.preloaded_id, small.model_source("small"), small.model_source("default")) == (
        "small", "small", "default")


def _cli_env(tmp_path: Path, corpus: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RAG_API_KEY"}
    env.update(RAG_APP_FAKE="1", RAG_STORE=str(tmp_path / "store"), RAG_CORPUS=str(corpus),
               PYTHONPATH=str(ROOT))
    return env


def test_cli_refuses_a_public_address_without_a_key(tmp_path: Path, corpus_copy: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "rag.cli", "serve", "--host", "0.0.0.0", "--port", str(free_port())],
                       env=_cli_env(tmp_path, corpus_copy), capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 2 and "API key" in r.stderr


def test_cli_help_explains_each_flag() -> None:
    r = subprocess.run([sys.executable, "-m", "rag.cli", "serve", "--help"], capture_output=True, text=True,
                       timeout=60, cwd=ROOT)
    for flag in ("--host", "--port", "--model", "--api-key", "RAG_API_KEY", "--queue-size", "--cors-origin"):
        assert flag in r.stdout


def test_rag_serve_command_answers_the_openai_client(tmp_path: Path, corpus_copy: Path) -> None:
    """The real command in a subprocess (fake models): loads, says ready, streams an answer."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port)], cwd=ROOT,
                            env=_cli_env(tmp_path, corpus_copy), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()
            try:
                if httpx.get(f"{base}/health").json()["status"] == "ready":
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not get ready"
            time.sleep(0.2)
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0, timeout=60)
        chunks = list(client.chat.completions.create(model="default", messages=ASK, stream=True))
        assert chunks[-1].choices[0].delta.model_extra["citations"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# --------------------------------------------------------------------------- real models

TWO_PATHS_LINES = {("000_c38ec739ece7500b.txt", 15), ("002_4a5474f8e966f72b.txt", 27),
                   ("002_4a5474f8e966f72b.txt", 29)}


@pytest.mark.slow
def test_real_model_streams_the_headline_answer_with_its_citations(real_retriever) -> None:
    """E5 + Qwen 1.5B behind the server; the openai client streams the answer and gets the cited lines."""
    from app.engine import LockedEmbedder, load_llm
    from rag.llm import ModelError
    from rag.retrieve import Retriever
    from rag.serve.app import create_app
    from rag.serve.config import ServeConfig
    from rag.serve.state import ServerState
    from tests.serve_support import running

    try:
        llm = load_llm("default", fake=False)
    except (ModelError, ImportError) as exc:
        pytest.skip(f"default model not installed: {exc}")
    retriever = Retriever(real_retriever.store, LockedEmbedder(real_retriever.embedder))
    engine = Engine(retriever, Path(real_retriever.store.path), SEEDS, fake=False)
    state = ServerState(ServeConfig(), engine=engine, llms={"default": llm})
    with running(create_app(state)) as base:
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0, timeout=300)
        chunks = list(client.chat.completions.create(model="default", messages=ASK, stream=True))
    final = chunks[-1].choices[0].delta.model_extra
    cited = {(c["source"], n) for c in final["citations"] for n in range(c["start_line"], c["end_line"] + 1)}
    assert not final["refused"], final["answer"]
    assert cited & TWO_PATHS_LINES, (final["answer"], cited)
    assert re.search(r"\[\d+\]", final["answer"])
    assert sum(1 for c in chunks if c.choices[0].delta.content) > 1  # streamed, not sent in one piece
