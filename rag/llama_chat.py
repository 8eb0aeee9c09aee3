"""A LangChain chat model over llama-cpp-python: streaming, stop strings, GBNF grammars, load-aware threads.

Owned here on langchain-core's BaseChatModel rather than taken from langchain-community (being
sunset) so that its defaults, its locking and its thread policy are ours. Defaults chosen for
grounded answers: greedy decoding (same input, same answer), no repeat penalty (it would
discourage repeating "[1]"), rope settings read from the GGUF (an explicit rope_freq_base=10000,
as langchain-community set it, turns Qwen2.5's answers to nonsense: it needs 1e6), a 512-token
prompt batch. flash_attn stays off: +11 % prompt speed on a bare 325-token prompt, but none behind
the cached 639-token prefix (benchmarks/bench_answer.py).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage, ChatMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr, model_validator

from rag import settings, threads
from rag.gguf import ModelError

HELPER_CTX = 2048  # side tasks see a few turns of conversation, never the sources
HELPER_MAX_TOKENS = 64
RECHECK_EVERY = 8  # tokens between load checks while generating with more than one thread

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}
_HELPER_LOCK = threading.Lock()


@functools.lru_cache(maxsize=16)
def compiled_grammar(gbnf: str) -> Any:
    """A GBNF grammar compiled by llama.cpp once per text (parsing it on every call costs ~ms)."""
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(gbnf, verbose=False)


def message_dict(message: BaseMessage) -> dict[str, Any]:
    """A LangChain message as the OpenAI-style dict that llama.cpp's chat templates read."""
    role = message.role if isinstance(message, ChatMessage) else _ROLES.get(message.type, message.type)
    content = message.content
    if isinstance(content, list):  # content blocks: this model reads text only
        content = "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content)
    return {"role": role, "content": content}


class LlamaCppChatModel(BaseChatModel):
    """One llama.cpp context as a chat model; calls queue on a lock (a context holds one KV cache).

    Per call, `max_tokens`, `temperature`, `stop` and `grammar` (GBNF text, or a compiled
    llama_cpp.LlamaGrammar) may be given to invoke/stream or bound with `.bind(...)`.
    """

    model_path: str
    client: Any = None  # the llama_cpp.Llama; built from model_path unless given
    n_ctx: int = 4096
    n_batch: int = 512
    max_threads: int = threads.DEFAULT_THREADS
    adaptive_threads: bool = True  # per call between 1 and max_threads, after the machine's load
    max_tokens: int = 256
    temperature: float = 0.0
    top_k: int = 1
    top_p: float = 1.0
    repeat_penalty: float = 1.0
    stop: list[str] | None = None
    grammar: str | None = None  # a default GBNF grammar for every call
    model_kwargs: dict[str, Any] = {}  # more llama_cpp.Llama arguments, e.g. flash_attn
    verbose: bool = False

    _call_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _helper: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _load_client(self) -> LlamaCppChatModel:
        if self.client is None:
            self.client = self._new_llama()
        return self

    def _new_llama(self) -> Any:
        from llama_cpp import Llama

        params = {
            "n_ctx": self.n_ctx,
            "n_batch": self.n_batch,
            "n_threads": self.max_threads,
            "n_threads_batch": self.max_threads,
            "rope_freq_base": 0.0,  # 0 = from the GGUF
            "rope_freq_scale": 0.0,
            "verbose": self.verbose,
            **self.model_kwargs,
        }
        try:
            return Llama(model_path=self.model_path, **params)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"could not load {self.model_path}: {exc}") from exc

    @property
    def _llm_type(self) -> str:
        return "rag-llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx, **self._sampling()}

    def _sampling(self) -> dict[str, Any]:
        return {"max_tokens": self.max_tokens, "temperature": self.temperature, "top_k": self.top_k,
                "top_p": self.top_p, "repeat_penalty": self.repeat_penalty}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "llama-cpp"
        params["ls_model_name"] = kwargs.get("model") or Path(self.model_path).name
        return params

    def _call_params(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        """create_chat_completion's arguments: the defaults, then what this call asked for."""
        params = {**self._sampling(), "stop": stop or self.stop or [], **kwargs}
        grammar = params.pop("grammar", None) or self.grammar
        if grammar is not None:
            params["grammar"] = compiled_grammar(grammar) if isinstance(grammar, str) else grammar
        return params

    # -- generation --------------------------------------------------------------------------------

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop=stop, run_manager=run_manager, **kwargs))

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        params = self._call_params(stop, kwargs)
        with self._call_lock:  # two browser tabs must queue: one context, one KV cache
            n = self._set_threads(self._threads_for_call())
            parts = self.client.create_chat_completion(
                messages=[message_dict(m) for m in messages], stream=True, **params
            )
            for i, part in enumerate(parts):
                chunk = _chunk(part)
                if chunk is None:
                    continue
                if run_manager is not None:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
                n = self._step_down(n, i)

    def _threads_for_call(self) -> int:
        if self.adaptive_threads and self.max_threads > 1:
            return threads.pick_threads(self.max_threads)
        return self.max_threads

    def _step_down(self, n: int, token_index: int) -> int:
        """Load that starts mid-answer would stall a multi-thread decode: drop threads at once."""
        if n > 1 and self.adaptive_threads and token_index % RECHECK_EVERY == RECHECK_EVERY - 1:
            fewer = threads.pick_threads(n, samples=1)
            if fewer < n:
                return self._set_threads(fewer)
        return n

    def _set_threads(self, n: int) -> int:
        import llama_cpp

        llama_cpp.llama_set_n_threads(self.client._ctx.ctx, n, n)
        return n

    # -- the prompt prefix on disk (rag.prefix_cache) -------------------------------------------------

    def restore_prefix(self, path: Path) -> int:
        """Load a saved prompt prefix; tokens restored, 0 when unusable."""
        from rag import prefix_cache

        with self._call_lock:
            return prefix_cache.load(self.client, path)

    def save_prefix(self, path: Path) -> bool:
        """Save what the context holds now (right after a warm-up: the fixed prompt prefix)."""
        from rag import prefix_cache

        with self._call_lock:
            return prefix_cache.save(self.client, path)

    def prefix_state_path(self, prompt_text: str) -> Path:
        from rag import prefix_cache
        from rag.gguf import models_dir

        # The context's settings are part of the key: with flash attention the V cache is laid out
        # differently, and llama.cpp refuses a state saved under the other layout.
        context = f"n_ctx={self.n_ctx} flash_attn={bool(self.model_kwargs.get('flash_attn'))}"
        return prefix_cache.state_path(models_dir(), Path(self.model_path), context, prompt_text)

    def helper_model(self) -> BaseChatModel:
        """A second context on the same weights for short side tasks (follow-up rewriting, translation).

        One context caches one prompt prefix; a side task with its own prompt would evict the
        answer prompt's cached system message and then its own, costing ~20 s per follow-up on one
        core. Two contexts keep both warm for ~0.7 GB more memory. RAG_LLM_HELPER=0 turns it off.
        """
        if not settings.current().llm_helper:
            return self
        with _HELPER_LOCK:
            if self._helper is None:
                self._helper = type(self)(
                    model_path=self.model_path, n_ctx=HELPER_CTX, max_tokens=HELPER_MAX_TOKENS,
                    n_batch=self.n_batch, max_threads=self.max_threads, adaptive_threads=self.adaptive_threads,
                    model_kwargs=self.model_kwargs, verbose=self.verbose,
                )
            return self._helper


def _chunk(part: dict[str, Any]) -> ChatGenerationChunk | None:
    """One streamed completion part as a LangChain chunk (None for parts without a choice)."""
    if not part.get("choices"):
        return None
    choice = part["choices"][0]
    delta = choice.get("delta") or {}
    finish = choice.get("finish_reason")
    return ChatGenerationChunk(
        message=AIMessageChunk(content=delta.get("content") or ""),
        generation_info={"finish_reason": finish} if finish else None,
    )
