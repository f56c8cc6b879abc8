"""The audit chain under concurrent writers: many sign-offs at once leave one unbroken chain."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.store import RunStore
from harness.store.audit import verify_chain
from tests.helpers import invoke, make_result, store_result

SIGNERS = 20


@pytest.mark.slow
def test_twenty_concurrent_signoffs_leave_one_unbroken_chain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    run = store_result(tmp_path / "runs", make_result("20261122T000000Z-abcdef12"))
    code, _, stderr = invoke("--store", url, "dossier", str(run), "--out", str(tmp_path / "dossier"), "--no-pdf")
    assert code == 0, stderr
    env = os.environ | {"HARNESS_STORE": url}
    signers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness.cli",
                "signoff",
                str(run),
                "--by",
                f"signer {i}",
                "--role",
                "reviewer",
                "--decision",
                "approve",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(SIGNERS)
    ]
    outcomes = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in signers]
    assert all(code == 0 for code, _ in outcomes), outcomes
    check = verify_chain(RunStore(url))
    assert check.ok and check.entries == SIGNERS + 1, check.problems  # the dossier's rendering, then the sign-offs
    rows = RunStore(url).audit_rows()
    signoffs = [r for r in rows if r["action"] == "signoff"]
    assert len(signoffs) == SIGNERS and [r["action"] for r in rows].count("rendering") == 1
    assert len({r["prev_hash"] for r in rows}) == len(rows)  # no two entries link to the same predecessor
    assert {r["entry"]["by"] for r in signoffs} == {f"signer {i}" for i in range(SIGNERS)}
