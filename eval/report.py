"""Terminal tables and the Markdown + PNG report of an evaluation run."""

from __future__ import annotations

import json
from pathlib import Path

from eval.metrics import RANKING_KEYS

_COLS = (*RANKING_KEYS, "abst.prec", "abst.rec", "false_abst", "handled")
_COL_KEYS = (*RANKING_KEYS, "abstention_precision", "abstention_recall", "false_abstention_rate", "handled")
GROUPS = ("by_language", "by_kind")
_HEAD = ("retriever", "group", "n", "n_off", *_COLS)  # n: in-scope questions, n_off: off-topic ones


def _fmt(v: object) -> str:
    return "–" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def _fmt_ci(m: dict, key: str, intervals: bool) -> str:
    """``0.912 [0.870, 0.950]`` (the value and its bootstrap 95 % interval), or just the value."""
    ci = m.get(key + "_ci")
    if not intervals or ci is None or m.get(key) is None:
        return _fmt(m.get(key))
    return f"{m[key]:.3f} [{ci['low']:.2f}, {ci['high']:.2f}]"


def _overall(r: dict) -> dict:
    """The run's overall metrics in the flat shape of a group."""
    ab = r["abstention"]
    return {
        **r,
        "n": r["n_in_scope"],
        "abstention_precision": ab["precision"],
        "abstention_precision_ci": ab.get("precision_ci"),
        "abstention_recall": ab["recall"],
        "abstention_recall_ci": ab.get("recall_ci"),
        "false_abstention_rate": ab["false_abstention_rate"],
        "false_abstention_rate_ci": ab.get("false_abstention_rate_ci"),
    }


def _row(name: str, group: str, m: dict, intervals: bool) -> list[str]:
    return [name, group, str(m["n"]), str(m["n_out_of_scope"]), *[_fmt_ci(m, k, intervals) for k in _COL_KEYS]]


def table_rows(
    results: list[dict], groups: tuple[str, ...] = GROUPS, intervals: bool = True, only: set[str] | None = None
) -> list[list[str]]:
    """One row per retriever, then one per language and per kind under it (``only``: retrievers that get
    those rows; all by default). ``n`` counts in-scope questions."""
    rows = []
    for r in results:
        rows.append(_row(r["retriever"], "all", _overall(r), intervals))
        if only is not None and r["retriever"] not in only:
            continue
        for g in groups:
            rows.extend(_row("", name, m, intervals) for name, m in r.get(g, {}).items())
    return rows


def text_table(results: list[dict], groups: tuple[str, ...] = GROUPS) -> str:
    """A fixed-width table for the terminal."""
    head = list(_HEAD)
    rows = [head, *table_rows(results, groups)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows)


def markdown_table(
    results: list[dict], groups: tuple[str, ...] = GROUPS, intervals: bool = True, only: set[str] | None = None
) -> str:
    """The same table in Markdown."""
    head = list(_HEAD)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results, groups, intervals, only)]
    return "\n".join(lines)


def _fmt_p(p: float | None) -> str:
    return "–" if p is None else "< 0.001" if p < 0.001 else f"{p:.3f}"


def paired_table(results: list[dict]) -> str:
    """Markdown: each retriever against the baseline — difference and p-values on hit@1 and mrr@10."""
    docs = [r for r in results if r.get("paired_vs_baseline")]
    if not docs:
        return ""
    base = docs[0]["paired_vs_baseline"]["baseline"]
    lines = [
        f"| retriever vs {base} | Δ hit@1 | p (randomization) | p (t-test) | Δ mrr@10 | p (randomization) "
        "| p (t-test) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in docs:
        t = r["paired_vs_baseline"]["tests"]
        if t is None:
            lines.append(f"| {r['retriever']} | (baseline) | | | | | |")
            continue
        cells = []
        for k in ("hit@1", "mrr@10"):
            cells += [f"{t[k]['delta']:+.3f}", _fmt_p(t[k]["p_randomization"]), _fmt_p(t[k]["p_student"])]
        lines.append(f"| {r['retriever']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def set_table(results: list[dict]) -> str:
    """Markdown: answer-set coverage and mean size per retriever (the primary answers)."""
    lines = ["| retriever | n | set_coverage | mean_set_size |", "|---|---|---|---|"]
    lines += [
        f"| {r['retriever']} | {r['n_in_scope']} | {_fmt_ci(r, 'set_coverage', True)} | "
        f"{_fmt_ci(r, 'mean_set_size', True)} |"
        for r in results
        if "set_coverage" in r
    ]
    return "\n".join(lines)


def _plots(results: list[dict], out: Path) -> tuple[Path, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = sorted({lang for r in results for lang in r["by_language"]})
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    width = 0.8 / max(1, len(results))
    for ax, key in zip(axes, ("hit@1", "hit@3"), strict=True):
        for i, r in enumerate(results):
            vals = [r["by_language"].get(lang, {}).get(key) or 0 for lang in langs]
            ax.bar([x + i * width for x in range(len(langs))], vals, width, label=r["retriever"])
        ax.set_xticks([x + width * (len(results) - 1) / 2 for x in range(len(langs))], langs)
        ax.set_title(key + " by language")
        ax.set_ylim(0, 1.05)
    axes[0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    hits = out / "hit_at_k.png"
    fig.savefig(hits, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for r in results:
        sweep = [s for s in r["threshold_sweep"] if s["precision"] is not None]
        ax.plot([s["recall"] for s in sweep], [s["precision"] for s in sweep], marker=".", label=r["retriever"])
    ax.set_xlabel("abstention recall (out-of-scope refused)")
    ax.set_ylabel("abstention precision")
    ax.set_title("Abstention threshold sweep")
    ax.legend(fontsize=8)
    fig.tight_layout()
    sweep_png = out / "abstention_sweep.png"
    fig.savefig(sweep_png, dpi=110)
    plt.close(fig)
    return hits, sweep_png


def write_report(results: list[dict], out: Path, queries_path: str, split: str = "all") -> Path:
    """Write ``report.md``, ``results.json`` and two PNG plots into ``out``; return the Markdown path."""
    out.mkdir(parents=True, exist_ok=True)
    hits, sweep_png = _plots(results, out)
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    md = [
        f"# Retrieval evaluation on `{queries_path}` (split: {split})",
        "",
        'Ranking metrics over in-scope questions; abstention over all (refuse = answer "not in the report").',
        "Each cell: value [bootstrap 95 % interval] (questions resampled 1,000 times, fixed seed); "
        "`n` counts in-scope questions, `n_off` off-topic ones; rows per language, then per kind. `handled`: "
        "share of all questions handled right (in scope: answered, right pledge first; off-topic: refused).",
        "",
        markdown_table(results),
        "",
        "## Paired tests against the baseline (in-scope questions of this run)",
        "",
        paired_table(results),
        "",
        "## Answer sets (primary answers: each retriever's `primary_count`, else its top 1)",
        "",
        set_table(results),
        "",
        f"![hit@k]({hits.name})",
        "",
        "## Abstention threshold sweep (refuse when best-pledge minus best-background cosine < threshold)",
        "",
        f"![sweep]({sweep_png.name})",
        "",
    ]
    for r in results:
        used = ", ".join(f"{k} {v}" for k, v in r.get("abstain_thresholds", {}).items())
        md += [
            f"### {r['retriever']} (thresholds in use, per detected language: {used})",
            "",
            "| threshold | precision | recall | false abstention |",
            "|---|---|---|---|",
        ]
        md += [
            f"| {s['threshold']} | {_fmt(s['precision'])} | {_fmt(s['recall'])} | {_fmt(s['false_abstention_rate'])} |"
            for s in r["threshold_sweep"][::4]
        ]
        md += ["", f"Failures ({len(r['failures'])}):", ""]
        md += [
            f"- `{f['id']}` {f['question']!r}: expected {f['expected']}, got {f['got'][:2]}"
            f"{' (abstained)' if f['abstained'] else ''}, margin {f['margin']}"
            for f in r["failures"]
        ]
        md.append("")
    path = out / "report.md"
    path.write_text("\n".join(md), encoding="utf-8")
    return path
