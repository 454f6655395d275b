"""A fast deterministic stand-in for the embedding model, for unit tests and dry runs.

Each lower-cased word maps to a fixed random vector seeded by its sha256; a text is the normalised sum,
so texts that share words are close — enough to exercise retrieval code without torch.

    >>> enc = FakeEncoder()
    >>> float((enc.encode_queries(["przemoc w rodzinie"]) @ enc.encode_passages(["przemoc w rodzinie"]).T)[0, 0]) > 0.99
    True
"""

from __future__ import annotations

import hashlib
import re

import numpy as np


class FakeEncoder:
    """Bag-of-words random projection; same text, same vector, on every machine."""

    backend = "fake"

    def __init__(self, dim: int = 64, name: str = "fake-sha256") -> None:
        self.dim = dim
        self.name = name
        self._cache: dict[str, np.ndarray] = {}

    def _word(self, word: str) -> np.ndarray:
        if word not in self._cache:
            seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
            self._cache[word] = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return self._cache[word]

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[i] += self._word(word)
            if not out[i].any():
                out[i] = self._word("<empty>")
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions (no prompt: the fake model has none)."""
        return self._encode(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages."""
        return self._encode(texts)
