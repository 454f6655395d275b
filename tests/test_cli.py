"""CLI input errors, without loading a model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m assistant ARGS`` in the repository, its output as text."""
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
    )


def test_empty_question_exits_2_with_a_message() -> None:
    out = _cli("ask", "   ")
    assert out.returncode == 2
    assert "the question is empty" in out.stderr and "Traceback" not in out.stderr


def test_bad_setting_names_the_variable(tmp_path: Path) -> None:
    env = {"KQA_TOP_K": "three", "PATH": "/usr/bin:/bin"}
    out = _cli("ask", "pomoc", env=env)
    assert out.returncode == 2 and "KQA_TOP_K='three' is not a valid int" in out.stderr


def test_broken_report_exits_3_naming_the_line(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("Tytuł\n\nTreść.\n", encoding="utf-8")
    (tmp_path / "bad.json").write_text(
        '{"title": "T", "section": "S", "edition": "2025", "publisher": "P", "url": null}', encoding="utf-8"
    )
    # No saved index to fall back on (with one, the last good index keeps serving: tests/test_hardening.py).
    env = {"KQA_REPORTS": str(tmp_path), "KQA_INDEX_DIR": str(tmp_path / "no-index"), "PATH": "/usr/bin:/bin"}
    out = _cli("ask", "pomoc", env=env)
    assert out.returncode == 3 and "bad.txt, line 3: no line reads" in out.stderr


def test_broken_contacts_file_exits_3_before_loading_the_model(tmp_path: Path) -> None:
    (tmp_path / "contacts.json").write_text('{"contacts": [], "pledges": [], "show_when_not_in_report": true}')
    env = {"KQA_CONTACTS_FILE": str(tmp_path / "contacts.json"), "PATH": "/usr/bin:/bin"}
    out = _cli("ask", "pomoc", env=env)
    assert out.returncode == 3 and "contacts.json: 'contacts' must be a non-empty list" in out.stderr
    assert "Traceback" not in out.stderr


def test_kqa_entry_point_wires_eval_and_the_cli(capsys) -> None:
    import pytest

    import kqa

    with pytest.raises(SystemExit) as done:
        kqa.main(["eval", "--help"])
    assert done.value.code == 0 and "--conversations" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        kqa.main(["chat", "--help"])
    assert done.value.code == 0 and "/new" in capsys.readouterr().out
    out = _cli("eval")
    assert out.returncode == 2 and "kqa eval" in out.stderr
