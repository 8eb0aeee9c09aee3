"""Answer latency over the evaluation questions: the full pipeline against raw llama.cpp on the same prompt.

For every question (split "dev" by default, from evals/qa.jsonl) the script runs twice on one
loaded model:

  pipeline  Answerer.ask_stream: validate, retrieve, score evidence, build the prompt, stream the
            draft through the LangChain chat model (rag.llama_chat), ground it. Times come from Answer.timings.
  raw       llama_cpp.Llama.create_chat_completion(stream=True) with exactly the messages and
            sampling arguments the pipeline passed to llama.cpp (captured on the way, not rebuilt).

Fairness: before each of the two runs the KV cache is primed with a one-token completion of the
prompt's fixed part (system message and worked examples) plus a dummy user turn, so both runs
start with exactly that prefix cached, as after any earlier question in the app. Questions the
pipeline answers without the model (the evidence gate refuses them) have no raw run; they are
counted and timed separately. Overhead = pipeline minus raw, per question, then p50/p95.

Targets (issue): first token <= 2.5 s, total answer time p50 <= 8 s.
The machine has 2 cores and load from other processes changes timings: note the load average
printed with the report, and rerun before trusting small differences.

    python benchmarks/bench_answer.py                         # all dev questions, default model
    python benchmarks/bench_answer.py --limit 3 --model small
    python benchmarks/bench_answer.py --out evals/results/latency.md --json evals/results/latency.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIRST_TOKEN_TARGET_S = 2.5
TOTAL_P50_TARGET_S = 8.0
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


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between ranks; NaN for no values."""
    data = sorted(values)
    if not data:
        return math.nan
    pos = (len(data) - 1) * min(max(q, 0.0), 100.0) / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def fmt_s(value: float, signed: bool = False) -> str:
    """Seconds with two decimals, '-' for NaN."""
    if math.isnan(value):
        return "-"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def fmt_n(value: float, decimals: int = 0) -> str:
    """A number with fixed decimals, '-' for NaN."""
    return "-" if math.isnan(value) else f"{value:.{decimals}f}"


def rate(tokens: float, seconds: float) -> float:
    """Tokens per second, NaN when nothing was timed."""
    return tokens / seconds if seconds > 0 else math.nan


def latency_row(label: str, first: Sequence[float], total: Sequence[float], signed: bool = False,
                line: Sequence[float] = ()) -> str:
    """One Markdown table row: label, n, first-line p50/p95, first-token p50/p95, total p50/p95."""
    lines = [v for v in line if not math.isnan(v)]
    cells = [percentile(lines, 50) if lines else math.nan, percentile(lines, 95) if lines else math.nan,
             percentile(first, 50), percentile(first, 95), percentile(total, 50), percentile(total, 95)]
    return f"| {label} | {len(total)} | " + " | ".join(fmt_s(c, signed) for c in cells) + " |"


def latency_table(pipeline: Sequence[Run], raw: Sequence[Run]) -> list[str]:
    """Markdown rows for pipeline, raw llama.cpp and the paired per-question overhead."""
    pairs = list(zip(pipeline, raw, strict=True))
    return [
        "| run | n | first verified line p50 | p95 | first token p50 | first token p95 | total p50 | total p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        latency_row("pipeline", [p.first_token_s for p in pipeline], [p.total_s for p in pipeline],
                    line=[p.first_line_s for p in pipeline]),
        latency_row("raw llama.cpp", [r.first_token_s for r in raw], [r.total_s for r in raw]),
        latency_row("overhead (pipeline - raw)", [p.first_token_s - r.first_token_s for p, r in pairs],
                    [p.total_s - r.total_s for p, r in pairs], signed=True),
    ]


def verdict(value: float, target: float) -> str:
    """'met' / 'NOT met' for value <= target; 'n/a' without data."""
    if math.isnan(value):
        return "n/a"
    return "met" if value <= target else "NOT met"


def target_lines(first: Sequence[float], total: Sequence[float]) -> list[str]:
    """The issue's targets against the pipeline figures (first token judged at p50, p95 shown too)."""
    f50, f95, t50 = percentile(first, 50), percentile(first, 95), percentile(total, 50)
    return [
        f"- first token <= {FIRST_TOKEN_TARGET_S} s: p50 {fmt_s(f50)} s "
        f"**{verdict(f50, FIRST_TOKEN_TARGET_S)}**"
        f" (p95 {fmt_s(f95)} s {verdict(f95, FIRST_TOKEN_TARGET_S)})",
        f"- total p50 <= {TOTAL_P50_TARGET_S} s: {fmt_s(t50)} s **{verdict(t50, TOTAL_P50_TARGET_S)}**",
    ]


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def threads_label(runs: Sequence[Run]) -> str:
    """'2' when every run used 2 threads, '1-2' when load made the adaptive count vary."""
    seen = sorted({r.threads for r in runs if r.threads})
    if not seen:
        return "-"
    return str(seen[0]) if len(seen) == 1 else f"{seen[0]}-{seen[-1]}"


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


# --------------------------------------------------------------------------- report


def p50(values: Sequence[float]) -> str:
    return fmt_s(percentile(values, 50))


def outcome_lines(results: Sequence[Result]) -> list[str]:
    """How questions ended, the no-model answers' latency and where the pipeline's own time goes."""
    counts = {o: sum(r.outcome == o for r in results) for o in ("answered", "quoted", "refused", "gate")}
    gate = [r.pipeline.total_s for r in results if not r.used_model]
    model_runs = [r for r in results if r.used_model]
    return [
        "Outcomes: " + ", ".join(f"{k} {v}" for k, v in counts.items())
        + " (quoted: grounding rejected the draft and quoted the best lines; its model time is in the table)",
        f"- answered without the model (evidence gate): {len(gate)}, total p50 {p50(gate)} s, "
        f"max {fmt_s(max(gate, default=math.nan))} s",
        f"- pipeline steps, p50: retrieve {p50([r.retrieve_s for r in model_runs])} s, "
        f"question -> llama.cpp call {p50([r.before_model_s for r in model_runs])} s, "
        f"last token -> grounded answer {p50([r.after_model_s for r in model_runs])} s",
    ]


def token_lines(results: Sequence[Result], pipe: Sequence[Run], raw: Sequence[Run]) -> list[str]:
    """Prompt size, prompt-reading and generation speed from llama.cpp's counters, and a same-text check."""

    def speed(runs: Sequence[Run], kind: str) -> str:
        tokens = sum(getattr(r, f"{kind}_tokens") for r in runs)
        return fmt_n(rate(tokens, sum(getattr(r, f"{kind}_s") for r in runs)), 1)

    model_runs = [r for r in results if r.used_model]
    same = sum(p.text == r.text for p, r in zip(pipe, raw))
    return [
        f"- prompt tokens, mean: {fmt_n(mean([r.prompt_tokens for r in model_runs]))} "
        f"(cached prefix {fmt_n(mean([r.cached_tokens for r in model_runs]))}; read per question: "
        f"pipeline {fmt_n(mean([p.prompt_eval_tokens for p in pipe]))}, "
        f"raw {fmt_n(mean([r.prompt_eval_tokens for r in raw]))})",
        f"- prompt reading: pipeline {speed(pipe, 'prompt_eval')} tok/s, "
        f"raw {speed(raw, 'prompt_eval')} tok/s",
        f"- generation: pipeline {speed(pipe, 'gen')} tok/s, raw {speed(raw, 'gen')} tok/s; "
        f"mean {fmt_n(mean([p.gen_tokens for p in pipe]))} tokens per answer; "
        f"same draft text in both runs: {same}/{len(raw)}",
    ]


def setup_lines(results: Sequence[Result], pipe: Sequence[Run], raw: Sequence[Run],
                meta: dict[str, Any]) -> list[str]:
    """Sampling, threads, machine load, model load time and memory."""
    sampling = next((r.extras["sampling"] for r in results if "sampling" in r.extras), {})
    return [
        f"- sampling: {', '.join(f'{k}={v}' for k, v in sampling.items()) or '-'}",
        f"- threads: pipeline {threads_label(pipe)}, raw {threads_label(raw)} ({meta['threads_mode']}); "
        f"load average {meta['load_before']} before, {meta['load_after']} after",
        f"- model load {meta['load_s']:.1f} s; peak RSS {meta['peak_rss_mb']:.0f} MB; "
        f"wall time {meta['wall_s']:.0f} s",
    ]


def report(results: list[Result], meta: dict[str, Any]) -> str:
    """The Markdown report: latency table, targets, questions without the model, throughput, resources."""
    model_runs = [r for r in results if r.used_model]
    pipe = [r.pipeline for r in model_runs]
    raw = [r.raw for r in model_runs if r.raw is not None]
    lines = [
        f"## Answer latency: {meta['split']} questions, model `{meta['model_file']}`",
        "",
        f"{len(results)} questions; {len(model_runs)} went to the model (table), "
        f"{len(results) - len(model_runs)} were refused by the evidence gate without it. Seconds; both runs "
        "start with only the prompt's fixed part cached; overhead is per-question pipeline minus raw, "
        "then p50/p95.",
        "",
        *latency_table(pipe, raw),
        "",
        "Targets (pipeline, questions that went to the model):",
        *target_lines([p.first_token_s for p in pipe], [p.total_s for p in pipe]),
        "",
        *outcome_lines(results),
        *token_lines(results, pipe, raw),
        *setup_lines(results, pipe, raw, meta),
    ]
    warnings = sorted({r.extras["warning"] for r in results if "warning" in r.extras})
    return "\n".join(lines + [f"- WARNING: {w}" for w in warnings])


def json_safe(value: Any) -> Any:
    """NaN -> None recursively, so the JSON file stays strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def peak_rss_mb() -> float:
    """Peak resident set size of this process (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default", help="'default', 'small' or a path to a .gguf file")
    ap.add_argument("--split", default="dev", choices=("dev", "test", "all"),
                    help="which questions of evals/qa.jsonl (default: dev)")
    ap.add_argument("--limit", type=int, help="only the first N questions of the split")
    ap.add_argument("--threads", type=int, help="fixed llama.cpp threads for both runs (default: load-aware, "
                    "as the app)")
    ap.add_argument("--out", type=Path, help="also write the Markdown report to this file")
    ap.add_argument("--json", type=Path, help="write per-question figures to this JSON file")
    return ap.parse_args(argv)


def load_answerer(model: str, threads: int | None) -> Any:
    """The pipeline as the app builds it; `threads` pins the chat model's thread count."""
    from rag.answer import Answerer

    answerer = Answerer.load(model)
    if threads:
        answerer.llm.adaptive_threads = False
        answerer.llm.max_threads = threads
    return answerer


def threads_mode(fixed: int | None, limit: int) -> str:
    return f"fixed {fixed}" if fixed else f"adaptive, <= {limit}"


def warm_up(answerer: Any, question: str) -> None:
    """One-time costs out of the timings: corpus vocabulary, embedder and index pages (no model call)."""
    answerer.ask(question, mode="extractive")


def run_all(answerer: Any, items: list[Any], on_result: Callable[[Result], None]) -> list[Result]:
    """Benchmark every item in order, reporting each result as it arrives."""
    fixed = fixed_messages()
    results = []
    for item in items:
        result = bench_question(answerer, item, fixed)
        results.append(result)
        on_result(result)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tqdm import tqdm

    from rag import settings
    from rag.evaluate import load_qa

    settings.set_offline()
    items = load_qa(split=args.split, limit=args.limit)
    if not items:
        print(f"no questions in split {args.split!r}", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    answerer = load_answerer(args.model, args.threads)
    load_s = time.perf_counter() - t0
    warm_up(answerer, items[0].question)
    load_before = load_average()
    bar = tqdm(total=len(items), desc="questions", unit="q", file=sys.stderr)

    def progress(r: Result) -> None:
        raw = f"{r.raw.first_token_s:.1f}/{r.raw.total_s:.1f}s" if r.raw else "-"
        pipe = f"{r.pipeline.first_token_s:.1f}/{r.pipeline.total_s:.1f}s"
        bar.set_postfix_str(f"{r.id} {r.outcome} pipeline {pipe} raw {raw}")
        bar.update()

    results = run_all(answerer, items, progress)
    bar.close()
    meta = {
        "split": args.split, "model_file": Path(answerer.llm.model_path).name, "load_s": load_s,
        "threads_mode": threads_mode(args.threads, answerer.llm.max_threads),
        "load_before": load_before, "load_after": load_average(), "peak_rss_mb": peak_rss_mb(),
        "wall_s": time.perf_counter() - t0,
    }
    text = report(results, meta)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = json_safe({"meta": meta, "questions": [asdict(r) for r in results]})
        text_json = json.dumps(payload, indent=1, ensure_ascii=False, allow_nan=False)
        args.json.write_text(text_json + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
