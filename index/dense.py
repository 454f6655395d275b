"""FAISS inner-product search over normalised vectors: exact (flat) for small corpora, HNSW for large ones.

    >>> import numpy as np
    >>> x = np.eye(3, dtype=np.float32)
    >>> DenseIndex.build(x).search(x[:1], k=2)[1].tolist()
    [[0, 1]]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


class DenseIndex:
    """A FAISS index plus the name of its kind ("flat" or "hnsw")."""

    def __init__(self, index: object, kind: str) -> None:
        self.index = index
        self.kind = kind

    @property
    def size(self) -> int:
        """Number of vectors indexed."""
        return int(self.index.ntotal)  # type: ignore[attr-defined]

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self.index.d)  # type: ignore[attr-defined]

    @classmethod
    def build(cls, vectors: np.ndarray, ann_threshold: int = 50_000) -> DenseIndex:
        """Index ``vectors`` (rows, L2-normalised): flat below ``ann_threshold`` rows, HNSW from there on."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or not len(vectors):
            raise ValueError(f"vectors of shape {vectors.shape} cannot be indexed; pass a non-empty (n, dim) array")
        dim = vectors.shape[1]
        if len(vectors) >= ann_threshold:
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
            kind = "hnsw"
        else:
            index = faiss.IndexFlatIP(dim)
            kind = "flat"
        index.add(vectors)
        return cls(index, kind)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` inner products and row ids per query, best first."""
        if k < 1 or k > self.size:
            raise ValueError(f"k of {k} is outside 1..{self.size} (the number of indexed vectors); pass a k in range")
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if queries.shape[1] != self.dim:
            raise ValueError(f"query dimension {queries.shape[1]} differs from the index's {self.dim}; "
                             "embed queries with the model the index was built with")
        scores, ids = self.index.search(queries, k)  # type: ignore[attr-defined]
        return scores, ids

    def save(self, path: Path) -> None:
        """Write the FAISS file."""
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str) -> DenseIndex:
        """Read a FAISS file written by ``save``."""
        import faiss

        return cls(faiss.read_index(str(path)), kind)
