"""The one error family the CLI knows: each carries a one-line, user-facing message."""

from __future__ import annotations

import errno
import os


class HarnessError(Exception):
    """A problem the user can fix; the CLI prints it as one line and exits with 2."""

    exit_code = 2


class InputError(HarnessError):
    """Malformed or missing input: a file, a directory, a field."""


class ModelError(HarnessError):
    """A model or adapter that cannot be loaded safely."""


class DataError(HarnessError):
    """Benchmark data that cannot be found or read."""


class PolicyError(HarnessError):
    """A policy file that does not match the policy schema."""


class NotAllowedError(HarnessError):
    """Something the user must allow explicitly (running the model's code, loading pickle weights)."""


class OutputError(HarnessError):
    """A file or folder harness cannot write: read-only, full, or a file where a folder should be."""


# errno name -> the reason in words; anything else falls back to the system's own text (strerror)
_REASONS_BY_NAME = {
    "ENOENT": "no such file or folder",
    "EACCES": "permission denied",
    "EPERM": "operation not permitted",
    "ENOSPC": "no space left on the device",
    "EDQUOT": "disk quota exceeded",
    "EROFS": "read-only file system",
    "ENOTDIR": "a part of the path is a file, not a folder",
    "EISDIR": "is a folder, not a file",
    "EEXIST": "already exists",
    "ENAMETOOLONG": "file name too long",
    "ELOOP": "too many levels of symbolic links",
    "EIO": "input/output error",
    "EMFILE": "too many open files",
    "EFBIG": "file too large",
}
OS_REASONS: dict[int, str] = {
    getattr(errno, name): reason for name, reason in _REASONS_BY_NAME.items() if hasattr(errno, name)
}


def os_error_reason(exc: OSError) -> str:
    """The reason of an OSError in words: from its error number (``OS_REASONS``), else the system's text."""
    reason = OS_REASONS.get(exc.errno) if exc.errno is not None else None
    return reason or exc.strerror or " ".join(str(exc).split()) or type(exc).__name__


def os_error_text(exc: OSError, path: str | os.PathLike[str] | None = None) -> str:
    """``<file>: <reason>`` for an OSError; the file is ``path`` or the one the exception names.

    A full disk reads "no space left on the device" whichever call ran out of it.
    """
    where = os.fspath(path) if path is not None else exc.filename
    if where is None or where == "":
        return os_error_reason(exc)
    other = f" -> {os.fsdecode(exc.filename2)}" if path is None and exc.filename2 else ""
    return f"{os.fsdecode(where)}{other}: {os_error_reason(exc)}"
