"""Windows over time-sorted requests: N consecutive requests, or a span of time.

A count window is the methodology's "last 100 requests": requests 1-100, 101-200, ...;
the last one may hold fewer. A time window is a span aligned to the clock (``1h``:
08:00-09:00 UTC, ``1d``: a UTC day); a span without requests is no window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from harness.errors import InputError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$")
_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str, what: str = "duration") -> float:
    """Seconds in ``90s``, ``30m``, ``1h``, ``24h``, ``7d`` or ``2w``; anything else is an InputError naming ``what``."""
    match = _DURATION.match(str(text))
    if not match or float(match.group(1)) <= 0:
        raise InputError(f"{what} must be a positive duration like 30m, 1h, 24h or 7d, got {text!r}")
    return float(match.group(1)) * _SECONDS[match.group(2)]


def describe_duration(seconds: float) -> str:
    """``24 h``, ``7 d``, ``30 min``: the largest unit that divides the span, else hours with one decimal."""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds:g} s"


@dataclass(frozen=True)
class Window:
    """Requests ``start`` (inclusive) to ``stop`` (exclusive) of a time-sorted stream, and the span they cover."""

    index: int
    start: int
    stop: int
    begins: str
    ends: str

    @property
    def size(self) -> int:
        return self.stop - self.start


def iso(time_ms: int | np.integer) -> str:
    """ISO 8601 UTC with a Z, to the second."""
    return datetime.fromtimestamp(int(time_ms) / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def count_windows(time_ms: np.ndarray, size: int) -> list[Window]:
    """Windows of ``size`` consecutive requests; each spans its first to its last request's time."""
    if size < 1:
        raise InputError(f"a window holds at least one request, got {size}")
    n = int(time_ms.size)
    return [
        Window(i, start, min(start + size, n), iso(time_ms[start]), iso(time_ms[min(start + size, n) - 1]))
        for i, start in enumerate(range(0, n, size))
    ]


def time_windows(time_ms: np.ndarray, seconds: float) -> list[Window]:
    """Windows of ``seconds`` aligned to the UTC clock (multiples of the span since 1970); empty spans are skipped."""
    span_ms = int(round(seconds * 1000))
    if span_ms < 1:
        raise InputError(f"a time window spans at least a millisecond, got {seconds} s")
    if time_ms.size == 0:
        return []
    bucket = time_ms // span_ms
    cuts = np.flatnonzero(np.diff(bucket)) + 1
    starts = np.concatenate(([0], cuts))
    stops = np.concatenate((cuts, [time_ms.size]))
    return [
        Window(i, int(a), int(b), iso(int(bucket[a]) * span_ms), iso((int(bucket[a]) + 1) * span_ms))
        for i, (a, b) in enumerate(zip(starts, stops))
    ]
