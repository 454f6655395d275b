"""KQA_PROFILE unset ("auto"): quick at once, thorough once it is built (index/profiles.py), and the server's
background build and switch (assistant/upgrade.py), driven with short child processes and the fake encoder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


@pytest.mark.parametrize(
    "env",
    [{}, {"KQA_FINETUNE_LAYERS": "4"}, {"KQA_ABSTAIN_MARGINS": "*:0.0378", "KQA_TOP_K": "5"}, {"KQA_FINETUNE": "0"}],
)
def test_moving_auto_on_is_the_same_as_asking_for_the_profile(env: dict[str, str]) -> None:
    """What the server compares and serves (with_profile) is what its builder child trains (KQA_PROFILE set),
    even for a variable set to the default value, which a profile must not replace either."""
    moved = Settings.from_env(env).with_profile("thorough")
    assert moved == Settings.from_env({**env, "KQA_PROFILE": "thorough"})
    assert set(env) == {f"KQA_{name.upper()}" for name in moved.pinned}


def test_one_folder_for_both_profiles_serves_quick_alone(built, tmp_path: Path) -> None:
    """A pinned index or model folder would hold both profiles' builds in turn: auto keeps to the first."""
    thorough = Settings.from_env({"KQA_PROFILE": "thorough"})
    built["complete"].add(thorough.finetune_dir)
    pinned = ({"KQA_INDEX_DIR": str(tmp_path)}, {"KQA_FINETUNE_DIR": str(tmp_path)}, {"KQA_FINETUNE": "false"})
    at_default = {"KQA_INDEX_DIR": str(Settings().index_dir)}  # quick's folder, named: thorough may not move it
    for env in (*pinned, at_default):
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


def test_the_load_with_a_given_encoder_is_the_first_profile(fake_settings: Settings, built, monkeypatch) -> None:
    from assistant import Assistant
    from index.fake import FakeEncoder

    built["complete"].add(Settings.from_env({"KQA_PROFILE": "thorough"}).finetune_dir)
    monkeypatch.setattr(profiles, "separate", lambda first, best: True)  # the fake index's folder stands for both
    auto = replace(fake_settings, profile="auto")
    assert profiles.served(auto).profile == "thorough"  # without an encoder the best would answer
    loaded = Assistant.load(auto, encoder=FakeEncoder(), log_fn=lambda m: None)
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

    def loaded_as_the_server_stops(settings: Settings) -> object:
        late.stop()
        return fake_assistant

    late = Upgrade(target, swapped.append, messages.append, steps=[], load=loaded_as_the_server_stops)  # type: ignore[arg-type]
    assert not late.run() and not swapped  # shutting down: nothing is switched


def test_stopping_ends_the_running_step_as_ctrl_c_and_no_swap_follows(fake_assistant, tmp_path, monkeypatch) -> None:
    target = replace(fake_assistant.settings, profile="thorough")
    swapped: list[object] = []
    messages: list[str] = []
    seen = tmp_path / "seen"
    monkeypatch.setenv("SEEN", str(seen))
    step = (
        "import os, time\ntry:\n    open(os.environ['SEEN'], 'w').write('started')\n    while True:\n"
        "        time.sleep(0.1)\nexcept KeyboardInterrupt:\n    open(os.environ['SEEN'], 'w').write('cleaned up')\n"
        "    time.sleep(0.5)\n    open(os.environ['SEEN'], 'a').write(', to the end')\n    raise"
    )
    job = Upgrade(target, swapped.append, messages.append, steps=[_python(step)])
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(job.run()))
    start = time.monotonic()
    thread.start()
    while not (seen.exists() and seen.read_text()) and time.monotonic() - start < 10:
        time.sleep(0.02)
    proc = job._proc
    assert proc is not None
    # a second signal while the step cleans up (Ctrl-C pressed again, or its server gone meanwhile)
    second = threading.Timer(0.2, lambda: proc.poll() is None and proc.send_signal(signal.SIGINT))
    second.start()
    job.stop(grace_s=5)
    thread.join(timeout=15)
    second.cancel()
    assert result == [False] and not swapped and time.monotonic() - start < 15
    # as on Ctrl-C: the step's own clean-up ran (replaced_atomically's), to its end
    assert seen.read_text() == "cleaned up, to the end"
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


def _ended(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return any(line.split() == ["State:", "Z", "(zombie)"] for line in status)
    except FileNotFoundError:
        return True


def test_a_step_whose_server_is_killed_stops_itself(tmp_path: Path) -> None:
    """The server may die without running its clean-up (SIGKILL, out of memory): its builder must not go on
    holding the cores. Here the "server" is a process that starts the step and ends at once."""
    from assistant.upgrade import LAUNCH

    step = ["-c", "import time; time.sleep(60)"]
    server = (
        "import os, signal, subprocess, sys\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"  # as in a server started with `&` by a script: inherited
        f"p = subprocess.Popen([sys.executable, '-c', {LAUNCH!r}, '0', str(os.getpid()), *{step!r}],"
        " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(p.pid, flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", server], capture_output=True, text=True, timeout=30, check=True)
    pid = int(done.stdout)
    deadline = time.monotonic() + 15
    while not _ended(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _ended(pid)


def test_make_model_trains_nothing_once_the_best_profile_answers(built, monkeypatch) -> None:
    import index.model

    calls: list[str] = []
    monkeypatch.setattr(index.model, "build_model", lambda settings, log=None: calls.append(settings.profile))
    messages: list[str] = []
    index.model.model_for(Settings.from_env({}), log=messages.append)
    assert calls == ["quick"]  # nothing built yet: the first profile, which answers at once
    thorough = Settings.from_env({"KQA_PROFILE": "thorough"})
    built["complete"].add(thorough.finetune_dir)  # built, though stale
    assert index.model.model_for(Settings.from_env({}), log=messages.append) == thorough.finetune_dir
    assert calls == ["quick"] and "the thorough profile is built" in messages[-1]
    index.model.model_for(thorough, log=messages.append)
    assert calls == ["quick", "thorough"]  # make thorough: pinned, it (re)trains


def test_unreadable_training_data_skips_the_background_build_and_serves_on(built, monkeypatch) -> None:
    import index.finetune_data
    from index.finetune_data import FinetuneError

    def broken(*args: object) -> object:
        raise FinetuneError("eval/train.jsonl, line 3: not JSON; fix the line")

    thorough = Settings.from_env({"KQA_PROFILE": "thorough"})
    built["complete"].add(thorough.finetune_dir)  # complete: its currency is what needs the training data
    monkeypatch.setattr(index.finetune_data, "make_plan", broken)
    messages: list[str] = []
    assert upgrade_later(Settings.from_env({}), ignore, messages.append) is None
    assert messages == [
        "not building the better profile in the background: its training data cannot be read "
        "(eval/train.jsonl, line 3: not JSON; fix the line)"
    ]


def test_the_waiting_note_only_while_auto_can_still_move_up(built, tmp_path: Path) -> None:
    auto, quick, thorough = (Settings.from_env({"KQA_PROFILE": p}) for p in ("auto", "quick", "thorough"))
    note = profiles.waiting_note(auto, quick)
    assert note is not None and "until the thorough one is built (`make thorough`" in note
    assert profiles.waiting_note(auto, thorough) is None and profiles.waiting_note(quick, quick) is None
    pinned_index = Settings.from_env({"KQA_INDEX_DIR": str(tmp_path)})  # auto, but it can never move
    assert profiles.waiting_note(pinned_index, profiles.served(pinned_index)) is None
