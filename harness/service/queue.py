"""Dispatching jobs to workers: the jobs table itself (SQLite), or procrastinate (PostgreSQL).

With a SQLite store the workers are processes the service starts on its own machine; they
poll the jobs table (:func:`harness.service.worker.poll_worker`).

With PostgreSQL, procrastinate (``FOR UPDATE SKIP LOCKED`` and ``LISTEN/NOTIFY``) hands
each job to one of any number of workers on any machine that reaches the database
(``harness serve --worker-only``). The jobs table stays the record of every job (status,
progress, result); procrastinate carries only its id, and a worker still claims the job in
the table before running it, so a job that procrastinate hands out twice (it delivers at
least once) runs once. A periodic task, run by one worker every few seconds, fails the jobs
of workers that stopped sending heartbeats, queues the continuation of interrupted runs
and hands procrastinate any queued job it was not told about.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from harness.service import jobs
from harness.service.jobs import Job
from harness.store.runs import RunStore

if TYPE_CHECKING:
    import procrastinate

QUEUE = "harness"
TASK = "harness.job"
RECOVER_TASK = "harness.recover"
RECOVER_CRON = "* * * * * */5"  # every 5 seconds: procrastinate reads seconds from the 6th (last) field

Dispatch = Callable[[Job], None]
log = logging.getLogger(__name__)


def is_postgres(store_url: str) -> bool:
    return make_url(store_url).get_backend_name() == "postgresql"


def conninfo(store_url: str) -> str:
    """The libpq URI of a SQLAlchemy PostgreSQL URL (``postgresql+psycopg://...`` -> ``postgresql://...``)."""
    return make_url(store_url).set(drivername="postgresql").render_as_string(hide_password=False)


def queue_app(store_url: str) -> procrastinate.App:
    """A procrastinate app on the store's database (not opened)."""
    import procrastinate

    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(store_url)))


def recover(store: RunStore, dispatch: Dispatch | None = None) -> list[Job]:
    """Fail the jobs of dead workers (this machine's, by pid; any machine's, by heartbeat), queue the
    continuation of interrupted runs and trainings, and dispatch queued jobs the queue was not told about."""
    jobs.fail_jobs_of_dead_local_workers(store)
    jobs.fail_stale_jobs(store)
    resumed = jobs.queue_resumes(store)
    if dispatch is not None:
        for job in jobs.undispatched(store):
            dispatch(job)
    return resumed


class QueueDispatcher:
    """Hands submitted jobs to procrastinate (PostgreSQL); opened once per process."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.app = queue_app(store.url).open()

    def __call__(self, job: Job) -> None:
        ref = self.app.configure_task(TASK, queue=QUEUE).defer(job_id=job.id)
        jobs.set_queue_ref(self.store, job.id, str(ref))

    def close(self) -> None:
        self.app.close()


def worker_app(store_url: str, root: Path) -> procrastinate.App:
    """The procrastinate app of a worker: the job task and the periodic recovery task."""
    from procrastinate.jobs import Status

    from harness.service.tasks import execute_job

    app = queue_app(store_url)
    store = RunStore(store_url)

    @app.task(name=TASK, queue=QUEUE, pass_context=True)
    def run_job(context: Any, job_id: int) -> None:
        worker = jobs.worker_identity()
        if not jobs.claim(store, job_id, worker):
            log.info("job %s was claimed already (delivered twice): not run again", job_id)
            return
        job = jobs.get(store, job_id)
        assert job is not None
        execute_job(store, job, root, worker)

    @app.periodic(cron=RECOVER_CRON, periodic_id="recover")
    @app.task(name=RECOVER_TASK, queue=QUEUE, queueing_lock=RECOVER_TASK, pass_context=True)
    async def recover_jobs(context: Any, timestamp: int) -> None:
        manager = context.app.job_manager
        for stalled in await manager.get_stalled_jobs(seconds_since_heartbeat=jobs.STALE_AFTER_S):
            if stalled.task_name == TASK:  # its worker is gone: the jobs table says why (see recover)
                await manager.finish_job(stalled, Status.FAILED, delete_job=False)
        resumed = await asyncio.to_thread(recover, store, None)
        waiting = await asyncio.to_thread(jobs.undispatched, store, 10.0)
        for job in [*resumed, *[j for j in waiting if j.id not in {r.id for r in resumed}]]:
            ref = await context.app.configure_task(TASK, queue=QUEUE).defer_async(job_id=job.id)
            await asyncio.to_thread(jobs.set_queue_ref, store, job.id, str(ref))

    del run_job, recover_jobs  # registered on the app by the decorators
    return app
