"""Atomic file writes: a reader sees the old file or the new one, never half of either.

A write the system refuses (a read-only folder, a full disk, a file where a folder
should be) is an :class:`~harness.errors.OutputError` naming the file harness meant to
write, never the temp file it wrote through.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from harness.errors import OutputError, os_error_reason


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temp file in the same folder, fsync, rename."""
    target = Path(path)
    if os.fspath(path) == "":
        raise OutputError("an empty path was given where a file should be written")
    try:
        _make_folder(target.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write ({os_error_reason(exc)})") from exc
    try:
        try:
            os.fchmod(fd, _file_mode())  # mkstemp makes 0600; a report is as readable as any file the user writes
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"{target}: cannot write ({os_error_reason(exc)})") from exc
        raise
    _fsync_dir(target.parent)
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def atomic_write_jsonl(path: str | os.PathLike[str], rows: Iterable[Any]) -> Path:
    lines = [json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in rows]
    return atomic_write_text(path, "".join(line + "\n" for line in lines))


@cache
def _file_mode() -> int:
    """0666 less the process's umask: the mode ``open()`` would give a new file (umask is read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _make_folder(folder: Path) -> None:
    """``folder`` and its parents; a file in the way is named rather than reported as "exists"."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(folder)) from None


def _write_all(fd: int, data: bytes) -> None:
    """Every byte of ``data`` to ``fd`` (``os.write`` may write less than it was given)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
