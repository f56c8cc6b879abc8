"""The CLI's error boundary: which exceptions are the user's input or environment, and their one line.

Loaded only when a command fails, so start-up stays light. An exception that is none of
these is a bug in harness: the CLI shows its traceback and says how to report it.
"""

from __future__ import annotations

import io
import json
import sys
import traceback
from typing import Any

from harness.errors import os_error_text

BUG_EXIT_CODE = 3
REPORT_HINT = (
    "this is a bug in harness, not a problem with your input: please report it with the traceback above "
    "(the same command with --debug lets the exception through unchanged)"
)


def user_error_text(exc: BaseException, *, store_url: str | None = None) -> str | None:
    """One line for an exception caused by the user's input or environment; None for a bug.

    Files that cannot be read or written (``OSError``: permissions, a full disk, a
    read-only folder, a file where a folder should be), text that is not UTF-8, input
    nested past Python's recursion limit, numbers past the machine's range, memory that
    ran out, and the known errors of the libraries that read the user's files (YAML,
    JSON, safetensors) or open the run store (SQLAlchemy connection and database errors).
    """
    if isinstance(exc, OSError):
        return os_error_text(exc)
    if isinstance(exc, UnicodeDecodeError):
        return _in_file(exc, f"not UTF-8 text (byte {exc.start})")
    if isinstance(exc, UnicodeError):
        return f"text that cannot be encoded or decoded ({_one_line(exc)})"
    if isinstance(exc, RecursionError):
        return _in_file(exc, "input nested too deeply to read")
    if isinstance(exc, OverflowError):
        return f"a number too large to use ({_one_line(exc)})"
    if isinstance(exc, MemoryError):
        return "out of memory: the input is too large for this machine"
    if isinstance(exc, json.JSONDecodeError):
        return _in_file(exc, f"line {exc.lineno}: not valid JSON ({exc.msg})")
    return _library_error_text(exc, store_url)


def _library_error_text(exc: BaseException, store_url: str | None) -> str | None:
    """Errors of libraries harness reads user files with, each checked only if the library was loaded."""
    yaml = sys.modules.get("yaml")
    if yaml is not None and isinstance(exc, yaml.YAMLError):
        return _in_file(exc, f"not valid YAML ({_one_line(exc)})")
    safetensors = sys.modules.get("safetensors")
    if safetensors is not None and isinstance(exc, safetensors.SafetensorError):
        return _in_file(exc, f"not a valid safetensors file ({_one_line(exc)})")
    return store_error_text(exc, store_url)


def store_error_text(exc: BaseException, store_url: str | None) -> str | None:
    """``run store URL <url>: <reason>`` for SQLAlchemy errors of connecting to or using the database.

    Integrity and programming errors are left out: those are harness's own bugs. The URL
    is shown without its password.
    """
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None:
        return None
    bugs = (sa_exc.IntegrityError, sa_exc.ProgrammingError, sa_exc.InternalError, sa_exc.NotSupportedError)
    if isinstance(exc, bugs) or not isinstance(
        exc, (sa_exc.DatabaseError, sa_exc.ArgumentError, sa_exc.InterfaceError)
    ):
        return None
    reason = _one_line(getattr(exc, "orig", None) or exc)
    return f"run store URL {_safe_url(store_url)}: {reason}"


def _safe_url(url: str | None) -> str:
    if not url:
        from harness.paths import default_store_url

        url = default_store_url()
    try:
        from sqlalchemy.engine import make_url

        return str(make_url(url).render_as_string(hide_password=True))
    except Exception:  # an unparseable URL shows as given: it cannot hold a parsed password
        return url


def _in_file(exc: BaseException, message: str) -> str:
    """``message`` prefixed with the file being read when the error happened, if one can be found."""
    name = getattr(exc, "filename", None) or _open_file_in_traceback(exc)
    return f"{name}: {message}" if name else message


def _open_file_in_traceback(exc: BaseException) -> str | None:
    """The name of a file object open in the innermost frame that has one (the file being read)."""
    for frame, _ in reversed(list(traceback.walk_tb(exc.__traceback__))):
        for value in list(frame.f_locals.values()):
            name = getattr(value, "name", None) if isinstance(value, io.IOBase) else None
            if isinstance(name, str) and not name.startswith("<"):  # not <stdin>, <stdout>
                return name
    return None


def report_bug(exc: BaseException) -> None:
    """The traceback of an unexpected exception, then one line saying it is a harness bug."""
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    print(f"harness: internal error ({type(exc).__name__}): {REPORT_HINT}", file=sys.stderr)


def _one_line(value: Any) -> str:
    text = " ".join(str(value).split())
    return text[:300] + ("..." if len(text) > 300 else "")
