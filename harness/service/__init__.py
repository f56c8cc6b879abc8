"""``harness serve``: an API and web pages over the run store, jobs run by workers, users with roles.

The service is a second face on the same library as the CLI: its jobs call
``execute_run``, ``judge_run``, ``compare_run_dirs``, ``render_report``, ``render_dossier``
and ``run_pipeline``, the very functions the commands call, and read the same store.

Modules: :mod:`~harness.service.roles` (who may do what), :mod:`~harness.service.accounts`
(users, tokens, failed logins), :mod:`~harness.service.jobs` (the job table),
:mod:`~harness.service.tasks` (what each kind of job runs), :mod:`~harness.service.worker`
(worker processes), :mod:`~harness.service.queue` (the PostgreSQL queue),
:mod:`~harness.service.app` (the FastAPI application: API and pages),
:mod:`~harness.service.client` (the HTTP client of ``harness gate --server`` and ``harness remote``).
"""
