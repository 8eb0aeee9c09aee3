"""What benchmarks/bench_answer.py measures and how: the records of one question's two runs,
llama.cpp's own counters, the primed KV cache and the pipeline and raw runs themselves.

Both runs start from the same cache state (the prompt's fixed part primed) and the raw run gets
exactly the messages and sampling arguments the pipeline sent, captured on the way, so the
difference between them is the pipeline's own cost and nothing else.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

DUMMY_QUESTION = "-"


# --------------------------------------------------------------------------- records


@dataclass
class Run:
    """One timed generation: wall-clock seconds plus llama.cpp's own counters for that call."""

    first_token_s: float
    total_s: float
    prompt_eval_tokens: int = 0  # prompt tokens actually decoded (the rest came from the KV cache)
    prompt_eval_s: float = 0.0
    gen_tokens: int = 0
    gen_s: float = 0.0
    threads: int = 0
    text: str = ""
    first_line_s: float = math.nan  # the verified lead line on screen (pipeline only; raw has none)


@dataclass
class Result:
    """Both runs of one question; `raw` is None when the pipeline answered without the model."""

    id: str
    lang: str
    outcome: str  # "answered", "quoted" (draft rejected, lines quoted), "refused" (after a draft), "gate"
    pipeline: Run
    raw: Run | None = None
    retrieve_s: float = 0.0
    before_model_s: float = 0.0  # question in -> llama.cpp called
    after_model_s: float = 0.0  # last draft piece -> grounded Answer
    prompt_tokens: int = 0
    cached_tokens: int = 0
    answer: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def used_model(self) -> bool:
        return self.raw is not None


# --------------------------------------------------------------------------- pure helpers


def as_role_dicts(messages: Sequence[Any]) -> list[dict[str, str]]:
    """LangChain messages -> OpenAI-style {"role", "content"} dicts, exactly as the chat model sends them."""
    from rag.llama_chat import message_dict

    return [message_dict(m) for m in messages]


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the shared leading run of two token lists."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


# --------------------------------------------------------------------------- llama.cpp access


def reset_counters(llama: Any) -> None:
    """Zero llama.cpp's per-context timing counters (prompt eval / generation)."""
    import llama_cpp

    llama_cpp.llama_perf_context_reset(llama._ctx.ctx)


def read_counters(llama: Any, run: Run) -> Run:
    """Fill `run` with the counters since the last reset and the thread count in use."""
    import llama_cpp

    data = llama_cpp.llama_perf_context(llama._ctx.ctx)
    run.prompt_eval_tokens, run.prompt_eval_s = data.n_p_eval, data.t_p_eval_ms / 1000
    run.gen_tokens, run.gen_s = data.n_eval, data.t_eval_ms / 1000
    run.threads = llama_cpp.llama_n_threads(llama._ctx.ctx)
    return run


def set_threads(chat: Any) -> int:
    """Give the raw run the thread count the pipeline's chat model would pick now (load-aware)."""
    import llama_cpp

    from rag.llm import pick_threads

    n = pick_threads(chat.max_threads) if chat.adaptive_threads and chat.max_threads > 1 else chat.max_threads
    llama_cpp.llama_set_n_threads(chat.client._ctx.ctx, n, n)
    return n


def chat_tokens(llama: Any, messages: list[dict[str, str]]) -> list[int]:
    """Tokens of the chat-formatted prompt, rendered with the GGUF's own chat template."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    def special(token: int) -> str:
        return llama.detokenize([token], special=True).decode(errors="ignore") if token >= 0 else ""

    template = llama.metadata["tokenizer.chat_template"]
    formatter = Jinja2ChatFormatter(template, eos_token=special(llama.token_eos()),
                                    bos_token=special(llama.token_bos()))
    return llama.tokenize(formatter(messages=messages).prompt.encode(), add_bos=False, special=True)


def fixed_messages() -> list[dict[str, str]]:
    """The part of the answer prompt that is the same for every question (all but the last turn)."""
    from rag.prompt import build_prompt, prompt_inputs

    messages = build_prompt().format_messages(**prompt_inputs(DUMMY_QUESTION, [], "en"))
    return as_role_dicts(messages[:-1])


def prime(llama: Any, fixed: list[dict[str, str]]) -> None:
    """Leave exactly the fixed prefix (plus a dummy turn) in the KV cache: same start for every run."""
    llama.create_chat_completion(messages=[*fixed, {"role": "user", "content": DUMMY_QUESTION}],
                                 max_tokens=1, temperature=0.0, top_k=1)


@contextmanager
def capture_calls(llama: Any) -> Iterator[list[dict[str, Any]]]:
    """Record the arguments and call time of every create_chat_completion the pipeline makes."""
    calls: list[dict[str, Any]] = []
    original = llama.create_chat_completion

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append({"at": time.perf_counter(), "kwargs": dict(kwargs)})
        return original(*args, **kwargs)

    llama.create_chat_completion = recording
    try:
        yield calls
    finally:
        del llama.create_chat_completion  # back to the class method


# --------------------------------------------------------------------------- the two runs


def outcome_of(answer: Any, used_model: bool) -> str:
    """How the pipeline ended: model answer, quoted lines after a rejected draft, or a refusal."""
    from rag.languages import fallback

    if not used_model:
        return "gate"
    if answer.refused:
        return "refused"
    lead = fallback(answer.language).lead_in.split("{note}")[0]
    return "quoted" if answer.answer.startswith(lead) else "answered"


def run_pipeline(answerer: Any, question: str) -> tuple[Any, Run, dict[str, Any] | None, dict[str, float]]:
    """Answer through the pipeline: the Answer, its Run, the llama.cpp call (None if none) and step times."""
    from rag.types import Answer

    llama = answerer.llm.client
    reset_counters(llama)
    pieces: list[str] = []
    last_piece = answer = None
    start = time.perf_counter()
    with capture_calls(llama) as calls:
        for item in answerer.ask_stream(question):
            if isinstance(item, Answer):
                answer = item
            else:
                pieces.append(item)
                last_piece = time.perf_counter()
    done = time.perf_counter()
    assert answer is not None
    t = answer.timings
    run = read_counters(llama, Run(t["first_token_s"], t["total_s"], text="".join(pieces),
                                   first_line_s=t.get("first_line_s", math.nan)))
    call = calls[-1] if calls else None
    breakdown = {
        "before_model_s": call["at"] - start if call else math.nan,
        "after_model_s": done - last_piece if call and last_piece else math.nan,
    }
    return answer, run, call, breakdown


def run_raw(chat: Any, messages: list[dict[str, str]], params: dict[str, Any]) -> Run:
    """The same messages and sampling arguments straight through llama-cpp-python, streamed."""
    llama = chat.client
    set_threads(chat)
    reset_counters(llama)
    pieces: list[str] = []
    first = math.nan
    start = time.perf_counter()
    for chunk in llama.create_chat_completion(messages=messages, **{**params, "stream": True}):
        content = chunk["choices"][0]["delta"].get("content") if chunk["choices"] else None
        if content:
            if not pieces:
                first = time.perf_counter() - start
            pieces.append(content)
    total = time.perf_counter() - start
    return read_counters(llama, Run(first if pieces else total, total, text="".join(pieces)))


def bench_question(answerer: Any, item: Any, fixed: list[dict[str, str]]) -> Result:
    """Prime, run the pipeline; if it called the model, prime again and run raw llama.cpp on its prompt."""
    chat = answerer.llm
    llama = chat.client
    prime(llama, fixed)
    answer, pipe, call, breakdown = run_pipeline(answerer, item.question)
    result = Result(item.id, item.lang, outcome_of(answer, call is not None), pipe,
                    retrieve_s=answer.timings.get("retrieve_s", math.nan), answer=answer.answer, **breakdown)
    if call is None:
        return result
    params = {k: v for k, v in call["kwargs"].items() if k not in ("messages", "stream")}
    messages = call["kwargs"]["messages"]
    if messages[:-1] != fixed:
        result.extras["warning"] = "the pipeline's fixed prefix differs from the primed one"
    tokens = chat_tokens(llama, messages)
    result.prompt_tokens = len(tokens)
    primed = chat_tokens(llama, [*fixed, {"role": "user", "content": DUMMY_QUESTION}])
    result.cached_tokens = common_prefix(tokens, primed)
    result.extras["sampling"] = {k: params.get(k) for k in ("max_tokens", "temperature", "top_k", "top_p")}
    prime(llama, fixed)
    result.raw = run_raw(chat, messages, params)
    return result
