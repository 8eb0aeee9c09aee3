"""Benchmark the local LLM on RAG prompts: latency, throughput, prefix-cache gain, LangChain overhead.

Prompts are seed questions with 3 paragraphs picked from `seeds/` by word overlap (no retriever needed).
For each thread count it loads the model, then runs every prompt three ways on the same llama.cpp instance:
  cold  - KV cache cleared first, via the LangChain chain (prompt | LlamaCppChatModel | StrOutputParser)
  warm  - after a different question, so only the fixed system-message prefix can be reused
  raw   - warm again, but straight through llama_cpp.Llama.create_chat_completion(stream=True)
and prints Markdown tables. Timings on a shared 2-core machine are noisy: rerun before trusting small gaps.

    python benchmarks/bench_llm.py --threads 1,2 --runs 6
"""

from __future__ import annotations

import argparse
import gc
import re
import resource
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.stats import mean_or_nan, percentile_or_nan  # noqa: E402
from rag.generate import answer_chain, stream_answer  # noqa: E402
from rag.llm import _build_chat_model, resolve_model_path  # noqa: E402
from rag.prompt import build_prompt, prompt_inputs  # noqa: E402
from rag.types import Chunk, Passage  # noqa: E402

QUESTIONS: list[tuple[str, str]] = [
    ("Kiedy i gdzie odbędą się rozmowy o stabilności strategicznej?", "pl"),
    ("What two paths did Biden present to Putin?", "en"),
    ("Ce a declarat Lavrov despre discuțiile cu NATO din ianuarie?", "ro"),
    ("Jakie żądania przedstawiła Rosja 17 grudnia?", "pl"),
    ("What condition did Peskov set for talks between Putin and Biden?", "en"),
    ("Ile trwała rozmowa telefoniczna Bidena z Putinem?", "pl"),
    ("Co Putin odpowiedział w sprawie sankcji?", "pl"),
    ("What did Stoltenberg say about dialogue with Russia?", "en"),
]


# --------------------------------------------------------------------------- prompts from the seeds


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"\w+", text.lower()) if len(w) > 3}


def seed_passages(seeds: Path) -> list[Chunk]:
    """Every non-empty line of every seed file as a one-line chunk (seed paragraphs are single lines)."""
    chunks = []
    for path in sorted(seeds.glob("*.txt")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if len(line.strip()) > 40:
                chunks.append(Chunk(source=path.name, start_line=number, end_line=number, text=line.strip()))
    return chunks


def pick_passages(question: str, chunks: list[Chunk], k: int) -> list[Passage]:
    """Crude keyword retrieval: enough to make prompts that look like the real ones."""
    q = _stems(question)
    ranked = sorted(chunks, key=lambda c: len(q & _stems(c.text)), reverse=True)[:k]
    return [Passage(chunk=c, score=float(len(q & _stems(c.text)))) for c in ranked]


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    ttft: float
    total: float
    out_tokens: int
    prompt_tokens: int
    evaluated: int  # prompt tokens actually decoded (the rest came from the KV cache)
    text: str = ""


@dataclass
class Series:
    runs: list[Run] = field(default_factory=list)

    def pct(self, attr: str, p: float) -> float:
        """The p-th percentile (0-100) of one field over the runs, interpolated as everywhere (evals.stats)."""
        return percentile_or_nan([getattr(r, attr) for r in self.runs], p)

    def mean(self, attr: str) -> float:
        return mean_or_nan(getattr(r, attr) for r in self.runs)


def _perf(llama) -> tuple[int, float, int, float]:
    """(prompt tokens decoded, their ms, generated tokens, their ms) since the last reset."""
    import llama_cpp

    data = llama_cpp.llama_perf_context(llama._ctx.ctx)
    return data.n_p_eval, data.t_p_eval_ms, data.n_eval, data.t_eval_ms


def _reset_perf(llama) -> None:
    import llama_cpp

    llama_cpp.llama_perf_context_reset(llama._ctx.ctx)


def timed_stream(pieces: Iterator[str]) -> tuple[float, float, str]:
    """Seconds to the first non-empty piece, seconds in total, and the text."""
    start = time.perf_counter()
    first = 0.0
    text = []
    for piece in pieces:
        if piece and not first:
            first = time.perf_counter() - start
        text.append(piece)
    return first, time.perf_counter() - start, "".join(text)


def measure(llama, run: Callable[[], Iterator[str]], prompt_tokens: int) -> tuple[Run, tuple[float, float]]:
    _reset_perf(llama)
    ttft, total, text = timed_stream(run())
    n_p, t_p, n_g, t_g = _perf(llama)
    out_tokens = len(llama.tokenize(text.encode(), add_bos=False, special=False)) if text else 0
    return Run(ttft, total, out_tokens, prompt_tokens, n_p, text), (
        n_p / max(t_p, 1e-9) * 1000,
        n_g / max(t_g, 1e-9) * 1000,
    )


def raw_stream(llama, messages: list[dict], max_tokens: int) -> Iterator[str]:
    """The baseline: llama-cpp-python's own chat completion with the same sampling settings."""
    for chunk in llama.create_chat_completion(
        messages=messages,
        stream=True,
        max_tokens=max_tokens,
        temperature=0.0,
        top_k=1,
        top_p=1.0,
        repeat_penalty=1.0,
    ):
        delta = chunk["choices"][0]["delta"]
        yield delta.get("content") or ""


def as_dicts(inputs: dict) -> list[dict]:
    role = {"system": "system", "human": "user", "ai": "assistant"}
    return [{"role": role[m.type], "content": m.content} for m in build_prompt().invoke(inputs).to_messages()]


def count_prompt_tokens(llama, messages: list[dict]) -> int:
    """Tokens of the chat-formatted prompt, via the model's own template."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llama.metadata["tokenizer.chat_template"]
    eos = llama.detokenize([llama.token_eos()]).decode(errors="ignore")
    bos = llama.detokenize([llama.token_bos()]).decode(errors="ignore") if llama.token_bos() >= 0 else ""
    prompt = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)(messages=messages).prompt
    return len(llama.tokenize(prompt.encode(), add_bos=False, special=True))


def rss_mb() -> float:
    """Current resident set size (mmap'd weights count once touched)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


# --------------------------------------------------------------------------- one thread count


def bench_threads(path: Path, threads: int | None, prompts: list[dict], args: argparse.Namespace) -> dict:
    """Load the model with `threads` (None = adaptive) and run every prompt cold, warm and raw."""
    gc.collect()
    t0 = time.perf_counter()
    chat = _build_chat_model(path, threads, args.n_ctx, args.max_tokens)
    load_s = time.perf_counter() - t0
    llama = chat.client
    chain = answer_chain(chat)
    msgs = [as_dicts(p) for p in prompts]
    ptoks = [count_prompt_tokens(llama, m) for m in msgs]

    def via_chain(i: int) -> Iterator[str]:
        return stream_answer(chain, prompts[i])

    def via_raw(i: int) -> Iterator[str]:
        return raw_stream(llama, msgs[i], args.max_tokens)

    series = {"cold": Series(), "warm": Series(), "raw": Series()}
    speeds: list[tuple[float, float]] = []
    label = threads or "auto"
    for i in range(len(prompts)):  # cold: nothing reusable in the KV cache
        llama.reset()
        run, speed = measure(llama, lambda i=i: via_chain(i), ptoks[i])
        series["cold"].runs.append(run)
        speeds.append(speed)
        _progress(f"t={label} cold {i + 1}/{len(prompts)} ttft={run.ttft:.2f}s eval={run.evaluated}")
    for name, call in (("warm", via_chain), ("raw", via_raw)):
        llama.reset()
        list(via_chain(len(prompts) - 1))  # leave a different question in the cache
        for i in range(len(prompts)):
            run, _ = measure(llama, lambda i=i, call=call: call(i), ptoks[i])
            series[name].runs.append(run)
            _progress(f"t={label} {name} {i + 1}/{len(prompts)} ttft={run.ttft:.2f}s eval={run.evaluated}")
    return {
        "threads": label,
        "load_s": load_s,
        "rss_mb": rss_mb(),
        "series": series,
        "prompt_tps": percentile_or_nan([s[0] for s in speeds], 50),
        "gen_tps": percentile_or_nan([s[1] for s in speeds], 50),
        "sample": series["warm"].runs[0].text,
    }


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- report


def report(results: list[dict], prompts_n: int, args: argparse.Namespace, assemble_s: float) -> str:
    head = [
        "threads", "load s", "RSS MB", "prompt tok/s", "gen tok/s", "prompt tok p50",
        "cold TTFT p50/p95", "warm TTFT p50/p95", "raw TTFT p50/p95",
        "cold total p50/p95", "warm total p50/p95", "raw total p50/p95",
        "reused prefix tok", "LC overhead (total)",
    ]  # fmt: skip
    lines = [
        f"model `{args.model}`, {prompts_n} prompts x 3 modes, max_tokens={args.max_tokens}, "
        f"n_ctx={args.n_ctx}, model file ready in {assemble_s:.2f}s",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---:|" * len(head),
    ]
    for r in results:
        s = r["series"]

        def cell(name: str, attr: str, s: dict = s) -> str:
            return f"{s[name].pct(attr, 50):.2f} / {s[name].pct(attr, 95):.2f}"

        reused = percentile_or_nan([w.prompt_tokens - w.evaluated for w in s["warm"].runs], 50)
        overhead = s["warm"].mean("total") - s["raw"].mean("total")
        row = [
            str(r["threads"]), f"{r['load_s']:.2f}", f"{r['rss_mb']:.0f}",
            f"{r['prompt_tps']:.1f}", f"{r['gen_tps']:.1f}", f"{s['cold'].pct('prompt_tokens', 50):.0f}",
            cell("cold", "ttft"), cell("warm", "ttft"), cell("raw", "ttft"),
            cell("cold", "total"), cell("warm", "total"), cell("raw", "total"),
            f"{reused:.0f}", f"{overhead:+.2f}s",
        ]  # fmt: skip
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Sample answer (warm, first prompt):", "", "> " + results[0]["sample"].replace("\n", " ")]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default", help="'default', 'small' or a path to a .gguf file")
    ap.add_argument(
        "--threads",
        default="2",
        help="comma-separated thread counts to try, e.g. 1,2,auto (auto: 1 or 2 per call, by load)",
    )
    ap.add_argument("--runs", type=int, default=4, help=f"number of prompts (max {len(QUESTIONS)})")
    ap.add_argument("--passages", type=int, default=3, help="retrieved paragraphs per prompt")
    ap.add_argument("--max-tokens", type=int, default=96, help="generation cap per answer")
    ap.add_argument("--n-ctx", type=int, default=4096)
    ap.add_argument("--seeds", type=Path, default=ROOT / "seeds")
    ap.add_argument("--out", type=Path, help="also write the Markdown report here")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    path = resolve_model_path(args.model)
    assemble_s = time.perf_counter() - t0
    chunks = seed_passages(args.seeds)
    prompts = [
        prompt_inputs(q, pick_passages(q, chunks, args.passages), lang)
        for q, lang in QUESTIONS[: max(1, args.runs)]
    ]
    counts = [None if t.strip() == "auto" else int(t) for t in args.threads.split(",")]
    results = [bench_threads(path, t, prompts, args) for t in counts]
    text = report(results, len(prompts), args, assemble_s)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
