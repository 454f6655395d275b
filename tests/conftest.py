"""Shared fixtures: network blocked except loopback; fake-encoder assistant; one real model per session."""

from __future__ import annotations

import glob
import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from corpus import DEFAULT_REPORT, load_report
from settings import Settings

REPORT_LINES = DEFAULT_REPORT.read_text(encoding="utf-8").split("\n")

# The suite answers with one profile whatever this machine has built (quick, or KQA_PROFILE=thorough for the model
# tier), and no app process it starts trains another in the background (index/profiles.py, assistant/upgrade.py);
# tests/test_profiles.py drives "auto" with its own settings.
if os.environ.get("KQA_PROFILE") not in ("quick", "thorough"):
    os.environ["KQA_PROFILE"] = "quick"


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


def fake_settings_in(index_dir: Path, base: Settings | None = None) -> Settings:
    """``base`` (default settings) with the index in ``index_dir``; one abstention threshold (``abstain_margin``, which
    the tests move) instead of the one calibrated for the real model; and all passage units pooled, where the fake
    encoder's bag of words finds a pledge by its title (a whole pledge's many words drown the title's). The
    margin is the hard one (abstain_temperature 0) against the mean of the 3 closest background passages, which
    the tests' thresholds were set against (the real model's background_top, 1, makes bag-of-words margins jump
    with a single shared word). The contacts margin, also chosen for the real model, is pinned to the one the
    tests were written against (a tram ticket gets the city's contact, not 112, on bag-of-words scores)."""
    return replace(
        base or Settings(),
        index_dir=index_dir,
        abstain_margins="",
        unit_kinds="whole,pledge,status",
        background_top=3,
        abstain_temperature=0.0,
        contacts_safety_margin=-0.04,
    )


@pytest.fixture()
def fake_settings(tmp_path: Path) -> Settings:
    """``fake_settings_in`` a temporary folder."""
    return fake_settings_in(tmp_path / "index")


@pytest.fixture()
def fake_assistant(fake_settings: Settings):
    """The real pipeline with the deterministic fake encoder."""
    from assistant import Assistant
    from index.fake import FakeEncoder

    return Assistant.load(fake_settings, encoder=FakeEncoder(), log_fn=lambda m: None)


@pytest.fixture(scope="session")
def fake_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fake-encoder index build, made once, for tests that start server processes (tests/replica_server.py);
    the replicas must run with ``FAKE_REPLICA_ENV``, the settings it was built with, or they rebuild it."""
    from assistant import Assistant
    from index.fake import FakeEncoder

    index_dir = tmp_path_factory.mktemp("fake-index") / "index"
    base = Settings.from_env({k: v for k, v in FAKE_REPLICA_ENV.items() if k.startswith("KQA_")})
    Assistant.load(fake_settings_in(index_dir, base), encoder=FakeEncoder(), log_fn=lambda m: None)
    return index_dir


# Settings of the fake replicas: every question is answered (no abstention), no rate limit (one client address).
FAKE_REPLICA_ENV = {"KQA_ABSTAIN_MARGIN": "-10", "KQA_RATE_LIMIT": "0"}


@pytest.fixture(scope="session")
def real_assistant(tmp_path_factory: pytest.TempPathFactory):
    """The real model and a fresh index, loaded once per session (marked tests only)."""
    from assistant import Assistant

    settings = replace(Settings.from_env(), index_dir=tmp_path_factory.mktemp("real-index"))
    return Assistant.load(settings, log_fn=lambda m: None)


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user there."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres() -> Iterator[Callable[[], str]]:
    """A throwaway PostgreSQL cluster (Debian's postgresql) in a temporary folder on a loopback port, for the
    session; it gives a function that creates a fresh, empty database and returns its SQLAlchemy URL."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip(
            "LOUD SKIP: PostgreSQL is not installed (apt-get install postgresql; .ci/run does); the "
            "tests against PostgreSQL did not run"
        )
    bin_dir = Path(found[-1]).parent
    # Not under pytest's temporary folder: that one is private to root, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="kqa-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(base / "data"), "-A", "trust", "-U", "postgres", "--no-sync"]),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        _as_postgres(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(base / "data"),
                "-w",
                "-l",
                str(base / "pg.log"),
                "-o",
                f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )

    def new_database() -> str:
        import psycopg

        name = f"kqa_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}"

    try:
        yield new_database
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(base / "data"), "-m", "fast", "stop"]),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)
