"""One copy of the weights: where a tensor lies inside a safetensors file, and a fine-tuned model stored as only
the tensors it changed.

The base model's ``model.safetensors`` holds every weight once, the 250k×384 word table (384 MB, 80 % of
them) included. Fine-tuning leaves the word table and the lower layers frozen, so a fine-tuned folder stores
only the tensors training changed (``save_changed``) and is read as the base overlaid with them
(``full_state``, ``overlay``). The ONNX encoders of both read word-table rows straight from the base file at
the table's offset (``tensor_span``), so no second copy of the table is ever written.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

WORD_TABLE = "embeddings.word_embeddings.weight"
WEIGHTS = "model.safetensors"


class WeightsError(RuntimeError):
    """A weights file is not what it should be; the message names it and the fix."""


@dataclass(frozen=True)
class TensorSpan:
    """Where one C-ordered tensor's bytes lie in a file."""

    path: Path
    offset: int
    shape: tuple[int, ...]
    dtype: str  # safetensors' name: F32, F16, I8, …


def _header(path: Path) -> tuple[int, dict]:
    """The safetensors header (JSON) and the offset where the data starts."""
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
    except (OSError, ValueError, struct.error) as exc:
        raise WeightsError(f"{path}: not a readable safetensors file ({exc}); rebuild it with `make model`") from exc
    return 8 + n, header


def tensor_span(path: Path, name: str = WORD_TABLE) -> TensorSpan:
    """The span of tensor ``name`` inside the safetensors file ``path``."""
    start, header = _header(Path(path))
    if name not in header:
        raise WeightsError(f"{path} has no tensor {name!r}; rebuild the model folder with `make model`")
    entry = header[name]
    begin, _end = entry["data_offsets"]
    return TensorSpan(Path(path), start + int(begin), tuple(int(d) for d in entry["shape"]), str(entry["dtype"]))


def tensor_names(path: Path) -> list[str]:
    """The tensors a safetensors file holds (sorted)."""
    return sorted(k for k in _header(Path(path))[1] if k != "__metadata__")


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file's bytes (~1 s for the 470 MB base weights)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def save_changed(tensors: dict[str, np.ndarray], path: Path) -> None:
    """Write the tensors a fine-tuned model changed (names as in the base file)."""
    from safetensors.numpy import save_file

    save_file(
        {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sorted(tensors.items())},
        str(path),
        metadata={"format": "pt"},
    )


def full_state(base_file: Path, changed_file: Path | None) -> dict[str, np.ndarray]:
    """Every tensor of a model: the base file's, overlaid with those of ``changed_file`` (None: the base)."""
    from safetensors.numpy import load_file

    state = load_file(str(base_file))
    if changed_file is not None:
        changed = load_file(str(changed_file))
        unknown = sorted(set(changed) - set(state))
        if unknown:
            raise WeightsError(
                f"{changed_file} changes tensors the base {base_file} does not have ({unknown[:3]}); "
                "rebuild with `make model`"
            )
        state.update(changed)
    return state


def overlay(module: torch.nn.Module, changed_file: Path) -> None:
    """Load the tensors of ``changed_file`` into a model loaded from the base (names as in its state dict)."""
    from safetensors.torch import load_file

    changed = load_file(str(changed_file))
    result = module.load_state_dict(changed, strict=False)
    if result.unexpected_keys:
        raise WeightsError(
            f"{changed_file} holds tensors the model does not have ({result.unexpected_keys[:3]}); "
            "rebuild with `make model`"
        )
