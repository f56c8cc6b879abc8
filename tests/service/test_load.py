"""benchmarks/service_load.py at 50 concurrent clients: no errors, p50 and p99 reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_fifty_concurrent_clients_reading_runs_and_posting_gates_get_no_errors(private_home: Path) -> None:
    command = [sys.executable, "benchmarks/service_load.py", "--clients", "50", "--requests", "10", "--json"]
    done = subprocess.run(command, cwd=REPO, env=os.environ.copy(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["clients"] == 50 and summary["requests"] == 500 and summary["errors"] == 0, summary
    assert summary["gates_posted"] == 100  # every 5th request of each client posted a gate job
    assert 0 < summary["p50_ms"] <= summary["p99_ms"] <= summary["max_ms"]
    print(
        f"service_load: p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms, {summary['requests_per_s']} requests/s"
    )
