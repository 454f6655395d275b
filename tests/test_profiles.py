"""KQA_PROFILE unset ("auto"): quick at once, thorough once it is built (index/profiles.py), and the server's
background build and switch (assistant/upgrade.py), driven with short child processes and the fake encoder."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.upgrade import Upgrade, upgrade_later
from index import profiles
from settings import Settings


@pytest.fixture()
def built(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[Path]]:
    """Which fine-tuned folders look complete (``complete``) and trained on today's data (``current``)."""
    import index.finetune
    import index.materialize
    import index.onnx_export

    state: dict[str, set[Path]] = {"complete": set(), "current": set()}
    monkeypatch.setattr(index.materialize, "weights_sha256", lambda path: "b" * 64)
    monkeypatch.setattr(
        index.finetune,
        "read_info",
        lambda folder: {"base_weights_sha256": "b" * 64} if Path(folder) in state["complete"] else None,
    )
    monkeypatch.setattr(
        index.onnx_export, "is_exported", lambda folder, precision, base: Path(folder) in state["complete"]
    )
    monkeypatch.setattr(index.finetune, "is_current", lambda folder, plan, base: Path(folder) in state["current"])
    return state


def test_auto_answers_with_quick_until_thorough_is_built_and_a_pinned_profile_stays(built) -> None:
    auto, quick, thorough = (Settings.from_env({"KQA_PROFILE": p}) for p in ("auto", "quick", "thorough"))
    assert profiles.served(auto) == quick and profiles.first(auto) == quick
    assert profiles.upgrade(auto) == thorough  # missing: the server builds it
    built["complete"].add(thorough.finetune_dir)
    assert profiles.served(auto) == thorough  # complete, though stale: it answers while its retraining runs
    assert profiles.upgrade(auto) == thorough and profiles.first(auto) == quick
    built["current"].add(thorough.finetune_dir)
    assert profiles.upgrade(auto) is None  # nothing left to build
    assert profiles.served(quick) == quick and profiles.upgrade(quick) is None  # pinned: never moved
    built["complete"].clear()
    assert profiles.served(thorough) == thorough and profiles.upgrade(thorough) is None


def test_one_folder_for_both_profiles_serves_quick_alone(built, tmp_path: Path) -> None:
    """A pinned index or model folder would hold both profiles' builds in turn: auto keeps to the first."""
    thorough = Settings.from_env({"KQA_PROFILE": "thorough"})
    built["complete"].add(thorough.finetune_dir)
    for env in ({"KQA_INDEX_DIR": str(tmp_path)}, {"KQA_FINETUNE_DIR": str(tmp_path)}, {"KQA_FINETUNE": "false"}):
        auto = Settings.from_env(env)
        assert profiles.served(auto).profile == "quick" and profiles.upgrade(auto) is None, env
    # the same when a caller moved the index (as the model-tier tests do)
    assert profiles.served(replace(Settings.from_env({}), index_dir=tmp_path)).profile == "quick"


def test_a_build_is_incomplete_without_its_export_or_over_another_base(built, monkeypatch) -> None:
    import index.materialize
    import index.onnx_export

    thorough = Settings.from_env({"KQA_PROFILE": "thorough"})
    built["complete"].add(thorough.finetune_dir)
    assert profiles.complete(thorough)
    monkeypatch.setattr(index.onnx_export, "is_exported", lambda folder, precision, base: False)
    assert not profiles.complete(thorough)  # served by onnxruntime, so the export must be there
    assert profiles.complete(replace(thorough, encoder_backend="sentence-transformers"))
    monkeypatch.setattr(index.materialize, "weights_sha256", lambda path: "c" * 64)
    assert not profiles.complete(replace(thorough, encoder_backend="sentence-transformers"))

    def missing(path: Path) -> str:
        raise RuntimeError("no base")

    monkeypatch.setattr(index.materialize, "weights_sha256", missing)
    assert not profiles.complete(thorough)


def test_the_load_with_a_given_encoder_is_the_first_profile(fake_settings: Settings, built) -> None:
    from assistant import Assistant
    from index.fake import FakeEncoder

    built["complete"].add(Settings.from_env({"KQA_PROFILE": "thorough"}).finetune_dir)
    loaded = Assistant.load(replace(fake_settings, profile="auto"), encoder=FakeEncoder(), log_fn=lambda m: None)
    assert loaded.settings.profile == "quick"


def ignore(_: object) -> None:
    pass


def _python(code: str) -> tuple[str, str]:
    return ("-c", code)


def test_the_upgrade_builds_the_profile_at_a_lower_priority_then_swaps(fake_assistant, tmp_path, monkeypatch) -> None:
    target = replace(fake_assistant.settings, profile="thorough")
    better = replace(fake_assistant, settings=target)
    seen = tmp_path / "seen"
    monkeypatch.setenv("SEEN", str(seen))
    record = _python(
        "import os; open(os.environ['SEEN'], 'a').write(f\"{os.environ['KQA_PROFILE']} {os.getpriority(0, 0)};\")"
    )
    swapped: list[object] = []
    messages: list[str] = []
    job = Upgrade(target, swapped.append, messages.append, steps=[record, record], load=lambda s: better)
    assert job.run()
    lower = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    # each step in turn, under the target profile, at the lower priority
    assert seen.read_text() == f"thorough {lower};thorough {lower};"
    assert swapped == [better]
    assert "building the thorough profile in the background" in messages[0]
    assert messages[-1] == "now answering with the thorough profile"


def test_a_failed_step_or_load_keeps_the_server_as_it_was(fake_assistant) -> None:
    target = replace(fake_assistant.settings, profile="thorough")
    swapped: list[object] = []
    messages: list[str] = []
    fails = Upgrade(target, swapped.append, messages.append, steps=[_python("raise SystemExit(3)"), _python("1")])
    assert not fails.run() and not swapped
    assert "the thorough profile was not built (`-c raise SystemExit(3)` exited with 3); not switching" in messages

    def broken(settings: Settings) -> object:
        raise OSError("index folder unreadable")

    cannot_load = Upgrade(target, swapped.append, messages.append, steps=[], load=broken)  # type: ignore[arg-type]
    assert not cannot_load.run() and not swapped
    assert "could not be loaded (OSError: index folder unreadable); not switching" in messages[-1]


def test_stopping_ends_the_running_step_and_no_swap_follows(fake_assistant) -> None:
    target = replace(fake_assistant.settings, profile="thorough")
    swapped: list[object] = []
    messages: list[str] = []
    job = Upgrade(target, swapped.append, messages.append, steps=[_python("import time; time.sleep(60)")])
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(job.run()))
    start = time.monotonic()
    thread.start()
    while job._proc is None and time.monotonic() - start < 10:
        time.sleep(0.02)
    job.stop()
    thread.join(timeout=15)
    assert result == [False] and not swapped and time.monotonic() - start < 15
    assert not any("not built" in m for m in messages)  # a stop is not a failure to report
    assert not job.run()  # and nothing starts after it


def test_upgrade_later_starts_only_when_the_best_build_is_missing_or_stale(built, monkeypatch) -> None:
    import assistant.upgrade

    started: list[Upgrade] = []
    monkeypatch.setattr(assistant.upgrade.Upgrade, "start", lambda self: started.append(self))
    auto = Settings.from_env({})
    job = upgrade_later(auto, ignore, ignore)
    assert job is not None and started == [job] and job.target.profile == "thorough"
    assert job.steps == (("-m", "index.model"), ("-m", "assistant", "build"))
    thorough = Settings.from_env({"KQA_PROFILE": "thorough"})
    built["complete"].add(thorough.finetune_dir)
    built["current"].add(thorough.finetune_dir)
    assert upgrade_later(auto, ignore, ignore) is None
    assert upgrade_later(Settings.from_env({"KQA_PROFILE": "quick"}), ignore, ignore) is None
    assert len(started) == 1
