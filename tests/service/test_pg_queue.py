"""PostgreSQL: worker processes take jobs from one procrastinate queue, and each job runs exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.service import jobs
from harness.service.queue import QueueDispatcher
from harness.store import RunStore
from harness.store.audit import verify_chain
from tests.service.conftest import seeded_run

REPO = Path(__file__).resolve().parents[2]
JOBS = 20


@pytest.mark.slow
def test_two_workers_on_one_postgresql_run_each_of_twenty_jobs_exactly_once(
    pg_url: str, tmp_path: Path, private_home: Path
) -> None:
    store = RunStore(pg_url)
    runs = [seeded_run(store, tmp_path / "runs", f"20261122T0000{i:02d}Z-abcdef12") for i in range(JOBS)]
    env = os.environ | {"HARNESS_HOME": str(private_home)}
    from harness.store.audit import append_entry

    append_entry(store, "setup", "signoff", {"by": "tests"})  # the audit key exists before the workers race
    root = tmp_path / "service"
    commands = [  # a bare worker process, and what an operator starts on a second machine
        [sys.executable, "-m", "harness.service.worker", "--store", pg_url, "--root", str(root)],
        [sys.executable, "-m", "harness.cli", "--store", pg_url, "serve", "--worker-only", "--root", str(root)],
    ]
    log = (tmp_path / "workers.log").open("w")
    workers = [subprocess.Popen(c, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT) for c in commands]
    dispatch = QueueDispatcher(store)
    try:
        # Both workers listen before the first job is queued; otherwise the one that starts first may
        # finish all twenty gates (a fraction of a second each) before the other has imported harness.
        wait_for_workers(pg_url, len(commands), timeout_s=120)
        submitted = []
        for run_dir in runs:
            job = jobs.submit(store, "gate", {"run": run_dir.name, "policy": "baseline-minimums"}, "tests")
            dispatch(job)
            submitted.append(job.id)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if all(j.finished for j in jobs.list_jobs(store)):
                break
            time.sleep(0.2)
    finally:
        dispatch.close()
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
        log.close()
    done = jobs.list_jobs(store)
    assert sorted(j.id for j in done) == submitted
    assert all(j.status == "succeeded" for j in done), [(j.id, j.status, j.error) for j in done] + [
        (tmp_path / "workers.log").read_text()[-3000:]
    ]
    assert all(j.attempts == 1 for j in done)  # claimed once each
    starts = {
        j.id: [p["line"] for p in jobs.progress(store, j.id) if p["line"].startswith("started on worker")] for j in done
    }
    assert all(len(lines) == 1 for lines in starts.values()), starts  # executed once each
    by_worker = {j.worker for j in done}
    assert len(by_worker) == 2, by_worker  # both workers took jobs from the one queue
    gates = [r for r in store.audit_rows() if r["action"] == "gate"]
    assert len(gates) == JOBS and len({g["run_id"] for g in gates}) == JOBS
    assert verify_chain(store).ok
    with store.engine.connect() as conn:
        from sqlalchemy import text

        states = dict(
            conn.execute(
                text("SELECT status, count(*) FROM procrastinate_jobs WHERE task_name = 'harness.job' GROUP BY status")
            ).all()
        )
    assert states == {"succeeded": JOBS}


def wait_for_workers(url: str, count: int, timeout_s: float) -> None:
    """Until ``count`` procrastinate workers have registered their heartbeat in the database."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                registered = connection.execute(sqlalchemy.text("SELECT count(*) FROM procrastinate_workers")).scalar()
            if registered is not None and registered >= count:
                return
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise AssertionError(f"fewer than {count} workers registered within {timeout_s} s")
