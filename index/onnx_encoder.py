"""The default model through onnxruntime: in float32 the same results as sentence-transformers (tested to
1e-5), in int8 (``KQA_ENCODER_PRECISION``) close to them; no torch import, a SentencePiece tokenizer,
embedding rows read from the base weights on disk.

    >>> enc = OnnxEncoder.load(Path("models/multilingual-e5-small/onnx"),
    ...                        Path("models/multilingual-e5-small/model.safetensors"))  # doctest: +SKIP
    >>> enc.encode_queries(["is there free mammography?"]).shape         # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.weights import WORD_TABLE, TensorSpan, tensor_span
from settings import DEFAULT_MODEL

if TYPE_CHECKING:
    import onnxruntime as ort
    import sentencepiece

MAX_TOKENS = 512
BOS, EOS = 0, 2  # XLM-R ids


class RowFile:
    """Rows of a 2-D float32 tensor inside a file (the word table in the base ``model.safetensors``), read on
    demand with pread: the 384 MB table never enters memory.

    (A memory map would: every page fault maps its neighbours too, and RSS grows ~4 MB per new question.)
    """

    def __init__(self, span: TensorSpan) -> None:
        if len(span.shape) != 2 or span.dtype != "F32":
            raise ValueError(f"{span.path}: expected a float32 matrix, found {span.dtype} {span.shape}")
        self.shape = span.shape
        self.offset = span.offset
        self.row_bytes = span.shape[1] * 4
        self.fd = os.open(span.path, os.O_RDONLY)

    def __getitem__(self, ids: np.ndarray) -> np.ndarray:
        """Rows for an integer array of any shape → array of shape ids.shape + (dim,)."""
        flat = np.asarray(ids).reshape(-1)
        rows = {
            int(i): np.frombuffer(
                os.pread(self.fd, self.row_bytes, self.offset + int(i) * self.row_bytes), dtype=np.float32
            )
            for i in set(flat.tolist())
        }
        return np.stack([rows[int(i)] for i in flat]).reshape(*np.shape(ids), self.shape[1])

    def __del__(self) -> None:
        try:
            os.close(self.fd)
        except (OSError, AttributeError):
            pass


class OnnxEncoder:
    """SentencePiece ids → embedding rows (read with pread) → ONNX BERT + mean pooling + normalisation."""

    def __init__(
        self,
        session: ort.InferenceSession,
        tokenizer: sentencepiece.SentencePieceProcessor,
        table: RowFile,
        query_prompt: str,
        passage_prompt: str,
        name: str = DEFAULT_MODEL,
        backend: str = "onnx",
    ) -> None:
        self.session, self.tokenizer, self.table = session, tokenizer, table
        self.backend = backend  # "onnx" (float32) or "onnx-int8": recorded by index builds, so a change rebuilds
        self.query_prompt, self.passage_prompt = query_prompt, passage_prompt
        self.name = name
        self.dim = int(table.shape[1])

    @classmethod
    def load(cls, export: Path, table: Path, threads: int = 2) -> OnnxEncoder:
        """Open an export folder (``index.onnx_export.export_dir``) with the word table of the weights file
        ``table`` (the base model's ``model.safetensors``)."""
        from settings import apply_privacy_env

        apply_privacy_env()  # onnxruntime's native telemetry is decided when it is imported
        import onnxruntime as ort
        import sentencepiece

        ort.disable_telemetry_events()

        export = Path(export)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        # Questions vary in length: a memory arena and per-shape memory plans would grow with each new
        # length (hundreds of MB over a day) for no measurable speed-up at this size.
        opts.enable_cpu_mem_arena = False
        opts.enable_mem_pattern = False
        session = ort.InferenceSession(str(export / "encoder.onnx"), opts, providers=["CPUExecutionProvider"])
        tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(export / "sentencepiece.model"))
        prompts = json.loads((export / "prompts.json").read_text())["prompts"]
        rows = RowFile(tensor_span(table, WORD_TABLE))
        return cls(session, tokenizer, rows, prompts["query"], prompts.get("passage") or prompts["document"])

    def token_ids(self, text: str) -> list[int]:
        """Ids as sentence-transformers' tokenizer gives them: <s> … </s>, at most 512 (whitespace runs and
        trailing whitespace dropped)."""
        ids: list[int] = self.tokenizer.encode(text)
        return [BOS, *ids[: MAX_TOKENS - 2], EOS]

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        # One text per run: padding a batch to its longest text cost 4× more than batching saved (measured).
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            ids = np.asarray([self.token_ids(prompt + text)], dtype=np.int64)
            embeds = np.asarray(self.table[ids], dtype=np.float32)
            out[i] = self.session.run(None, {"inputs_embeds": embeds, "attention_mask": np.ones_like(ids)})[0][0]
        return out

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions with the query prompt."""
        return self._encode(list(texts), self.query_prompt)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Embed report passages with the passage prompt."""
        return self._encode(list(texts), self.passage_prompt)
