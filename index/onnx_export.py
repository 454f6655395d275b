"""Export the materialised e5 folder to ONNX for fast, torch-free inference (build time only: needs torch).

The graph takes token *embeddings* (not ids) and returns the mean-pooled, normalised sentence vector; the
250k×384 word-embedding table is saved beside it as ``.npy`` and read row by row at run time, so it never
occupies memory. Same weights, same float32 maths as sentence-transformers.

The tokenizer is rewritten as a SentencePiece model (same pieces, scores and normalisation table as
``tokenizer.json``): the same ids, but ~50 MB in memory where the ``tokenizers`` Unigram takes ~300 MB.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from index.folders import is_complete, replaced_atomically

ONNX_DIR = "onnx"
ONNX_FORMAT_VERSION = 2
FILES = ("encoder.onnx", "word_embeddings.npy", "sentencepiece.model", "onnx.json")


def sentencepiece_from_tokenizer_json(tokenizer_json: Path, out: Path) -> None:
    """Write the XLM-R Unigram of a tokenizer.json as a SentencePiece model with identical ids."""
    import base64

    from sentencepiece import sentencepiece_model_pb2 as pb

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
        piece.type = (piece_type.UNKNOWN if i == model.trainer_spec.unk_id else
                      piece_type.CONTROL if i in kinds and kinds[i] in ("<s>", "</s>", "<pad>") else
                      piece_type.USER_DEFINED if i in kinds else piece_type.NORMAL)
    out.write_bytes(model.SerializeToString())


def is_exported(model_dir: Path) -> bool:
    """True when ``model_dir/onnx`` holds a complete export of the current format."""
    return is_complete(Path(model_dir) / ONNX_DIR, "onnx.json", ONNX_FORMAT_VERSION, FILES)


def export_onnx(model_dir: Path, *, force: bool = False) -> Path:
    """Write ``model_dir/onnx`` (atomically, via a temporary folder) unless a complete one exists."""
    model_dir = Path(model_dir)
    target = model_dir / ONNX_DIR
    if not force and is_exported(model_dir):
        return target
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

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

    with replaced_atomically(target) as tmp:
        table = model.embeddings.word_embeddings.weight.detach().numpy().astype(np.float32)
        np.save(tmp / "word_embeddings.npy", table)
        dim = table.shape[1]
        model.embeddings.word_embeddings = torch.nn.Embedding(1, dim)  # looked up outside the graph
        del table
        with torch.no_grad():
            torch.onnx.export(Pooled(model), (torch.zeros((1, 8, dim)), torch.ones((1, 8), dtype=torch.long)),
                              str(tmp / "encoder.onnx"), input_names=["inputs_embeds", "attention_mask"],
                              output_names=["embedding"], opset_version=17, dynamo=False,
                              dynamic_axes={"inputs_embeds": {0: "batch", 1: "tokens"},
                                            "attention_mask": {0: "batch", 1: "tokens"},
                                            "embedding": {0: "batch"}})
        sentencepiece_from_tokenizer_json(model_dir / "tokenizer.json", tmp / "sentencepiece.model")
        (tmp / "onnx.json").write_text(json.dumps({"format_version": ONNX_FORMAT_VERSION, "dim": dim,
                                                   "source": str(model_dir.name)}, indent=2))
    return target
