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
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_answer_measure import Result, bench_question, fixed_messages  # noqa: E402
from bench_answer_report import json_safe, report  # noqa: E402

# --------------------------------------------------------------------------- machine


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

    from evals.dataset import load_qa
    from rag import settings

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
