"""``python -m eval.windows --queries eval/dev.jsonl --split tune`` — choose how long questions are read.

Tries settings of the long-question windows (``window_*`` in settings.py, assistant/retriever.py) on one split and
prints, per variant and question kind: right pledge first (in scope), false refusals (in scope refused) and
off-topic refusals, at the served threshold and at the split-conformal one of that variant's own margins (α 0.03,
``eval.calibrate.conformal_lower``). Every text is embedded once (a cache in front of the encoder), so a grid
costs little more than one run. Choose on tune, with a model not trained on its questions; report on test.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.encoder import Encoder

if TYPE_CHECKING:
    from assistant.core import Assistant
    from assistant.retriever import Retriever
    from eval.queries import Query
    from settings import Settings

ALPHA = 0.03
GRID = {
    "abstain_temperature": (0.0, 0.05, 0.08, 0.1),
    "window_min_words": (40,),
    "window_max": (0, 3, 4, 6),
    "window_words": (30,),
    "window_pool": ("mean", "max"),
    "window_weight": (0.5, 1.0),
}


class CachedEncoder:
    """An encoder that embeds each distinct query text once (one batch for the texts it has not seen)."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.name, self.dim, self.backend = encoder.name, encoder.dim, encoder.backend
        self.cache: dict[str, np.ndarray] = {}

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Vectors of ``texts``, encoding only the new ones."""
        new = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if new:
            self.cache.update(zip(new, self.encoder.encode_queries(new), strict=True))
        return np.stack([self.cache[t] for t in texts])

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Passages go straight to the wrapped encoder."""
        return self.encoder.encode_passages(texts)


def outcomes(records: list[dict], kinds: list[str], threshold: float) -> dict[str, dict]:
    """Per kind (and "all"): n, right first, false refusals (in scope) and off-topic refusals at ``threshold``."""
    groups: dict[str, list[tuple[dict, str]]] = defaultdict(list)
    for rec, kind in zip(records, kinds, strict=True):
        groups[kind].append((rec, kind))
        groups["all"].append((rec, kind))
    out = {}
    for kind, rows in sorted(groups.items()):
        inside = [r for r, _ in rows if r["in_scope"]]
        outside = [r for r, _ in rows if not r["in_scope"]]
        out[kind] = {
            "n": len(inside),
            "n_off": len(outside),
            "first": sum(r["gap"] == 0 for r in inside),
            "false_refusals": sum(r["margin"] < threshold for r in inside),
            "off_refused": sum(r["margin"] < threshold for r in outside),
        }
    return out


@dataclass(frozen=True)
class _Served:
    """One variant's settings and retriever, as calibration reads an assistant (``eval.calibrate.Serving``)."""

    settings: Settings
    retriever: Retriever


def sweep(assistant: Assistant, queries: list[Query], grid: dict[str, tuple]) -> list[dict]:
    """Records of every variant of ``grid`` (window_max 0: no windows, the other window settings then skipped)."""
    from assistant.retriever import Retriever
    from eval.calibrate import calibration_records, conformal_lower

    base = assistant.settings
    encoder = CachedEncoder(assistant.encoder)
    kinds = [q.kind for q in queries]
    results, seen = [], set()
    for values in itertools.product(*grid.values()):
        variant = dict(zip(grid, values, strict=True))
        if variant["window_max"] == 0:
            variant = {k: v for k, v in variant.items() if not k.startswith("window_")} | {"window_max": 0}
        key = json.dumps(variant, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        settings = replace(base, **variant)
        retriever = Retriever(assistant.index, encoder, settings, settings.strategy)
        records = calibration_records(_Served(settings, retriever), queries)
        served = settings.abstain_threshold("*")
        own = conformal_lower([r["margin"] for r in records if r["in_scope"]], ALPHA)
        results.append(
            {
                "variant": variant,
                "served": served,
                "conformal": round(own, 4),
                "at_served": outcomes(records, kinds, served),
                "at_conformal": outcomes(records, kinds, own),
                "margins": {q.id: round(r["margin"], 5) for q, r in zip(queries, records, strict=True)},
            }
        )
    return results


def table(results: list[dict], at: str) -> str:
    """One line per variant: per kind, right first / false refusals / off-topic refused."""
    kinds = list(results[0][at])
    lines = [f"{'variant':<52} thr     " + " ".join(f"{k[:14]:>16}" for k in kinds)]
    for res in results:
        thr = res["served"] if at == "at_served" else res["conformal"]
        cells = [
            f"{o['first']}/{o['n']} {o['false_refusals']} {o['off_refused']}/{o['n_off']}" for o in res[at].values()
        ]
        name = ",".join(f"{k.removeprefix('window_')}={v}" for k, v in res["variant"].items())
        lines.append(f"{name:<52} {thr:<7} " + " ".join(f"{c:>16}" for c in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    from settings import apply_privacy_env

    apply_privacy_env()
    ap = argparse.ArgumentParser(prog="python -m eval.windows", description=__doc__.split("\n\n")[0])
    ap.add_argument("--queries", type=Path, default=Path(__file__).resolve().parent / "dev.jsonl")
    ap.add_argument("--split", default="tune", choices=("tune", "test", "all"))
    ap.add_argument("--json", type=Path, help="also write every variant's counts and margins here")
    args = ap.parse_args(argv)

    from assistant.core import Assistant
    from eval.queries import load_queries, select_split

    assistant = Assistant.load(log_fn=lambda m: print(m, file=sys.stderr))
    titles = {p.title: p.id for p in assistant.library.pledges}
    queries = select_split(load_queries(args.queries, titles), args.split)
    results = sweep(assistant, queries, GRID)
    print(f"split {args.split}: per kind 'right first/in scope, false refusals, off-topic refused/off-topic'")
    print("\nat the served threshold\n" + table(results, "at_served"))
    print(f"\nat each variant's own split-conformal threshold (alpha {ALPHA})\n" + table(results, "at_conformal"))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
