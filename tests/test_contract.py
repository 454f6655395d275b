"""The OpenAPI document is the contract: schemathesis, run as a new user would (its CLI, every check, every phase
including the stateful one that follows the document's links from an answer to a vote), finds no failure
against a replica with a temporary database and the fake encoder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import replica_server
from conftest import FAKE_REPLICA_ENV, free_port

# Examples per operation, and a fixed seed so that CI is repeatable; a larger number or another seed explores more
# (1,237–1,289 cases each with seeds 11–16 and --max-examples 100: no failure).
MAX_EXAMPLES, SEED, TOKEN = 25, 28, "contract-token"


def test_schemathesis_finds_no_failure(fake_index: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        **FAKE_REPLICA_ENV,
        "KQA_INDEX_DIR": str(fake_index),
        "KQA_ADMIN_TOKEN": TOKEN,
        "KQA_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"),
    }
    [replica] = replica_server.start_all([port], env, tmp_path)
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"http://127.0.0.1:{port}/api/openapi.json",
                "--checks",
                "all",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                str(SEED),
                "--header",
                f"Authorization: Bearer {TOKEN}",
                "--request-timeout",
                "30",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "NO_COLOR": "1"},
        )
    finally:
        replica_server.stop(replica)
    summary = run.stdout[run.stdout.find("SUMMARY") :]
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "No issues found" in summary and "Stateful" in summary and "passed" in summary, summary
