"""`rag eval`: argument parsing and wiring; the run itself is evals.runner, the files evals.report.

    python -m evals.cli --help        # the same command without the `rag` wrapper
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evals import loaders
from evals.dataset import QA_PATH, SPLITS, load_qa
from evals.report import render_summary_line, write_outputs
from evals.runner import plan_configs, run_evaluation
from rag.settings import PROJECT_ROOT

DEFAULT_OUT = PROJECT_ROOT / "evals" / "results"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag eval",
        description="Score retrieval and answers on the hand-written question set (evals/qa.jsonl).\n"
                    "Retrieval configs are the retriever modes (keyword, dense, hybrid, ...);\n"
                    "answer configs are 'llm', 'extractive' and 'naive' (the plain LangChain chain),\n"
                    "and 'lead' (the verified lead line alone) when named. Writes results.json,\n"
                    "report.md and chart.png; see evals/README.md for what each figure means.",
        epilog="examples:\n  rag eval --retrieval-only --split dev\n"
               "  rag eval --configs hybrid,extractive --limit 10\n  rag eval --model small --out /tmp/eval",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--retrieval-only", action="store_true", help="skip the answer configs (no LLM needed)")
    parser.add_argument("--configs", help="comma list of configs to run, e.g. 'keyword,hybrid,extractive' "
                                          "(default: every retriever mode plus llm, extractive and naive)")
    parser.add_argument("--k", type=int, default=5, help="passages per question for recall@k and answering (default 5)")
    parser.add_argument("--limit", type=int, help="evaluate only the first N questions of the split")
    parser.add_argument("--split", choices=SPLITS, default="dev",
                        help="which questions: calibrate on dev, report on test (default dev)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default evals/results/ in the project)")
    parser.add_argument("--model", default="default", help="LLM for the 'llm' config: small, default or a GGUF path")
    parser.add_argument("--qa", type=Path, default=QA_PATH, help="question set (default evals/qa.jsonl)")
    parser.add_argument("--store", type=Path, help="index folder (default: the seeds index, built if missing)")
    parser.add_argument("--corpus", type=Path, help="corpus folder the --qa set is about (default seeds/); "
                                                    "its index goes to vectorstore/eval-<folder> unless --store")
    parser.add_argument("--answer-retrieval", default="hybrid", help="retriever mode used by the answer configs")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.k < 1:
        print("rag eval: --k must be at least 1", file=sys.stderr)
        return 2
    items = load_qa(args.qa, args.split, args.limit)
    if not items:
        print(f"rag eval: no questions in {args.qa} for split '{args.split}'", file=sys.stderr)
        return 2
    retriever = loaders.load_retriever(args.store, args.corpus)
    modes = list(retriever.MODES)
    requested = [c.strip() for c in args.configs.split(",") if c.strip()] if args.configs else None
    try:
        plan = plan_configs(requested, modes, args.retrieval_only)
    except ValueError as exc:
        print(f"rag eval: {exc}", file=sys.stderr)
        return 2
    results = run_evaluation(items, retriever, plan, args.k, loaders.make_answerer_factory(retriever, args.model),
                             answer_retrieval_mode=args.answer_retrieval, progress=not args.no_progress,
                             meta={"split": args.split, "model": args.model if plan.answer_modes else None,
                                   "qa": str(args.qa), "limit": args.limit,
                                   "corpus": str(args.corpus or "seeds")})
    paths = write_outputs(results, args.out)
    print(render_summary_line(results))
    print(f"rag eval: wrote {paths['json']}, {paths['report']}, {paths['chart']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
