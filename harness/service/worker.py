"""Worker processes: they run the service's jobs, outside the web process.

``python -m harness.service.worker --store URL --root DIR`` runs one worker: on SQLite it
polls the jobs table; on PostgreSQL it is a procrastinate worker (any machine may run
some). :class:`Supervisor` is how ``harness serve`` keeps ``--workers N`` of them alive:
when one dies it records why on the job it was running (failed, interrupted), queues the
continuation of an interrupted run, and starts another worker.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from harness.service import jobs
from harness.service.queue import Dispatch, is_postgres, recover, worker_app
from harness.store.runs import RunStore

POLL_S = 0.5
RECOVER_EVERY_S = 5.0


def poll_worker(
    store_url: str,
    root: Path,
    *,
    poll_s: float = POLL_S,
    stop: threading.Event | None = None,
    parent_pid: int | None = None,
    max_jobs: int | None = None,
) -> int:
    """Run queued jobs one after another until ``stop`` is set, the parent process is gone or
    ``max_jobs`` ran; the number of jobs run."""
    from harness.service.tasks import execute_job

    store = RunStore(store_url)
    worker = jobs.worker_identity()
    done = 0
    while not (stop is not None and stop.is_set()):
        if parent_pid is not None and os.getppid() != parent_pid:
            break  # the service that started this worker is gone: so is the worker
        job = jobs.claim_next(store, worker)
        if job is None:
            time.sleep(poll_s)
            continue
        execute_job(store, job, root, worker)
        done += 1
        if max_jobs is not None and done >= max_jobs:
            break
    return done


def queue_worker(store_url: str, root: Path, *, parent_pid: int | None = None) -> None:
    """A procrastinate worker on the store's PostgreSQL database (one job at a time)."""
    if parent_pid is not None:
        threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    app = worker_app(store_url, root)
    app.run_worker(
        name=jobs.worker_identity(),
        queues=["harness"],
        concurrency=1,
        update_heartbeat_interval=jobs.HEARTBEAT_S,
        stalled_worker_timeout=jobs.STALE_AFTER_S,
        install_signal_handlers=True,
        wait=True,
    )


def _exit_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.service.worker", description=__doc__)
    parser.add_argument("--store", required=True, help="run store URL")
    parser.add_argument("--root", required=True, type=Path, help="folder the jobs write into")
    parser.add_argument("--parent-pid", type=int, help="exit when this process (the service) is gone")
    parser.add_argument("--poll", type=float, default=POLL_S, help="seconds between looks at the jobs table")
    args = parser.parse_args(argv)
    if is_postgres(args.store):
        queue_worker(args.store, args.root, parent_pid=args.parent_pid)
        return 0
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        poll_worker(args.store, args.root, poll_s=args.poll, parent_pid=args.parent_pid)
    except KeyboardInterrupt:
        return 0
    return 0


def exit_reason(worker: str, returncode: int) -> str:
    """Why a worker process ended, in words: the signal that killed it, or its exit code."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"worker {worker} was killed by {name} while running this job"
    return f"worker {worker} exited with code {returncode} while running this job"


class Supervisor:
    """Keeps ``count`` worker processes alive and records what happened to the jobs of those that die."""

    def __init__(
        self,
        store_url: str,
        root: Path,
        count: int,
        *,
        dispatch: Dispatch | None = None,
        env: dict[str, str] | None = None,
        check_s: float = 0.5,
    ) -> None:
        self.store_url, self.root, self.count = store_url, root, count
        self.store = RunStore(store_url)
        self.dispatch = dispatch
        self.env = env
        self.check_s = check_s
        self.processes: list[subprocess.Popen[bytes]] = []
        self.deaths: list[str] = []  # reasons, newest last
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.host = socket.gethostname()

    def start(self) -> Supervisor:
        self.root.mkdir(parents=True, exist_ok=True)
        recover(self.store, self.dispatch)  # jobs left running by a service that stopped, queued continuations
        self.processes = [self._spawn() for _ in range(self.count)]
        self._thread = threading.Thread(target=self._watch, name="harness-supervisor", daemon=True)
        self._thread.start()
        return self

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "harness.service.worker",
            "--store",
            self.store_url,
            "--root",
            str(self.root),
            "--parent-pid",
            str(os.getpid()),
        ]
        return subprocess.Popen(command, env=self.env, stdin=subprocess.DEVNULL)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def _watch(self) -> None:
        last_recover = 0.0
        while not self._stop.wait(self.check_s):
            try:
                for i, proc in enumerate(list(self.processes)):
                    code = proc.poll()
                    if code is None or self._stop.is_set():
                        continue
                    worker = f"{self.host}:{proc.pid}"
                    reason = exit_reason(worker, code)
                    self.deaths.append(reason)
                    jobs.fail_jobs_of_worker(self.store, worker, reason)
                    self.processes[i] = self._spawn()
                    last_recover = 0.0  # continue its job at once
                if time.monotonic() - last_recover >= RECOVER_EVERY_S:
                    recover(self.store, self.dispatch)
                    last_recover = time.monotonic()
            except Exception as exc:  # the store may be briefly unavailable: try again next tick
                print(f"[harness serve] supervisor: {type(exc).__name__}: {exc}", file=sys.stderr)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the workers: SIGTERM (a running job is marked interrupted and continues on the next
        start), then SIGKILL for any still alive after ``timeout`` seconds."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in self.processes:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


if __name__ == "__main__":
    sys.exit(main())
