"""Export a model folder to ONNX for fast, torch-free inference, in float32 or int8 (build time only: needs torch).

The graph takes token *embeddings* (not ids) and returns the mean-pooled, normalised sentence vector. The
250k×384 word table is not copied: at run time its rows are read from the base model's ``model.safetensors``
(``index.onnx_encoder.RowFile``), whichever model is served, since fine-tuning never changes it. The graph is
exported with eager attention and fused by onnxruntime's transformer optimizer (one Attention node per layer,
SkipLayerNormalization, BiasGelu): the same numbers as sentence-transformers (within 1e-6), faster.

``int8``: onnxruntime's dynamic quantization of the fused graph's weight matrices (MatMul and Attention; the
activations are quantized on the fly, per question): int8 weights, one scale per output channel, 7-bit range
(``reduce_range``). On x86 CPUs without VNNI (AVX2, AVX-512 without VNNI) onnxruntime multiplies u8 activations
by s8 weights with an instruction that saturates 16-bit pair sums, so full 8-bit weights give results that
depend on the CPU; 7-bit weights cannot saturate, so the int8 model computes the same numbers on every CPU, VNNI
only makes it faster (docs/operating.md has the measurements).

The tokenizer is rewritten as a SentencePiece model (same pieces, scores and normalisation table as
``tokenizer.json``): the same ids, but ~50 MB in memory where the ``tokenizers`` Unigram takes ~300 MB.

Folders: ``MODEL/onnx`` (float32) and ``MODEL/onnx-int8``, each complete or absent, each recording the SHA-256
of the base weights it was made from (a rebuilt base makes it stale).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import warnings
from pathlib import Path

from index.folders import is_complete, read_marker, replaced_atomically, write_marker
from index.materialize import weights_sha256
from index.progress import Log, Progress
from index.weights import WEIGHTS, WORD_TABLE, overlay

PRECISIONS = ("float32", "int8")
MARKER = "onnx.json"
ONNX_FORMAT_VERSION = 3  # 3: fused graph, no table copy (rows read from the base weights), int8 variant
FILES = ("encoder.onnx", "sentencepiece.model", MARKER)
# onnxruntime.quantization.quantize_dynamic arguments of the int8 variant (chosen on tune: docs/evaluation.md)
INT8 = {"per_channel": True, "reduce_range": True, "weight_type": "QInt8"}


class ExportError(RuntimeError):
    """A model folder cannot be exported as asked; the message names the value and the fix."""


def export_dir(model_dir: Path, precision: str = "float32") -> Path:
    """Where a model folder's export of ``precision`` lives."""
    if precision not in PRECISIONS:
        raise ExportError(
            f"precision {precision!r} is unknown; use one of {', '.join(PRECISIONS)} (KQA_ENCODER_PRECISION)"
        )
    return Path(model_dir) / ("onnx" if precision == "float32" else f"onnx-{precision}")


def sentencepiece_from_tokenizer_json(tokenizer_json: Path, out: Path) -> None:
    """Write the XLM-R Unigram of a tokenizer.json as a SentencePiece model with identical ids."""
    import base64
    from typing import Any, cast

    from sentencepiece import sentencepiece_model_pb2

    pb = cast(Any, sentencepiece_model_pb2)  # generated protobuf classes, which carry no type information

    spec = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    model = pb.ModelProto()
    model.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    model.trainer_spec.vocab_size = len(vocab)
    model.trainer_spec.bos_id, model.trainer_spec.pad_id, model.trainer_spec.eos_id = 0, 1, 2
    model.trainer_spec.unk_id = int(spec["model"]["unk_id"])
    norm = model.normalizer_spec
    norm.name = "nmt_nfkc"
    (charsmap,) = [n["precompiled_charsmap"] for n in spec["normalizer"]["normalizers"] if n["type"] == "Precompiled"]
    norm.precompiled_charsmap = base64.b64decode(charsmap)
    norm.add_dummy_prefix, norm.remove_extra_whitespaces, norm.escape_whitespaces = True, True, True
    kinds = {t["id"]: t["content"] for t in spec["added_tokens"]}
    piece_type = pb.ModelProto.SentencePiece
    for i, (text, score) in enumerate(vocab):
        piece = model.pieces.add()
        piece.piece, piece.score = text, score
        piece.type = (
            piece_type.UNKNOWN
            if i == model.trainer_spec.unk_id
            else piece_type.CONTROL
            if i in kinds and kinds[i] in ("<s>", "</s>", "<pad>")
            else piece_type.USER_DEFINED
            if i in kinds
            else piece_type.NORMAL
        )
    out.write_bytes(model.SerializeToString())


def export_info(model_dir: Path, precision: str = "float32") -> dict | None:
    """The marker of a complete export of the current format, else None."""
    folder = export_dir(model_dir, precision)
    return read_marker(folder, MARKER) if is_complete(folder, MARKER, ONNX_FORMAT_VERSION, FILES) else None


def is_exported(model_dir: Path, precision: str = "float32", base_dir: Path | None = None) -> bool:
    """True when ``model_dir`` holds a complete export of ``precision``, made from the current ``base_dir``
    (default: ``model_dir`` itself, a base folder) weights, quantized (int8) as ``INT8`` says now."""
    info = export_info(model_dir, precision)
    if info is None or (precision == "int8" and info.get("quantization") != INT8):
        return False
    try:
        return info.get("base_weights_sha256") == weights_sha256(Path(base_dir or model_dir))
    except RuntimeError:  # the base is missing or incomplete: the export cannot be served either
        return False


def _float_graph(model_dir: Path, base_dir: Path, out: Path) -> int:
    """Export the float32 graph of ``model_dir`` (the base's weights overlaid with the folder's own, if it is
    not the base) to ``out``; returns the vector size."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own progress line is enough
    model = AutoModel.from_pretrained(str(base_dir), local_files_only=True, attn_implementation="eager").eval()
    if Path(model_dir).resolve() != Path(base_dir).resolve():
        overlay(model, Path(model_dir) / WEIGHTS)

    class Pooled(torch.nn.Module):
        """BertModel on given token embeddings, mean pooling over the mask, L2 normalisation."""

        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    dim = int(model.config.hidden_size)
    model.embeddings.word_embeddings = torch.nn.Embedding(1, dim)  # looked up outside the graph
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python control flow in transformers' code
        torch.onnx.export(
            Pooled(model),
            (torch.zeros((1, 8, dim)), torch.ones((1, 8), dtype=torch.long)),
            str(out),
            input_names=["inputs_embeds", "attention_mask"],
            output_names=["embedding"],
            opset_version=17,
            dynamo=False,
            dynamic_axes={
                "inputs_embeds": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "embedding": {0: "batch"},
            },
        )
    return dim


def _fuse(graph: Path, out: Path, dim: int, heads: int) -> None:
    """onnxruntime's BERT fusions (Attention, SkipLayerNormalization, BiasGelu), offline."""
    from onnxruntime.transformers.optimizer import optimize_model

    optimize_model(str(graph), model_type="bert", num_heads=heads, hidden_size=dim).save_model_to_file(str(out))


def _quantize(graph: Path, out: Path) -> None:
    """Dynamic int8 quantization of the weights (``INT8``)."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.disable(logging.WARNING)  # its advice to pre-process is for static quantization of CNNs
    try:
        quantize_dynamic(
            str(graph),
            str(out),
            per_channel=bool(INT8["per_channel"]),
            reduce_range=bool(INT8["reduce_range"]),
            weight_type=QuantType[str(INT8["weight_type"])],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.disable(logging.NOTSET)


def export_onnx(
    model_dir: Path, base_dir: Path | None = None, *, precision: str = "float32", force: bool = False, log: Log = None
) -> Path:
    """Write ``export_dir(model_dir, precision)`` (atomically) unless a current one exists; return it.
    ``base_dir``: the base folder a fine-tuned ``model_dir`` is read over (default: ``model_dir`` is the base)."""
    from settings import apply_privacy_env

    apply_privacy_env()  # the optimizer and quantizer import onnxruntime
    model_dir = Path(model_dir)
    base_dir = Path(base_dir or model_dir)
    target = export_dir(model_dir, precision)
    if not force and is_exported(model_dir, precision, base_dir):
        return target
    heads = int(json.loads((base_dir / "config.json").read_text())["num_attention_heads"])
    start = time.monotonic()
    stages = 4 if precision == "float32" else 5
    with (
        Progress(stages, f"exporting {model_dir.name} to ONNX ({precision})", unit="stages", log=log) as bar,
        tempfile.TemporaryDirectory() as work,
        replaced_atomically(target) as tmp,
    ):
        dim = _float_graph(model_dir, base_dir, Path(work) / "graph.onnx")
        bar.update(note="graph exported")
        fused = tmp / "encoder.onnx" if precision == "float32" else Path(work) / "fused.onnx"
        _fuse(Path(work) / "graph.onnx", fused, dim, heads)
        bar.update(note="fused")
        if precision == "int8":
            _quantize(fused, tmp / "encoder.onnx")
            bar.update(note="quantized")
        sentencepiece_from_tokenizer_json(base_dir / "tokenizer.json", tmp / "sentencepiece.model")
        shutil.copyfile(model_dir / "config_sentence_transformers.json", tmp / "prompts.json")
        bar.update(note="tokenizer written")
        write_marker(
            tmp,
            MARKER,
            {
                "format_version": ONNX_FORMAT_VERSION,
                "dim": dim,
                "precision": precision,
                "source": model_dir.name,
                "base_weights_sha256": weights_sha256(base_dir),
                "word_table": f"{WEIGHTS}:{WORD_TABLE} of the base",
                "seconds": round(time.monotonic() - start, 1),
                **({"quantization": INT8} if precision == "int8" else {}),
            },
        )
        bar.update(note="done")
    return target
