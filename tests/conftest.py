"""Shared fixtures: network blocked except loopback; fake-encoder assistant; one real model per session."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from corpus import DEFAULT_REPORT, load_report
from settings import Settings

REPORT_LINES = DEFAULT_REPORT.read_text(encoding="utf-8").split("\n")


def _is_local(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return isinstance(address, (str, bytes))  # unix sockets


@pytest.fixture(autouse=True)
def block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection off this machine fails the test: the assistant must work offline."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if not _is_local(address):
            raise RuntimeError(f"network access blocked in tests: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded)


@pytest.fixture(autouse=True)
def keep_lemma_dictionary(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds release simplemma's dictionary (~3 s to load again); the fast tests build many small indexes, so
    they keep it — except the test of the release itself (marked ``real_release``)."""
    if "real_release" not in request.keywords:
        monkeypatch.setattr("index.lexical.release_dictionary", lambda: None)


@pytest.fixture(scope="session")
def report():
    """The real report, parsed once."""
    return load_report()


@pytest.fixture()
def fake_settings(tmp_path: Path) -> Settings:
    """Default settings with the index in a temporary folder; one abstention threshold (``abstain_margin``, which
    the tests move) instead of the one calibrated for the real model; and all passage units pooled, where the fake
    encoder's bag of words finds a pledge by its title (a whole pledge's many words drown the title's). The
    margin is the hard one (abstain_temperature 0) against the mean of the 3 closest background passages, which
    the tests' thresholds were set against (the real model's background_top, 1, makes bag-of-words margins jump
    with a single shared word)."""
    return replace(Settings(), index_dir=tmp_path / "index", abstain_margins="", unit_kinds="whole,pledge,status",
                   background_top=3, abstain_temperature=0.0)


@pytest.fixture()
def fake_assistant(fake_settings: Settings):
    """The real pipeline with the deterministic fake encoder."""
    from assistant import Assistant
    from index.fake import FakeEncoder

    return Assistant.load(fake_settings, encoder=FakeEncoder(), log_fn=lambda m: None)


@pytest.fixture(scope="session")
def real_assistant(tmp_path_factory: pytest.TempPathFactory):
    """The real model and a fresh index, loaded once per session (marked tests only)."""
    from assistant import Assistant

    settings = replace(Settings.from_env(), index_dir=tmp_path_factory.mktemp("real-index"))
    return Assistant.load(settings, log_fn=lambda m: None)
