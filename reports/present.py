"""How numbers and text read in every rendered document: by unit, by direction, escaped.

A metric's ``unit`` (``harness.schema.results.Unit``) decides its printing: a
``proportion`` as a percentage, a ``score`` or ``nats`` as a decimal, a ``factor`` as
x.xx, ``seconds`` with "s", a ``count`` as a whole number. A change is "better" or
"worse" by the metric's ``direction``, never by its sign. Identifiers get a ``<wbr>``
after "_" and "." so a narrow table cell breaks there and not mid-word. Text bound for
Markdown (the Hugging Face README, the gate's job summary) is escaped as the HTML is:
HTML special characters become entities and Markdown syntax is backslash-escaped, so
user text can never become a tag, a link or a table cell of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from markupsafe import Markup
from markupsafe import escape as markup_escape

from harness.gate.ci_exports import markdown_code, markdown_text

__all__ = ["markdown_code", "markdown_text"]

MISSING = "–"  # an en dash: a value that was not measured (never a placeholder for human input)


class HasUnit(Protocol):
    @property
    def value(self) -> float | None: ...
    @property
    def ci_low(self) -> float | None: ...
    @property
    def ci_high(self) -> float | None: ...
    @property
    def unit(self) -> str: ...


def format_value(value: float | int | None, unit: str | None = "score", digits: int | None = None) -> str:
    """One value as its unit reads: ``71.2%``, ``0.123``, ``1.50``, ``2.31 s``, ``1,204``."""
    if value is None:
        return MISSING
    if unit == "proportion":
        return f"{100 * value:.{1 if digits is None else digits}f}%"
    if unit == "count":
        return f"{round(value):,}"
    if unit == "seconds":
        return f"{value:.{2 if digits is None else digits}f} s"
    if unit == "factor":
        return f"{value:.{2 if digits is None else digits}f}"
    return f"{value:.{3 if digits is None else digits}f}"  # score, nats


def format_metric_value(metric: HasUnit | None, digits: int | None = None) -> str:
    return MISSING if metric is None else format_value(metric.value, metric.unit, digits=digits)


def format_interval(metric: HasUnit | None, digits: int | None = None) -> str:
    """``64.1% to 77.9%`` in the metric's unit, or a dash without an interval."""
    if metric is None or metric.ci_low is None or metric.ci_high is None:
        return MISSING
    unit = metric.unit
    d = digits if digits is not None else (1 if unit == "proportion" else 3)
    return f"{format_value(metric.ci_low, unit, digits=d)} to {format_value(metric.ci_high, unit, digits=d)}"


def format_change(change: float | None, unit: str | None = "score", digits: int | None = None) -> str:
    """A difference between two values of one unit: percentage points for proportions, else signed decimals."""
    if change is None:
        return MISSING
    if unit == "proportion":
        return f"{100 * change:+.{1 if digits is None else digits}f} pts"
    if unit == "seconds":
        return f"{change:+.{2 if digits is None else digits}f} s"
    if unit == "count":
        return f"{round(change):+,}"
    return f"{change:+.{3 if digits is None else digits}f}"


def format_p(p: float | None) -> str:
    """A p-value to three decimals, and ``< 0.001`` below that (never a misleading ``0.000``)."""
    if p is None:
        return MISSING
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def format_when(timestamp: object) -> str:
    """An ISO-8601 UTC timestamp as ``2026-11-22 08:39:06 UTC``; other text unchanged."""
    text = str(timestamp or "")
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:\+00:00|Z)", text)
    return f"{match.group(1)} {match.group(2)} UTC" if match else text


def change_effect(change: float | None, direction: str | None) -> str:
    """``better``, ``worse`` or ``neutral``: whether a change helps, by the metric's direction."""
    if change is None or change == 0 or direction not in ("higher", "lower"):
        return "neutral"
    improved = change > 0 if direction == "higher" else change < 0
    return "better" if improved else "worse"


def break_opportunities(text: object) -> Markup:
    """Escaped text with a ``<wbr>`` after each "_", ".", "/", ":" and "-", and after every 16 digits of a long
    hex run (a hash): identifiers break there, never mid-word."""
    escaped = str(markup_escape(str(text)))
    escaped = re.sub(r"([_./:-])(?=\S)", r"\1<wbr>", escaped)
    return Markup(re.sub(r"([0-9a-f]{16})(?=[0-9a-f])", r"\1<wbr>", escaped))


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def readable(value: object) -> str:
    """A setting as plain words: ``key: value`` pairs separated by "; ", lists joined by ", ", never a Python repr."""
    if isinstance(value, Mapping):
        if not value:
            return "none"
        return "; ".join(f"{str(k).replace('_', ' ')}: {_nested(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(_nested(v) for v in value) if value else "none"
    return _scalar(value)


def _nested(value: object) -> str:
    if isinstance(value, Mapping):
        return "(" + readable(value) + ")" if value else "none"
    return readable(value)


def plain_text(text: object) -> str:
    """Text with every HTML tag removed and the remaining angle brackets escaped: for YAML front matter."""
    value = re.sub(r"<[^>]*>", "", " ".join(str(text).split()))
    return value.replace("<", "‹").replace(">", "›")


def sentence_case(text: object) -> str:
    """The first letter upper-cased and the rest kept (``capitalize`` would print "Mmlu" and "Ece")."""
    value = str(text)
    return value[:1].upper() + value[1:]


def jinja_filters() -> dict[str, Any]:
    """The filters every template may use."""
    return {
        "value": format_value,
        "mvalue": format_metric_value,
        "interval": format_interval,
        "change": format_change,
        "effect": change_effect,
        "p": format_p,
        "when": format_when,
        "wbr": break_opportunities,
        "readable": readable,
        "sentence": sentence_case,
    }
