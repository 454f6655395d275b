"""Terminal tables and the Markdown + PNG report of an evaluation run."""

from __future__ import annotations

import json
from pathlib import Path

from eval.metrics import RANKING_KEYS

_COLS = (*RANKING_KEYS, "abst.prec", "abst.rec", "false_abst")


def _fmt(v: object) -> str:
    return "–" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def _row(name: str, r: dict, lang: str | None = None) -> list[str]:
    m = r["by_language"][lang] if lang else r
    ab = r["abstention"] if not lang else {"precision": None, "recall": m.get("abstention_recall"),
                                           "false_abstention_rate": m.get("false_abstention_rate")}
    return [name, lang or "all", str(m["n"] if lang else r["n_in_scope"]),
            *[_fmt(m[k]) for k in RANKING_KEYS],
            _fmt(ab["precision"]), _fmt(ab["recall"]), _fmt(ab["false_abstention_rate"])]


def table_rows(results: list[dict], per_language: bool = True) -> list[list[str]]:
    """One row per retriever (and per language under it)."""
    rows = []
    for r in results:
        rows.append(_row(r["retriever"], r))
        if per_language:
            rows.extend(_row("", r, lang) for lang in r["by_language"])
    return rows


def text_table(results: list[dict]) -> str:
    """A fixed-width table for the terminal."""
    head = ["retriever", "lang", "n", *_COLS]
    rows = [head, *table_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows)


def markdown_table(results: list[dict], per_language: bool = True) -> str:
    """The same table in Markdown."""
    head = ["retriever", "lang", "n", *_COLS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results, per_language)]
    return "\n".join(lines)


def _plots(results: list[dict], out: Path) -> tuple[Path, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = sorted({lang for r in results for lang in r["by_language"]})
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    width = 0.8 / max(1, len(results))
    for ax, key in zip(axes, ("hit@1", "hit@3")):
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


def write_report(results: list[dict], out: Path, queries_path: str) -> Path:
    """Write ``report.md``, ``results.json`` and two PNG plots into ``out``; return the Markdown path."""
    out.mkdir(parents=True, exist_ok=True)
    hits, sweep_png = _plots(results, out)
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    md = [f"# Retrieval evaluation on `{queries_path}`", "",
          "Ranking metrics over in-scope questions; abstention over all (refuse = answer \"not in the report\").", "",
          markdown_table(results), "", f"![hit@k]({hits.name})", "",
          "## Abstention threshold sweep (refuse when best-pledge minus best-background cosine < threshold)", "",
          f"![sweep]({sweep_png.name})", ""]
    for r in results:
        md += [f"### {r['retriever']} (threshold in use: {r['abstain_threshold']})", "",
               "| threshold | precision | recall | false abstention |", "|---|---|---|---|"]
        md += [f"| {s['threshold']} | {_fmt(s['precision'])} | {_fmt(s['recall'])} | "
               f"{_fmt(s['false_abstention_rate'])} |" for s in r["threshold_sweep"][::4]]
        md += ["", f"Failures ({len(r['failures'])}):", ""]
        md += [f"- `{f['id']}` {f['question']!r}: expected {f['expected']}, got {f['got'][:2]}"
               f"{' (abstained)' if f['abstained'] else ''}, margin {f['margin']}" for f in r["failures"]]
        md.append("")
    path = out / "report.md"
    path.write_text("\n".join(md), encoding="utf-8")
    return path
