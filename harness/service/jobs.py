"""The service's jobs: one row per job in the run store, its progress lines beside it.

A job is ``queued`` when submitted, ``running`` once a worker claims it, then
``succeeded`` or ``failed``. Claiming is one conditional update (``... WHERE status =
'queued'``), so however many workers look at a job, on however many machines, exactly one
runs it. A running job's worker renews ``heartbeat_at`` every :data:`HEARTBEAT_S` seconds.

A worker that dies (killed, out of memory, its machine lost) leaves its job running with
an old heartbeat, or is seen dying by the service that started it. Either way the job is
marked failed with the reason and flagged ``interrupted``; a run or training job is then
continued by a new job (``resumed_from``) through the run's own resume machinery
(``execute_run(..., resume_dir=...)``, ``run_pipeline(..., resume=True)``): the suites it
finished are kept, nothing that finished is lost.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import and_, select, update

from harness.service.accounts import now_text
from harness.store.runs import RunStore, job_progress_table, jobs_table

STATUSES = ("queued", "running", "succeeded", "failed")
FINISHED = ("succeeded", "failed")
RESUMABLE = ("run", "train")  # kinds whose interrupted work continues where it stopped
HEARTBEAT_S = 2.0
STALE_AFTER_S = 20.0  # a running job whose heartbeat is this old has lost its worker
MAX_RESUMES = 3  # a job that keeps killing its worker (out of memory) is not resumed for ever
PROGRESS_LINE_MAX = 2000


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    status: str
    params: dict[str, Any]
    submitted_by: str
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    worker: str | None = None
    heartbeat_at: float | None = None
    attempts: int = 0
    run_id: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    interrupted: bool = False
    resumed_from: int | None = None
    resumed_by: int | None = None
    queue_ref: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def worker_identity() -> str:
    """``host:pid`` of this process: how a job names the worker running it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _job(row: Any) -> Job:
    data = dict(row._mapping)
    data["interrupted"] = bool(data.get("interrupted"))
    return Job(**data)


def submit(
    store: RunStore, kind: str, params: dict[str, Any], submitted_by: str, *, resumed_from: int | None = None
) -> Job:
    """Queue a job (``params`` already checked by :mod:`harness.service.tasks`)."""
    with store.engine.begin() as conn:
        result = conn.execute(
            jobs_table.insert().values(
                kind=kind,
                status="queued",
                params=params,
                submitted_by=submitted_by,
                created_at=now_text(),
                resumed_from=resumed_from,
            )
        )
        key = result.inserted_primary_key
    assert key is not None
    job = get(store, int(key[0]))
    assert job is not None
    return job


def get(store: RunStore, job_id: int) -> Job | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(jobs_table).where(jobs_table.c.id == job_id)).first()
    return _job(row) if row is not None else None


def list_jobs(
    store: RunStore, *, status: str | None = None, run_id: str | None = None, kind: str | None = None, limit: int = 100
) -> list[Job]:
    """Jobs, newest first."""
    query = select(jobs_table).order_by(jobs_table.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(jobs_table.c.status == status)
    if run_id is not None:
        query = query.where(jobs_table.c.run_id == run_id)
    if kind is not None:
        query = query.where(jobs_table.c.kind == kind)
    with store.engine.connect() as conn:
        return [_job(row) for row in conn.execute(query)]


def add_progress(store: RunStore, job_id: int, line: str) -> None:
    """Keep one progress line of a job (what the library's ``progress``/``say`` callbacks emit)."""
    text = " ".join(line.split())[:PROGRESS_LINE_MAX]
    with store.engine.begin() as conn:
        conn.execute(job_progress_table.insert().values(job_id=job_id, created_at=now_text(), line=text))


def progress(store: RunStore, job_id: int, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
    """A job's progress lines after line id ``after``, oldest first: ``{"id", "created_at", "line"}``."""
    t = job_progress_table
    query = (
        select(t.c.id, t.c.created_at, t.c.line)
        .where(t.c.job_id == job_id, t.c.id > after)
        .order_by(t.c.id)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def claim(store: RunStore, job_id: int, worker: str) -> bool:
    """Take a queued job for ``worker``; False when another worker took it first."""
    with store.engine.begin() as conn:
        result = conn.execute(
            update(jobs_table)
            .where(jobs_table.c.id == job_id, jobs_table.c.status == "queued")
            .values(
                status="running",
                worker=worker,
                started_at=now_text(),
                heartbeat_at=time.time(),
                attempts=jobs_table.c.attempts + 1,
            )
        )
    return result.rowcount == 1


def claim_next(store: RunStore, worker: str) -> Job | None:
    """The oldest queued job, claimed for ``worker``; None when none is queued."""
    query = select(jobs_table.c.id).where(jobs_table.c.status == "queued").order_by(jobs_table.c.id).limit(8)
    with store.engine.connect() as conn:
        candidates = [int(row[0]) for row in conn.execute(query)]
    for job_id in candidates:
        if claim(store, job_id, worker):
            return get(store, job_id)
    return None


def heartbeat(store: RunStore, job_id: int, worker: str) -> bool:
    """Renew a running job's heartbeat; False when the job is no longer this worker's."""
    with store.engine.begin() as conn:
        result = conn.execute(
            update(jobs_table)
            .where(jobs_table.c.id == job_id, jobs_table.c.worker == worker, jobs_table.c.status == "running")
            .values(heartbeat_at=time.time())
        )
    return result.rowcount == 1


def note_run(store: RunStore, job_id: int, run_id: str, run_dir: str) -> None:
    """Record the run a job is producing, as soon as its folder exists (so an interrupted run can be resumed)."""
    job = get(store, job_id)
    if job is None:
        return
    result = dict(job.result or {}) | {"run_id": run_id, "run_dir": run_dir}
    with store.engine.begin() as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(run_id=run_id, result=result))


def finish(store: RunStore, job_id: int, worker: str, result: dict[str, Any], run_id: str | None = None) -> bool:
    """Mark this worker's running job succeeded with its result."""
    values: dict[str, Any] = {"status": "succeeded", "finished_at": now_text(), "result": result}
    if run_id is not None:
        values["run_id"] = run_id
    with store.engine.begin() as conn:
        updated = conn.execute(
            update(jobs_table)
            .where(jobs_table.c.id == job_id, jobs_table.c.worker == worker, jobs_table.c.status == "running")
            .values(**values)
        )
    return updated.rowcount == 1


def fail(store: RunStore, job_id: int, worker: str, error: str, *, interrupted: bool = False) -> bool:
    """Mark this worker's running job failed with the reason (one line)."""
    with store.engine.begin() as conn:
        updated = conn.execute(
            update(jobs_table)
            .where(jobs_table.c.id == job_id, jobs_table.c.worker == worker, jobs_table.c.status == "running")
            .values(status="failed", finished_at=now_text(), error=error, interrupted=interrupted)
        )
    return updated.rowcount == 1


def fail_jobs_of_worker(store: RunStore, worker: str, reason: str) -> list[int]:
    """A worker died: its running jobs fail with ``reason`` and are flagged interrupted; their ids."""
    query = select(jobs_table.c.id).where(jobs_table.c.worker == worker, jobs_table.c.status == "running")
    with store.engine.connect() as conn:
        ids = [int(row[0]) for row in conn.execute(query)]
    failed = [job_id for job_id in ids if fail(store, job_id, worker, reason, interrupted=True)]
    for job_id in failed:
        add_progress(store, job_id, f"failed: {reason}")
    return failed


def fail_stale_jobs(store: RunStore, *, stale_after: float = STALE_AFTER_S, now: float | None = None) -> list[int]:
    """Running jobs whose worker stopped renewing the heartbeat fail (interrupted); their ids."""
    now = time.time() if now is None else now
    query = select(jobs_table.c.id, jobs_table.c.worker, jobs_table.c.heartbeat_at).where(
        jobs_table.c.status == "running", jobs_table.c.heartbeat_at < now - stale_after
    )
    with store.engine.connect() as conn:
        stale = list(conn.execute(query))
    failed = []
    for job_id, worker, beat in stale:
        reason = (
            f"worker {worker} stopped sending heartbeats {now - float(beat):.0f} s ago "
            "(killed, out of memory, or its machine was lost)"
        )
        if fail(store, int(job_id), str(worker), reason, interrupted=True):
            add_progress(store, int(job_id), f"failed: {reason}")
            failed.append(int(job_id))
    return failed


def fail_jobs_of_dead_local_workers(store: RunStore) -> list[int]:
    """Running jobs whose worker ran on this machine and is gone (a service restarted after a crash)."""
    host = socket.gethostname()
    query = select(jobs_table.c.worker).where(jobs_table.c.status == "running").distinct()
    with store.engine.connect() as conn:
        workers = [str(row[0]) for row in conn.execute(query) if row[0]]
    failed = []
    for worker in workers:
        name, _, pid = worker.rpartition(":")
        if name == host and pid.isdigit() and not pid_alive(int(pid)):
            failed += fail_jobs_of_worker(
                store, worker, f"worker {worker} is gone (the service stopped or it was killed)"
            )
    return failed


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs. A zombie (killed, not yet reaped: a worker whose service
    died, in a container whose first process does not reap orphans) counts as gone, per the
    process state in /proc/PID/stat (proc(5)) where that file exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    state = stat.rpartition(")")[2].split()[:1]  # the field after the command name, which may hold spaces
    return state != ["Z"]


def resume_params(job: Job) -> dict[str, Any]:
    """What the job that continues an interrupted one is asked: the run folder to resume, or
    the training to resume; the same parameters where the run had not started its folder."""
    params = dict(job.params)
    if job.kind == "run":
        run_dir = (job.result or {}).get("run_dir")
        if run_dir:
            return {"resume_dir": str(run_dir)}
        return params
    if job.kind == "train":
        return params | {"resume": True}
    return params


def queue_resumes(store: RunStore) -> list[Job]:
    """For each interrupted run or training not yet continued, queue the job that continues it.

    The interrupted job is marked first (``resumed_by``) in the same transaction as the new
    job is inserted, so two processes doing this at once queue one continuation.
    """
    t = jobs_table
    query = select(t).where(
        t.c.status == "failed", t.c.interrupted.is_(True), t.c.resumed_by.is_(None), t.c.kind.in_(RESUMABLE)
    )
    with store.engine.connect() as conn:
        waiting = [_job(row) for row in conn.execute(query.order_by(t.c.id))]
    queued = []
    for job in waiting:
        depth = _resume_depth(store, job)
        with store.engine.begin() as conn:
            marked = conn.execute(
                update(t).where(and_(t.c.id == job.id, t.c.resumed_by.is_(None))).values(resumed_by=-1)
            )
            if marked.rowcount != 1:
                continue
            if depth >= MAX_RESUMES:
                conn.execute(update(t).where(t.c.id == job.id).values(resumed_by=0))
                continue
            inserted = conn.execute(
                t.insert().values(
                    kind=job.kind,
                    status="queued",
                    params=resume_params(job),
                    submitted_by=job.submitted_by,
                    created_at=now_text(),
                    resumed_from=job.id,
                    run_id=job.run_id,
                )
            )
            key = inserted.inserted_primary_key
            assert key is not None
            new_id = int(key[0])
            conn.execute(update(t).where(t.c.id == job.id).values(resumed_by=new_id))
        add_progress(store, job.id, f"continued by job {new_id}")
        add_progress(store, new_id, f"continues job {job.id}, interrupted: {job.error}")
        resumed = get(store, new_id)
        assert resumed is not None
        queued.append(resumed)
    return queued


def _resume_depth(store: RunStore, job: Job) -> int:
    depth, current = 0, job
    while current.resumed_from is not None and depth <= MAX_RESUMES:
        previous = get(store, current.resumed_from)
        if previous is None:
            break
        depth, current = depth + 1, previous
    return depth


def set_queue_ref(store: RunStore, job_id: int, ref: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(queue_ref=ref))


def undispatched(store: RunStore, older_than: float = 0.0) -> list[Job]:
    """Queued jobs the PostgreSQL queue has not been told about (a defer that failed, a job queued by recovery)."""
    query = select(jobs_table).where(jobs_table.c.status == "queued", jobs_table.c.queue_ref.is_(None))
    with store.engine.connect() as conn:
        jobs = [_job(row) for row in conn.execute(query.order_by(jobs_table.c.id))]
    return [j for j in jobs if older_than <= 0 or _age(j.created_at) >= older_than]


def _age(created_at: str) -> float:
    from datetime import datetime, timezone

    try:
        return (datetime.now(timezone.utc) - datetime.fromisoformat(created_at)).total_seconds()
    except ValueError:
        return 0.0
