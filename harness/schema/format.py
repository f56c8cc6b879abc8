"""Plain-text renderings of metrics shared by the CLI, CI exports and reports."""

from __future__ import annotations

from typing import Protocol


class Measured(Protocol):
    @property
    def value(self) -> float | None: ...
    @property
    def ci_low(self) -> float | None: ...
    @property
    def ci_high(self) -> float | None: ...
    @property
    def n(self) -> int | None: ...


def format_metric(metric: Measured | None) -> str:
    """``0.2513 [0.2150, 0.2912] n=570`` or ``-`` when not measured."""
    if metric is None or metric.value is None:
        return "-"
    text = f"{metric.value:.4f}"
    if metric.ci_low is not None and metric.ci_high is not None:
        text += f" [{metric.ci_low:.4f}, {metric.ci_high:.4f}]"
    if metric.n is not None:
        text += f" n={metric.n}"
    return text
