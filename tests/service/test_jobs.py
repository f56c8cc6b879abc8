"""Jobs: claimed exactly once, failed with the reason when their worker dies, interrupted runs continued."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from harness.service import jobs
from harness.service.accounts import create_token
from harness.store import RunStore
from tests.service.conftest import free_port

REPO = Path(__file__).resolve().parents[2]


def test_concurrent_workers_claim_each_job_exactly_once(store_url: str) -> None:
    store = RunStore(store_url)
    submitted = [jobs.submit(store, "gate", {"run": f"r{i}", "policy": "p"}, "tests").id for i in range(20)]
    claimed: list[tuple[str, int]] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        mine = RunStore(store_url)
        while (job := jobs.claim_next(mine, name)) is not None:
            with lock:
                claimed.append((name, job.id))

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(job_id for _, job_id in claimed) == submitted
    assert all(j.status == "running" and j.attempts == 1 for j in jobs.list_jobs(store))


def test_a_job_whose_worker_stopped_beating_fails_and_its_run_continues_in_a_new_job(
    store_url: str, tmp_path: Path
) -> None:
    store = RunStore(store_url)
    job = jobs.submit(store, "run", {"base": "models/tiny", "suites": ["mmlu"]}, "alice")
    assert jobs.claim(store, job.id, "elsewhere:123")
    jobs.note_run(store, job.id, "20261122T000000Z-abcdef12", str(tmp_path / "run"))
    assert jobs.fail_stale_jobs(store, stale_after=60) == []  # it beat a moment ago
    assert jobs.fail_stale_jobs(store, stale_after=60, now=time.time() + 120) == [job.id]
    failed = jobs.get(store, job.id)
    assert failed is not None and failed.status == "failed" and failed.interrupted
    assert failed.error is not None and "worker elsewhere:123 stopped sending heartbeats" in failed.error
    (resumed,) = jobs.queue_resumes(store)
    assert jobs.queue_resumes(store) == []  # continued once, however often recovery runs
    assert resumed.status == "queued" and resumed.resumed_from == job.id and resumed.submitted_by == "alice"
    assert resumed.params == {"resume_dir": str(tmp_path / "run")} and resumed.run_id == "20261122T000000Z-abcdef12"
    assert jobs.get(store, job.id).resumed_by == resumed.id  # type: ignore[union-attr]
    assert not jobs.finish(store, job.id, "elsewhere:123", {})  # the dead worker's late answer changes nothing


def test_a_job_whose_local_worker_is_gone_fails_at_once(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    job = jobs.submit(store, "gate", {"run": "r", "policy": "p"}, "tests")
    worker = f"{jobs.worker_identity().rpartition(':')[0]}:{gone.pid}"
    assert jobs.claim(store, job.id, worker)
    assert jobs.fail_jobs_of_dead_local_workers(store) == [job.id]
    failed = jobs.get(store, job.id)
    assert failed is not None and failed.status == "failed" and "is gone" in (failed.error or "")
    assert jobs.queue_resumes(store) == []  # a gate is not continued: it is cheap to submit again


def test_a_killed_worker_not_yet_reaped_counts_as_gone() -> None:
    """A zombie still answers kill(pid, 0); the recovery at start must not take it for a live worker."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert jobs.pid_alive(child.pid)
        child.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while (
            time.monotonic() < deadline
            and "Z" not in Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2][:3]
        ):
            time.sleep(0.01)
        assert not jobs.pid_alive(child.pid)  # killed, not reaped: a zombie
    finally:
        child.kill()
        child.wait()
    assert not jobs.pid_alive(child.pid)


def test_a_job_that_keeps_killing_its_worker_is_not_resumed_for_ever(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    job = jobs.submit(store, "run", {"base": "m", "suites": ["mmlu"]}, "tests")
    continued = 0
    for attempt in range(jobs.MAX_RESUMES + 2):
        assert jobs.claim(store, job.id, f"w:{attempt}")
        jobs.fail_jobs_of_worker(store, f"w:{attempt}", "killed by SIGKILL (out of memory)")
        queued = jobs.queue_resumes(store)
        if not queued:
            break
        continued += 1
        job = queued[0]
    assert continued == jobs.MAX_RESUMES


# ---------------------------------------------------------------------------- a real service, a real kill


def get(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def post(url: str, token: str, body: dict[str, Any]) -> Any:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"authorization": f"Bearer {token}", "content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


class Service:
    """``harness serve`` as a subprocess: what a user starts."""

    def __init__(self, store_url: str, root: Path, log: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable,
            "-m",
            "harness.cli",
            "--store",
            store_url,
            "serve",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--root",
            str(root),
        ]
        self.log = log.open("a")
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=2):
                    return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"harness serve did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.2)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def worker_pid(job: dict[str, Any]) -> int:
    return int(str(job["worker"]).rpartition(":")[2])


@pytest.mark.slow
def test_a_run_whose_worker_is_killed_resumes_and_completes_with_every_item_once(
    tiny_model: Path, data_dir: Path, tmp_path: Path, private_home: Path
) -> None:
    """SIGKILL the worker mid-run (the service continues the run in a new job), then SIGKILL the
    service and that job's worker together, restart the service: the run completes, its items
    neither lost nor duplicated, and each killed job says why it failed."""
    from harness.schema.results import ITEMS_FILE, load_results, read_items

    store_url, root = f"sqlite:///{tmp_path / 'runs.db'}", tmp_path / "service"
    token, _ = create_token(RunStore(store_url), "ci", "ci", created_by="tests")
    env = os.environ | {"HARNESS_HOME": str(private_home), "HARNESS_DATA_DIR": str(data_dir)}
    service = Service(store_url, root, tmp_path / "serve.log", env)
    try:
        params = {"base": str(tiny_model), "suites": ["mmlu", "gsm8k"], "limit": 1, "max_gen_toks": 8, "no_cache": True}
        first = post(f"{service.url}/api/v1/jobs", token, {"kind": "run", "params": params})["id"]

        def mmlu_done() -> dict[str, Any] | None:
            job = get(f"{service.url}/api/v1/jobs/{first}", token)
            lines = [p["line"] for p in job["progress"]]
            return job if any(line.startswith("gsm8k: evaluating") for line in lines) else None

        job = wait_for(mmlu_done, 240, "the first suite to finish")
        os.kill(worker_pid(job), signal.SIGKILL)
        killed = wait_for(
            lambda: (j := get(f"{service.url}/api/v1/jobs/{first}", token))["status"] == "failed" and j,
            30,
            "the failure",
        )
        assert "was killed by SIGKILL while running this job" in killed["error"] and killed["interrupted"]
        second = wait_for(
            lambda: get(f"{service.url}/api/v1/jobs/{first}", token)["resumed_by"], 30, "the continuation"
        )

        def resuming() -> dict[str, Any] | None:
            job = get(f"{service.url}/api/v1/jobs/{second}", token)
            return job if any("resuming run" in p["line"] for p in job["progress"]) else None

        job = wait_for(resuming, 120, "the continuation to start")
        service.kill()  # the whole service crashes...
        os.kill(worker_pid(job), signal.SIGKILL)  # ...and its worker with it
    finally:
        service.stop()

    service = Service(store_url, root, tmp_path / "serve.log", env)  # restarted
    try:
        failed = get(f"{service.url}/api/v1/jobs/{second}", token)
        assert failed["status"] == "failed" and "is gone" in failed["error"], (
            failed,
            (tmp_path / "serve.log").read_text(),
        )
        third = wait_for(
            lambda: get(f"{service.url}/api/v1/jobs/{second}", token)["resumed_by"], 30, "the next continuation"
        )
        done = wait_for(
            lambda: (j := get(f"{service.url}/api/v1/jobs/{third}", token))["status"] in ("succeeded", "failed") and j,
            240,
            "the run",
        )
    finally:
        service.stop()
    assert done["status"] == "succeeded", done
    lines = [p["line"] for p in done["progress"]]
    assert any("mmlu: 57 items reused from the interrupted run" in line for line in lines), lines
    run_dir = Path(done["result"]["run_dir"])
    result = load_results(run_dir)
    assert result.metric("mmlu.accuracy").n == 57 and result.metric("gsm8k.exact_match").n == 1  # type: ignore[union-attr]
    items = read_items(run_dir / ITEMS_FILE)
    keys = [(r.suite, r.item_id) for r in items]
    assert len(keys) == len(set(keys)) == 58  # 57 MMLU subjects x 1 + 1 GSM8K: none lost, none twice
    rows = RunStore(store_url).runs()
    assert [(r.run_id, r.status) for r in rows] == [(result.run_id, "finished")]
    assert done["run_id"] == result.run_id == killed["run_id"]
