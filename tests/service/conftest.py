"""Fixtures of the service's tests: a PostgreSQL server for the session, a store URL on
SQLite and on PostgreSQL, users and tokens with cheap password hashing, a running service.

PostgreSQL tests are skipped, with the reason, only where the server binaries are not
installed (``scripts/install_system_deps`` installs them).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.service.accounts import create_token, create_user
from harness.store import RunStore
from tests.helpers import make_result, store_result
from tests.service.pg import PgCluster, find_pg_bindir

NO_POSTGRES = "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/pg_ctl): run scripts/install_system_deps"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL server per test session."""
    bindir = find_pg_bindir()
    if bindir is None:
        pytest.skip(NO_POSTGRES)
    cluster = PgCluster(bindir=bindir).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, as a SQLAlchemy URL."""
    name = "t_" + uuid.uuid4().hex[:12]
    url = pg_cluster.create_database(name)
    yield url
    pg_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


# ---------------------------------------------------------------------------- accounts and a running service

ROLES = ("admin", "release-manager", "ci", "auditor", "viewer")
PASSWORD = "correct horse battery"


@dataclass
class Accounts:
    """One user (named after its role) and one API token per role."""

    tokens: dict[str, str]

    def bearer(self, role: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[role]}"}


def make_accounts(store: RunStore) -> Accounts:
    """A user per role (cheap argon2 parameters) and a token per role."""
    tokens = {}
    for role in ROLES:
        create_user(store, role, role, PASSWORD, low_cost=True)
        tokens[role], _ = create_token(store, f"{role}-token", role, created_by="tests")
    return Accounts(tokens=tokens)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """uvicorn in a thread on a free loopback port; its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test service did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@contextlib.contextmanager
def thread_worker(store_url: str, root: Path) -> Iterator[threading.Event]:
    """A worker polling the jobs table in a thread of the test process (fast; real worker processes
    are exercised by the tests of worker deaths)."""
    from harness.service.worker import poll_worker

    stop = threading.Event()
    thread = threading.Thread(
        target=poll_worker, args=(store_url, root), kwargs={"poll_s": 0.05, "stop": stop}, daemon=True
    )
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(60)


def service_app(store_url: str, root: Path) -> Any:
    from harness.service.app import ServiceConfig, create_app

    return create_app(ServiceConfig(store_url=store_url, root=root, secret_key="test-secret-" + "x" * 40))


def seeded_run(
    store: RunStore, folder: Path, run_id: str = "20261122T000000Z-abcdef12", **metrics: tuple[int, int]
) -> Path:
    """A finished run (results and item records, no model) indexed in ``store``."""
    from harness.schema.results import ITEMS_FILE, ItemRecord, write_items

    result = make_result(run_id, metrics or None)
    run_dir = store_result(folder, result)
    items = []
    for m in result.metrics:
        suite = m.name.split(".")[0]
        correct = round((m.value or 0) * m.n)
        items += [
            ItemRecord(
                suite=suite,
                item_id=f"{suite}/{i}",
                prompt_hash=f"h{i}",
                target="A",
                prediction="A" if i < correct else "B",
                correct=i < correct,
            )
            for i in range(m.n)
        ]
    write_items(run_dir / ITEMS_FILE, items)
    store.index_run(result, run_dir)
    return run_dir
