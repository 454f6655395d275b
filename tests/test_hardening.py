"""Bad input: odd questions, broken report files (the last good index keeps serving), parser fuzzing."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from assistant import Assistant, QuestionError
from corpus import DEFAULT_REPORT, ReportFormatError, parse_report
from corpus.parser import _CONTINUATION_START, _TERMINAL, decode_report, parse_report_text
from index.fake import FakeEncoder
from index.materialize import REQUIRED_FILES, is_materialized
from index.onnx_export import is_exported

ODD_QUESTIONS = {
    "empty": "",
    "whitespace": " \t\n ",
    "100 kB": "Czy jest pomoc dla ofiar przemocy? " * 3000,
    "control and NUL": "przemoc\x00\x07 w\x1b[31m rodzinie\x00",
    "emoji only": "😀😀😀🙏",
    "URL": "https://www.krakow.pl/?id=1&q=<script>",
    "HTML/JS": "<img src=x onerror=alert(1)><script>alert('x')</script>",
    "SQL": "'; DROP TABLE pledges; -- SELECT * FROM users WHERE 1=1",
    "Japanese": "東京で無料のマンモグラフィーはありますか？",
    "digits only": "1234567890",
}


@pytest.mark.parametrize("name", list(ODD_QUESTIONS))
def test_odd_questions_get_an_answer_or_a_clear_message(fake_assistant: Assistant, name: str) -> None:
    t = time.perf_counter()
    try:
        ans = fake_assistant.ask(ODD_QUESTIONS[name])
    except QuestionError as exc:
        assert "type a question" in str(exc)
        assert name in {"empty", "whitespace", "emoji only", "digits only"}
    else:
        assert ans.abstained or ans.answers
        assert "\x00" not in ans.question and len(ans.question) <= fake_assistant.settings.max_question_chars
        if name == "100 kB":
            assert ans.truncated and ans.notices
    assert time.perf_counter() - t < 5  # bounded work, never a hang


@pytest.mark.model
@pytest.mark.parametrize("name", list(ODD_QUESTIONS))
def test_odd_questions_with_the_real_model(real_assistant: Assistant, name: str) -> None:
    try:
        ans = real_assistant.ask(ODD_QUESTIONS[name])
    except QuestionError:
        assert name in {"empty", "whitespace", "emoji only", "digits only"}
        return
    assert ans.abstained or ans.answers
    if name == "Japanese":
        assert ans.language == "ja" and ans.reply_language == "en"


BROKEN_REPORTS = {
    "empty": (b"", None, "file is empty"),
    "not UTF-8": ("Tytuł\n\nZażółć".encode("cp1250"), 1, "not valid UTF-8"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 3, "NUL byte"),
    "heading without status": (
        "Wstęp.\n\nTytuł A\n\nTreść A.\n\nStopień realizacji zadania\n\nStatus A.\n\nTytuł B\n\nTreść B.\n".encode(),
        11,
        "heading-like line 'Tytuł B'",
    ),
    "duplicate headings": (
        "Tytuł A\n\nTreść.\n\nStopień realizacji zadania\n\nS.\n\nTytuł A\n\nInna.\n\n"
        "Stopień realizacji zadania\n\nS.\n".encode(),
        9,
        "repeats the heading at line 1",
    ),
    "10 MB": (("Tytuł\n\n" + "Treść zdania. " * 70 + "\n\n").encode() * 11000, None, "over the limit"),
}


def _folder_with(tmp_path: Path, data: bytes, name: str = "krakow-miasto-rownych-szans") -> Path:
    """A reports folder holding ``data`` as the report, beside the real report's manifest."""
    folder = tmp_path / "reports"
    folder.mkdir(exist_ok=True)
    shutil.copy(DEFAULT_REPORT.with_suffix(".json"), folder / f"{name}.json")
    (folder / f"{name}.txt").write_bytes(data)
    return folder


@pytest.mark.parametrize("name", list(BROKEN_REPORTS))
def test_broken_report_names_file_and_line_and_last_good_index_serves(
    tmp_path: Path, fake_settings, report, name: str
) -> None:
    data, line, fragment = BROKEN_REPORTS[name]
    settings = replace(fake_settings, abstain_margin=-10)
    good = Assistant.load(settings, encoder=FakeEncoder(), log_fn=lambda m: None)
    bad = tmp_path / f"{name.replace(' ', '_')}.txt"
    bad.write_bytes(data)
    with pytest.raises(ReportFormatError) as err:
        parse_report(bad)
    assert bad.name in str(err.value) and fragment in str(err.value)
    if line is not None:
        assert f"line {line}:" in str(err.value)

    said: list[str] = []
    folder = _folder_with(tmp_path, data)
    serving = Assistant.load(replace(settings, reports=folder), encoder=FakeEncoder(), log_fn=said.append)
    errors = [m for m in said if m.startswith("ERROR: ")]
    assert errors and "krakow-miasto-rownych-szans.txt" in errors[0] and "last good index" in errors[0]
    assert serving.index.manifest == good.index.manifest
    ans = serving.ask("opieka wytchnieniowa", top_k=2)
    assert len(ans.answers) == 2
    for a in ans.answers:
        for c in a.citations:  # the copy inside the build, which is the good report
            assert c.source == "sources/krakow-miasto-rownych-szans.txt"
            assert c.text == "\n".join(report.lines[c.start_line - 1 : c.end_line])


def test_broken_report_without_an_index_fails_clearly(tmp_path: Path, fake_settings) -> None:
    folder = _folder_with(tmp_path, b"", "bad")
    with pytest.raises(ReportFormatError, match="bad.txt: file is empty"):
        Assistant.load(replace(fake_settings, reports=folder), encoder=FakeEncoder(), log_fn=lambda m: None)


def test_incomplete_model_folders_are_detected(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "onnx").mkdir()
    for f in REQUIRED_FILES:
        (folder / f).write_text('{"format_version": 3, "weights_sha256": "ab"}' if f == "materialized.json" else "{}")
    assert is_materialized(folder)
    (folder / "model.safetensors").unlink()
    assert not is_materialized(folder)  # → rebuilt on next load
    (folder / "model.safetensors").write_text("{}")
    for f in ("encoder.onnx", "sentencepiece.model", "prompts.json"):
        (folder / "onnx" / f).write_text("x")
    (folder / "onnx" / "onnx.json").write_text('{"format_version": 3, "base_weights_sha256": "ab"}')
    assert is_exported(folder)
    (folder / "onnx" / "encoder.onnx").unlink()
    assert not is_exported(folder)  # → re-exported on next load


# --- parser fuzzing --------------------------------------------------------------------------------------

_BLANKS = st.sampled_from(["", " ", "  ", "\t"])
_SUB_HEADINGS = ["Cel programu", "Opis zadania", "Zakres i adresaci"]


def _page_break(before: str, after: str, data: st.DataObject) -> list[str]:
    """Blank/space-only lines between two pieces of one paragraph, when the parser can join them again
    (the first does not end a sentence, the second starts lower-case); else nothing. (After a short first piece,
    a digit or „ could also start a pledge text under a heading: the parser refuses those, tests/test_parser.py.)"""
    if (
        _TERMINAL.search(before.rstrip())
        or not _CONTINUATION_START.match(after.lstrip())
        or not after.lstrip()[:1].islower()
    ):
        return []
    return data.draw(st.lists(_BLANKS, min_size=1, max_size=4)) if data.draw(st.booleans()) else []


def _variant(report, data: st.DataObject) -> tuple[list[str], dict[int, str]]:
    """The report re-laid out: extra blank/space-only lines between paragraphs, text lines re-wrapped,
    page breaks inside paragraphs and sub-headings (with or without a paragraph after them) at the end of
    pledge texts. Headings keep their lines (the format allows them at most 3). Returns the lines and, per
    pledge index, what its pledge text gains."""
    lines = list(report.lines)
    headings = {
        n for p in report.pledges for n in range(p.title_passage.span.start_line, p.title_passage.span.end_line + 1)
    }
    pledge_ends = {p.pledge.span.end_line: i for i, p in enumerate(report.pledges)}
    out: list[str] = []
    added: dict[int, str] = {}
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            out.append(line)
            out.extend(data.draw(st.lists(_BLANKS, max_size=2)))
            continue
        words = line.split(" ")
        splittable = number not in headings and stripped != "Stopień realizacji zadania"
        if splittable and len(words) > 1 and data.draw(st.booleans()):
            cut = data.draw(st.integers(1, len(words) - 1))
            first, rest = " ".join(words[:cut]), " ".join(words[cut:])
            out += [first, *_page_break(first, rest, data), rest]
        else:
            out.append(line + data.draw(st.sampled_from(["", " ", "  "])))
        following = lines[number] if number < len(lines) else ""
        if splittable and following.strip():  # the paragraph goes on at the next line
            out += _page_break(stripped, following, data)
        if number in pledge_ends and data.draw(st.booleans()):
            sub = data.draw(st.sampled_from(_SUB_HEADINGS))
            extra = ""  # a sub-heading with text after it is refused: it could as well be the title (test_parser)
            out += ["", sub] + (["", extra] if extra else [])
            added[pledge_ends[number]] = f"\n\n{sub}" + (f"\n\n{extra}" if extra else "")
    return out, added


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_layout_gives_the_same_pledges(report, data: st.DataObject) -> None:
    lines, added = _variant(report, data)
    newline = data.draw(st.sampled_from(["\n", "\r\n", "\r"]))
    raw = (newline.join(lines) + data.draw(st.sampled_from(["", newline]))).encode("utf-8")
    # The bytes go through decode_report, the path that really meets CRLF and CR files.
    parsed = parse_report_text(decode_report(raw, "fuzz.txt"), "fuzz.txt", closing_paragraphs=1)  # its manifest
    assert [(p.title, p.status.text, p.status_label) for p in parsed.pledges] == [
        (p.title, p.status.text, p.status_label) for p in report.pledges
    ]
    assert [p.pledge.text for p in parsed.pledges] == [
        p.pledge.text + added.get(i, "") for i, p in enumerate(report.pledges)
    ]
    assert parsed.intro is not None and parsed.intro.text == report.intro.text
    assert parsed.closing is not None and parsed.closing.text == report.closing.text


def test_crlf_bytes_are_decoded_not_left_in_the_text() -> None:
    lines = decode_report("Tytuł\r\n\r\nTreść.\r\n\r\nStopień realizacji zadania\r\n\r\nS.\r\n".encode(), "c.txt")
    parsed = parse_report_text(lines, "c.txt")
    assert lines[0] == "Tytuł" and parsed.pledges[0].status.text == "S." and "\r" not in "".join(lines)


@hsettings(max_examples=200, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(list("Ab .\n\r\t ") + ["Stopień realizacji zadania", "Tytuł", "ż", "\n\n", "Cel programu"]),
        max_size=200,
    ).map("".join)
)
def test_arbitrary_text_parses_or_fails_with_a_format_error(text: str) -> None:
    try:
        parse_report_text(decode_report(text.encode("utf-8"), "random.txt"), "random.txt")
    except ReportFormatError as exc:
        assert str(exc).startswith("random.txt")
