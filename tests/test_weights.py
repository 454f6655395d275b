"""One copy of the weights (a tensor read in place, a fine-tuned folder as changed tensors over its base),
complete-or-absent folders that notice a changed file, and progress a log can read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index.folders import is_complete, replaced_atomically, write_marker
from index.onnx_encoder import RowFile
from index.progress import Progress, progress
from index.weights import WORD_TABLE, WeightsError, full_state, save_changed, tensor_span


def _weights(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    tensors = {
        WORD_TABLE: rng.standard_normal((50, 8)).astype(np.float32),
        "encoder.layer.0.output.dense.bias": rng.standard_normal(8).astype(np.float32),
        "encoder.layer.1.output.dense.bias": rng.standard_normal(8).astype(np.float32),
    }
    save_file(tensors, str(path))
    return tensors


def test_word_table_rows_are_read_in_place(tmp_path: Path) -> None:
    tensors = _weights(tmp_path / "model.safetensors")
    span = tensor_span(tmp_path / "model.safetensors")
    assert span.shape == (50, 8) and span.dtype == "F32"
    rows = RowFile(span)
    ids = np.array([[3, 0, 49, 3]])
    assert rows[ids].shape == (1, 4, 8) and np.array_equal(rows[ids][0], tensors[WORD_TABLE][[3, 0, 49, 3]])
    with pytest.raises(WeightsError, match="no tensor 'nope'"):
        tensor_span(tmp_path / "model.safetensors", "nope")
    (tmp_path / "broken.safetensors").write_bytes(b"\x01")
    with pytest.raises(WeightsError, match="broken.safetensors: not a readable safetensors file"):
        tensor_span(tmp_path / "broken.safetensors")


def test_changed_tensors_are_read_over_the_base(tmp_path: Path) -> None:
    base = _weights(tmp_path / "base.safetensors")
    trained = {"encoder.layer.1.output.dense.bias": np.ones(8, dtype=np.float32)}
    save_changed(trained, tmp_path / "changed.safetensors")
    state = full_state(tmp_path / "base.safetensors", tmp_path / "changed.safetensors")
    assert np.array_equal(state["encoder.layer.1.output.dense.bias"], np.ones(8))
    assert np.array_equal(state[WORD_TABLE], base[WORD_TABLE])  # the rest is the base's
    assert (tmp_path / "changed.safetensors").stat().st_size < 200  # no copy of the table
    save_changed({"encoder.layer.9.x": np.ones(1, dtype=np.float32)}, tmp_path / "alien.safetensors")
    with pytest.raises(WeightsError, match="changes tensors the base"):
        full_state(tmp_path / "base.safetensors", tmp_path / "alien.safetensors")


def test_a_folder_with_a_changed_file_is_incomplete(tmp_path: Path) -> None:
    with replaced_atomically(tmp_path / "model") as tmp:
        (tmp / "weights.bin").write_bytes(b"x" * 100)
        (tmp / "sub").mkdir()
        (tmp / "sub" / "config.json").write_text("{}")
        write_marker(tmp, "marker.json", {"format_version": 1})
    folder = tmp_path / "model"
    info = json.loads((folder / "marker.json").read_text())
    assert info["files"] == {"sub/config.json": 2, "weights.bin": 100}
    assert is_complete(folder, "marker.json", 1, ("weights.bin",))
    assert not is_complete(folder, "marker.json", 2, ("weights.bin",))  # another format
    (folder / "weights.bin").write_bytes(b"x" * 10)  # truncated, e.g. a full disk or a copy cut short
    assert not is_complete(folder, "marker.json", 1, ("weights.bin",))
    (folder / "weights.bin").write_bytes(b"x" * 100)
    (folder / "sub" / "config.json").unlink()
    assert not is_complete(folder, "marker.json", 1, ("weights.bin",))


def test_a_failed_build_leaves_the_old_folder(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), replaced_atomically(tmp_path / "model") as tmp:
        (tmp / "new.txt").write_text("half")
        raise RuntimeError("interrupted")
    assert [p.name for p in tmp_path.iterdir()] == ["model"] and (tmp_path / "model" / "old.txt").exists()


def test_progress_without_a_terminal_writes_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(0, 1000, 4))
    monkeypatch.setattr("index.progress.time.monotonic", lambda: float(next(clock)))
    lines: list[str] = []
    with Progress(20, "fine-tuning", log=lines.append, tty=False, every_s=10) as bar:
        for step in range(20):
            bar.update(note=f"loss {1 / (step + 1):.2f}")
    assert lines[0] == "fine-tuning: 1/20 steps, 0:04 elapsed, ~1:16 left (loss 1.00)"
    assert lines[-1] == "fine-tuning: 20/20 steps, done in 1:20 (loss 0.05)"
    assert 4 <= len(lines) <= 10  # first, last and about one every 10 s: not one per step
    assert "\r" not in "".join(lines)


def test_progress_on_a_terminal_is_a_bar_and_none_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(progress(range(3), "quiet", log=None)) == [0, 1, 2]
    said: list[str] = []
    assert list(progress(iter("abc"), "bar", log=said.append, tty=True)) == ["a", "b", "c"]
    err = capsys.readouterr().err
    assert not said and "bar: 100%" in err and "3/3" in err  # tqdm's bar with elapsed time, on stderr
