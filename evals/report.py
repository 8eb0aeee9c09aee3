"""The written results of a run: results.json, report.md (Markdown tables) and chart.png, plus the
one-line-per-config summary a terminal run prints.

Everything here reads the results document `evals.runner.run_evaluation` returns; nothing is
recomputed, so the report and the JSON cannot disagree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RETRIEVAL_COLUMNS = ["hit@1", "hit@3", "hit@5", "mrr@10", "ndcg@10", "recall@{k}"]
ANSWER_COLUMNS = [
    ("key_facts", "key facts"), ("all_facts", "all facts"), ("f1", "F1"), ("lang_match", "lang ok"),
    ("citation_precision", "cite P"), ("citation_recall", "cite R"),
    ("unretrieved_citation_rate", "unretr. cites"), ("refusal_precision", "refusal P"),
    ("refusal_recall", "refusal R"), ("false_refusal_rate", "false refusals"),
    ("total_s_p50", "total p50 s"), ("total_s_p95", "total p95 s"),
    ("first_token_s_p50", "1st tok p50 s"), ("first_token_s_p95", "1st tok p95 s"),
]


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return lines


def render_report(results: dict[str, Any]) -> str:
    """Markdown: run facts, one summary table per kind, then a per-language table per config."""
    meta = results["meta"]
    k = meta["k"]
    rcols = [c.format(k=k) for c in RETRIEVAL_COLUMNS]
    out = [f"# Evaluation report — {meta['date']}", "",
           f"Run time {meta['duration_s']} s · {meta['n_questions']} questions "
           f"({meta['n_answerable']} answerable) · split `{meta.get('split', 'all')}` · k={k} · "
           f"languages {', '.join(f'{l}={n}' for l, n in meta['langs'].items())}"
           + (f" · model `{meta['model']}`" if meta.get("model") else ""), ""]
    for name, reason in meta.get("skipped", {}).items():
        out.append(f"- skipped `{name}`: {reason}")
    if results["retrieval"]:
        out += ["", "## Summary: retrieval (answerable questions)", ""]
        out += md_table(["config", "n", *rcols], [[m, r["summary"]["all"]["n"], *(r["summary"]["all"][c] for c in rcols)]
                                                   for m, r in results["retrieval"].items()])
    if results["answers"]:
        out += ["", "## Summary: answers (all questions)", ""]
        out += md_table(["config", "n", *(label for _, label in ANSWER_COLUMNS)],
                        [[m, r["summary"]["all"]["n"], *(r["summary"]["all"][key] for key, _ in ANSWER_COLUMNS)]
                         for m, r in results["answers"].items()])
    for mode, res in results["retrieval"].items():
        out += ["", f"## Retrieval `{mode}` by language", ""]
        out += md_table(["lang", "n", *rcols], [[lang, s["n"], *(s[c] for c in rcols)] for lang, s in res["summary"].items()])
        misses = [q["id"] for q in res["questions"] if not q["hit@5"]]
        out += ["", f"Missed at 5: {', '.join(misses) if misses else 'none'}"]
        if res.get("unindexed_gold"):
            out += ["", f"Gold lines in no indexed chunk: {', '.join(res['unindexed_gold'])}"]
    for mode, res in results["answers"].items():
        out += ["", f"## Answers `{mode}` by language", ""]
        out += md_table(["lang", "n", *(label for _, label in ANSWER_COLUMNS)],
                        [[lang, s["n"], *(s[key] for key, _ in ANSWER_COLUMNS)] for lang, s in res["summary"].items()])
        weak = [q["id"] for q in res["questions"] if q["answerable"] and not q["all_facts"]]
        wrong_refusal = [q["id"] for q in res["questions"] if q["refused"] == q["answerable"]]
        errors = [q["id"] for q in res["questions"] if q.get("error")]
        out += ["", f"Missing key facts: {', '.join(weak) or 'none'}",
                f"Refusal mistakes: {', '.join(wrong_refusal) or 'none'}"]
        if errors:
            out.append(f"Errors: {', '.join(errors)}")
    return "\n".join(out) + "\n"


def render_chart(results: dict[str, Any], path: Path) -> None:
    """Grouped bars: hit@5 and MRR per retrieval config per language; key answer rates per answer config."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [p for p in ("retrieval", "answers") if results[p]]
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(7 * max(len(panels), 1), 5.2), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        if panel == "retrieval":
            langs = list(next(iter(results["retrieval"].values()))["summary"])
            series = {f"{m} {metric}": [res["summary"][lang][metric] or 0 for lang in langs]
                      for m, res in results["retrieval"].items() for metric in ("hit@5", "mrr@10")}
            _grouped_bars(ax, langs, series, "Retrieval by language (answerable)")
        else:
            keys = [("key_facts", "key facts"), ("f1", "F1"), ("lang_match", "lang ok"),
                    ("citation_precision", "cite P"), ("citation_recall", "cite R"), ("refusal_recall", "refusal R")]
            series = {m: [res["summary"]["all"][key] or 0 for key, _ in keys] for m, res in results["answers"].items()}
            _grouped_bars(ax, [label for _, label in keys], series, "Answers (all languages)")
    if not panels:
        axes[0][0].text(0.5, 0.5, "nothing evaluated", ha="center")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _grouped_bars(ax: Any, groups: list[str], series: dict[str, list[float]], title: str) -> None:
    width = 0.8 / max(len(series), 1)
    for i, (name, values) in enumerate(series.items()):
        ax.bar([g + i * width - 0.4 + width / 2 for g in range(len(groups))], values, width, label=name)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    # Below the bars, not over them: the tallest bars reach the top of the panel.
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False)


def write_outputs(results: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "results.json", "report": out_dir / "report.md", "chart": out_dir / "chart.png"}
    paths["json"].write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    paths["report"].write_text(render_report(results), encoding="utf-8")
    render_chart(results, paths["chart"])
    return paths


def render_summary_line(results: dict[str, Any]) -> str:
    """One line per config on stdout so a terminal run shows the headline figures."""
    lines = []
    for mode, res in results["retrieval"].items():
        s = res["summary"]["all"]
        lines.append(f"retrieval {mode:<10} hit@5={fmt(s['hit@5'])} mrr@10={fmt(s['mrr@10'])} ndcg@10={fmt(s['ndcg@10'])}")
    for mode, res in results["answers"].items():
        s = res["summary"]["all"]
        lines.append(f"answers   {mode:<10} key_facts={fmt(s['key_facts'])} lang_ok={fmt(s['lang_match'])} "
                     f"cite_P={fmt(s['citation_precision'])} refusal_R={fmt(s['refusal_recall'])}")
    return "\n".join(lines)
