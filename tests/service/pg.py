"""A throwaway PostgreSQL server for the test session, usable when the tests run as root.

Debian keeps the server binaries in /usr/lib/postgresql/<version>/bin (not on PATH), and
initdb, pg_ctl and postgres refuse to run as root; as root they are run as the
``postgres`` OS user that Debian's postgresql-common package creates (subprocess's
``user=``/``group=``, as ``runuser -u postgres`` would). The data folder is made with
mkdtemp and handed to that user (pytest's own tmp folders are 0700, out of its reach);
the server listens on 127.0.0.1 on a free port, trusts local connections, and skips
fsync: it lives for one test session.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OS_USER = "postgres"


def find_pg_bindir() -> Path | None:
    """``$PG_BINDIR``, else the newest /usr/lib/postgresql/<version>/bin with pg_ctl, else pg_ctl on PATH."""
    env = os.environ.get("PG_BINDIR")
    if env:
        return Path(env) if (Path(env) / "pg_ctl").is_file() else None
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("pg_ctl")
    return Path(os.path.realpath(found)).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgCluster:
    bindir: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    superuser: str = "postgres"

    def _run_kwargs(self) -> dict[str, Any]:
        if os.geteuid() != 0:
            return {}
        pw = pwd.getpwnam(OS_USER)
        return {
            "user": pw.pw_uid,
            "group": pw.pw_gid,
            "extra_groups": [],
            "env": {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": pw.pw_dir},
        }

    def start(self) -> PgCluster:
        self.base = Path(tempfile.mkdtemp(prefix="harness-pg-"))
        self.datadir = self.base / "data"
        if os.geteuid() == 0:
            pw = pwd.getpwnam(OS_USER)
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
        kwargs = self._run_kwargs()
        subprocess.run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                self.superuser,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            **kwargs,
        )
        options = (
            f"-c listen_addresses={self.host} -p {self.port} -c unix_socket_directories={self.base} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        subprocess.run(
            [
                str(self.bindir / "pg_ctl"),
                "start",
                "-D",
                str(self.datadir),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.base / "pg.log"),
                "-o",
                options,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            **kwargs,
        )
        return self

    def stop(self) -> None:
        try:
            subprocess.run(
                [str(self.bindir / "pg_ctl"), "stop", "-D", str(self.datadir), "-m", "immediate", "-w"],
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                **self._run_kwargs(),
            )
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def url(self, dbname: str) -> str:
        """The SQLAlchemy URL of database ``dbname`` (psycopg 3)."""
        return f"postgresql+psycopg://{self.superuser}@{self.host}:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={self.superuser} dbname={dbname}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
