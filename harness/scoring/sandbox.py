"""Running model-written code: never in the harness process, always bounded.

Each program runs in a fresh Python subprocess (``python -I``: no user site, no environment
paths) in its own temporary folder, with:

- a wall-clock timeout, after which its whole process group is killed;
- resource limits (POSIX ``setrlimit``): CPU seconds, address space (memory), the size of
  any file it writes, open files, no core dumps;
- an audit hook (PEP 578) installed before the program runs, which refuses: opening a file
  for writing outside the temporary folder, network sockets, starting processes (``os.system``,
  ``subprocess``, ``os.exec*``, ``os.fork``), and loading native code through ``ctypes``;
- when harness runs as root: in its own network namespace (``unshare --net``) where the
  platform allows it, and as the unprivileged user ``nobody`` when that user can run the
  interpreter (a Python installed under ``/root`` cannot be, so there it stays root).

What is not isolated: the program can read files its user may read; the audit hook guards
Python-level operations, so native code already loaded by the interpreter is not inspected;
on a platform without ``setrlimit`` (Windows) only the timeout applies. This is a guard for
scoring benchmark answers, not a sandbox for hostile code: run untrusted models' code in a
container or VM.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MEMORY_MB = 512
DEFAULT_FILE_MB = 16

# Installed in the child before the program: a permanent audit hook (it cannot be removed).
_GUARD = textwrap.dedent(
    """
    import os, sys
    _root = os.path.realpath(os.getcwd())

    def _inside(path):
        try:
            real = os.path.realpath(os.fspath(path) if not isinstance(path, int) else "")
        except (TypeError, ValueError):
            return False
        return real == _root or real.startswith(_root + os.sep)

    def _guard(event, args):
        if event == "open" and args:
            path, mode = args[0], (args[1] if len(args) > 1 else "r") or "r"
            flags = args[2] if len(args) > 2 else 0
            writing = any(c in str(mode) for c in "wax+") or (isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            if writing and not isinstance(path, int) and not _inside(path):
                raise PermissionError(f"harness sandbox: writing outside the program's folder is refused: {path}")
        elif event in ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "shutil.rmtree", "os.chmod", "os.truncate"):
            if args and not _inside(args[0]):
                raise PermissionError(f"harness sandbox: {event} outside the program's folder is refused")
        elif event.startswith("socket.") and event not in ("socket.gethostname",):
            raise PermissionError("harness sandbox: network access is refused")
        elif event in ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
                       "subprocess.Popen", "ctypes.dlopen", "ctypes.cdata", "os.kill", "signal.pthread_kill"):
            raise PermissionError(f"harness sandbox: {event} is refused")

    sys.addaudithook(_guard)
    del _guard
    """
)


@dataclass(frozen=True)
class SandboxResult:
    """How a program ended: passed (exit 0 in time), or why not."""

    passed: bool
    returncode: int | None
    timed_out: bool
    stdout: str
    stderr: str

    @property
    def reason(self) -> str:
        if self.passed:
            return "passed"
        if self.timed_out:
            return "stopped: it ran past its time limit"
        last = (self.stderr.strip().splitlines() or ["no output"])[-1]
        if self.returncode is not None and self.returncode < 0:
            return f"killed by signal {-self.returncode} ({last})"
        return f"failed: {last}"


def run_python(
    program: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    file_mb: int = DEFAULT_FILE_MB,
) -> SandboxResult:
    """Run ``program`` (Python source) bounded as the module docstring says; never raises for its faults."""
    folder = Path(tempfile.mkdtemp(prefix="harness-sandbox-"))
    try:
        (folder / "program.py").write_text(_GUARD + "\n" + program, encoding="utf-8")
        as_root = hasattr(os, "geteuid") and os.geteuid() == 0
        as_nobody = as_root and _others_can_run(sys.executable)
        if as_nobody:
            os.chown(folder, 65534, 65534)
            os.chown(folder / "program.py", 65534, 65534)
        command = [sys.executable, "-I", "-B", "program.py"]
        if as_root and _can_unshare_network():
            command = ["unshare", "--net", "--", *command]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "PYTHONHASHSEED": "0", "LANG": "C.UTF-8"}
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_limits(timeout_s, memory_mb, file_mb, as_nobody),
        )
        try:
            out, err = process.communicate(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill_group(process)
            out, err = process.communicate()
            timed_out = True
        return SandboxResult(
            passed=not timed_out and process.returncode == 0,
            returncode=process.returncode,
            timed_out=timed_out,
            stdout=out.decode("utf-8", "replace")[-4000:],
            stderr=err.decode("utf-8", "replace")[-4000:],
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _limits(timeout_s: float, memory_mb: int, file_mb: int, as_nobody: bool) -> Callable[[], None]:
    def apply() -> None:  # runs in the child between fork and exec
        import resource

        cpu = max(1, int(timeout_s) + 1)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb << 20, file_mb << 20))
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if as_nobody:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)

    return apply


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def _others_can_run(executable: str) -> bool:
    """Whether a user other than the owner can reach and execute the interpreter."""
    path = Path(os.path.realpath(executable))
    try:
        return all(p.stat().st_mode & 0o001 for p in [path, *path.parents])
    except OSError:
        return False


_UNSHARE: bool | None = None


def _can_unshare_network() -> bool:
    """Whether ``unshare --net`` works here (root on Linux with util-linux); checked once."""
    global _UNSHARE
    if _UNSHARE is None:
        tool = shutil.which("unshare")
        _UNSHARE = (
            bool(tool)
            and subprocess.run(
                [tool or "unshare", "--net", "--", "true"], capture_output=True, timeout=10, check=False
            ).returncode
            == 0
        )
    return _UNSHARE
