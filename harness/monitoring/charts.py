"""Per-window line charts as small inline SVG: no fonts fetched, identical in HTML and PDF.

One builder (:func:`window_chart_svg`) draws series over window numbers, with optional
95% interval bands, horizontal threshold lines and red triangles over the windows that
raised an alert. Every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from harness.monitoring.results import StreamResult

FONT = 'font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif"'
COLORS = ("#4c78a8", "#f58518", "#54a24b", "#b279a2", "#9d755d", "#e45756")
ALERT = "#b3261e"


@dataclass
class Series:
    name: str
    values: Sequence[float | None]
    color: str = COLORS[0]
    low: Sequence[float | None] | None = None
    high: Sequence[float | None] | None = None
    dashed: bool = False


@dataclass
class Line:
    value: float
    label: str
    color: str = "#555"


@dataclass
class Chart:
    title: str
    series: list[Series]
    lines: list[Line] = field(default_factory=list)
    alerts: list[int] = field(default_factory=list)
    y_label: str = ""
    y_min: float | None = None
    y_max: float | None = None
    y_format: Callable[[float], str] = lambda v: f"{v:g}"


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten (Heckbert 1990)."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step + 1e-9) * step
    ticks = [first]
    while ticks[-1] < high - 1e-9:
        ticks.append(ticks[-1] + step)
    return [round(t, 10) for t in ticks]


def _scale(chart: Chart) -> list[float]:
    values = [v for s in chart.series for v in (*s.values, *(s.low or []), *(s.high or [])) if v is not None]
    values += [line.value for line in chart.lines]
    low = chart.y_min if chart.y_min is not None else (min(values) if values else 0.0)
    high = chart.y_max if chart.y_max is not None else (max(values) if values else 1.0)
    ticks = nice_ticks(low, high)
    if chart.y_max is not None and ticks[-1] > chart.y_max:
        ticks = [t for t in ticks if t < chart.y_max] + [chart.y_max]
    return ticks


def window_chart_svg(chart: Chart, *, width: int = 660, height: int = 210) -> str:
    """The chart over windows 0 .. n-1 (n = the longest series)."""
    left, right, top, bottom = 52, 150, 24, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max((len(s.values) for s in chart.series), default=0)
    ticks = _scale(chart)
    y0, y1 = ticks[0], ticks[-1]

    def x(i: float) -> float:
        return left + (i + 0.5) * plot_w / max(n, 1)

    def y(v: float) -> float:
        v = min(max(v, y0), y1)
        return top + (1 - (v - y0) / (y1 - y0)) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(chart.title)}">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#999"/>',
        f'<text x="{left}" y="15" font-size="10.5" font-weight="bold" {FONT}>{escape(chart.title)}</text>',
    ]
    for v in ticks:
        parts.append(f'<line x1="{left - 4}" y1="{y(v):.1f}" x2="{left}" y2="{y(v):.1f}" stroke="#666"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y(v) + 3:.1f}" font-size="8.5" text-anchor="end" {FONT}>'
            f"{escape(chart.y_format(v))}</text>"
        )
    step = max(1, math.ceil(n / 12))
    for i in range(0, n, step):
        parts.append(
            f'<text x="{x(i):.1f}" y="{top + plot_h + 12}" font-size="8.5" text-anchor="middle" {FONT}>{i}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" font-size="9" text-anchor="middle" {FONT}>window</text>'
    )
    if chart.y_label:
        parts.append(
            f'<text x="11" y="{top + plot_h / 2:.1f}" font-size="9" text-anchor="middle" {FONT} '
            f'transform="rotate(-90 11 {top + plot_h / 2:.1f})">{escape(chart.y_label)}</text>'
        )
    for line in chart.lines:
        parts.append(
            f'<line x1="{left}" y1="{y(line.value):.1f}" x2="{left + plot_w}" y2="{y(line.value):.1f}" '
            f'stroke="{line.color}" stroke-dasharray="5 3"/>'
        )
    for series in chart.series:
        parts.extend(_band(series, x, y))
        parts.extend(_polyline(series, x, y))
    for i in chart.alerts:
        cx = x(i)
        parts.append(
            f'<path d="M{cx - 4:.1f},{top + 1} L{cx + 4:.1f},{top + 1} L{cx:.1f},{top + 8}" fill="{ALERT}">'
            f"<title>alert in window {i}</title></path>"
        )
    legend = [(s.name, s.color, s.dashed) for s in chart.series] + [(ln.label, ln.color, True) for ln in chart.lines]
    if chart.alerts:
        legend.append(("alert raised", ALERT, False))
    for k, (name, color, dashed) in enumerate(legend):
        ly = top + 8 + k * 14
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        parts.append(
            f'<line x1="{left + plot_w + 10}" y1="{ly}" x2="{left + plot_w + 26}" y2="{ly}" stroke="{color}" '
            f'stroke-width="2"{dash}/>'
        )
        parts.append(f'<text x="{left + plot_w + 30}" y="{ly + 3}" font-size="8.5" {FONT}>{escape(name[:26])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _polyline(series: Series, x: Callable[[float], float], y: Callable[[float], float]) -> list[str]:
    """The series as polylines broken where a value is missing; a lone point gets a dot."""
    parts, run = [], []
    dash = ' stroke-dasharray="5 3"' if series.dashed else ""
    for i, v in enumerate([*series.values, None]):
        if v is not None:
            run.append(f"{x(i):.1f},{y(v):.1f}")
            continue
        if len(run) == 1:
            cx, cy = run[0].split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="2" fill="{series.color}"/>')
        elif run:
            parts.append(
                f'<polyline points="{" ".join(run)}" fill="none" stroke="{series.color}" stroke-width="1.6"{dash}/>'
            )
        run = []
    return parts


def _band(series: Series, x: Callable[[float], float], y: Callable[[float], float]) -> list[str]:
    if series.low is None or series.high is None:
        return []
    parts = []
    for i, (lo, hi) in enumerate(zip(series.low, series.high)):
        if lo is None or hi is None:
            continue
        parts.append(
            f'<line x1="{x(i):.1f}" y1="{y(lo):.1f}" x2="{x(i):.1f}" y2="{y(hi):.1f}" stroke="{series.color}" '
            'stroke-opacity="0.45" stroke-width="3"/>'
        )
    return parts


def _pct(v: float) -> str:
    return f"{v:.0%}"


def stream_charts(
    stream: StreamResult, baseline: float, rule_kinds: Mapping[str, str], thresholds: dict[str, float]
) -> list[str]:
    """The four charts of one model version: accuracy, confidence, drift, latency and errors.

    ``rule_kinds`` maps alert ids to their kinds (to mark each chart's own alerts);
    ``thresholds`` the policy's lines: max_drop, overconfidence, latency, error rate.
    """
    windows = stream.windows

    def marked(*kinds: str) -> list[int]:
        return [i for i, w in enumerate(windows) if any(rule_kinds.get(a) in kinds for a in w.alerts)]

    accuracy = Series(
        "realised accuracy (95% CI)",
        [w.accuracy.accuracy.value if w.accuracy else None for w in windows],
        COLORS[0],
        low=[w.accuracy.accuracy.low if w.accuracy else None for w in windows],
        high=[w.accuracy.accuracy.high if w.accuracy else None for w in windows],
    )
    lines = [Line(baseline, "baseline accuracy", "#333")]
    if "max_drop" in thresholds:
        lines.append(Line(baseline - thresholds["max_drop"], f"baseline - {thresholds['max_drop']:g}", ALERT))
    charts = [
        Chart(
            f"{stream.model}: accuracy per window",
            [accuracy],
            lines,
            marked("accuracy_drop"),
            "accuracy",
            y_max=1.0,
            y_format=_pct,
        )
    ]
    confidence_lines = []
    if "overconfidence" in thresholds:
        confidence_lines.append(
            Line(thresholds["overconfidence"], f"confidence {thresholds['overconfidence']:g}", ALERT)
        )
    charts.append(
        Chart(
            f"{stream.model}: confidence (expected accuracy) against realised accuracy",
            [
                Series(
                    "mean confidence (95% CI)",
                    [w.mean_confidence.value for w in windows],
                    COLORS[1],
                    low=[w.mean_confidence.low for w in windows],
                    high=[w.mean_confidence.high for w in windows],
                ),
                Series("realised accuracy", accuracy.values, COLORS[0], dashed=True),
            ],
            confidence_lines,
            marked("mean_confidence"),
            "share",
            y_max=1.0,
            y_format=_pct,
        )
    )
    drift_series = []
    for k, feature in enumerate(("confidence", "input_length", "output_category")):
        ratios: list[float | None] = []
        for w in windows:
            found = next((d for d in w.drift if d.feature == feature and d.tested), None)
            ratios.append(
                max((s.value / s.threshold for s in found.statistics if s.threshold > 0), default=None)
                if found
                else None
            )
        if any(r is not None for r in ratios):
            drift_series.append(Series(feature.replace("_", " "), ratios, COLORS[k + 2]))
    if drift_series:
        charts.append(
            Chart(
                f"{stream.model}: drift, largest statistic / its threshold",
                drift_series,
                [Line(1.0, "alarm threshold", ALERT)],
                marked("drift"),
                "ratio",
                y_min=0.0,
                y_format=lambda v: f"{v:.1f}",
            )
        )
    latency_lines = (
        [Line(thresholds["latency"], f"{thresholds['latency']:g} ms", ALERT)] if "latency" in thresholds else []
    )
    charts.append(
        Chart(
            f"{stream.model}: latency per window",
            [
                Series("p50 latency", [w.latency_p50.value for w in windows], COLORS[0]),
                Series("p95 latency", [w.latency_p95.value for w in windows], COLORS[1]),
            ],
            latency_lines,
            marked("latency_p95"),
            "ms",
            y_min=0.0,
            y_format=lambda v: f"{v:.0f}",
        )
    )
    error_lines = (
        [Line(thresholds["error_rate"], f"error rate {thresholds['error_rate']:.0%}", ALERT)]
        if "error_rate" in thresholds
        else []
    )
    charts.append(
        Chart(
            f"{stream.model}: error rate per window",
            [
                Series(
                    "error rate (95% CI)",
                    [w.error_rate.value for w in windows],
                    COLORS[5],
                    low=[w.error_rate.low for w in windows],
                    high=[w.error_rate.high for w in windows],
                )
            ],
            error_lines,
            marked("error_rate", "complaints"),
            "share",
            y_min=0.0,
            y_format=_pct,
        )
    )
    return [window_chart_svg(chart) for chart in charts]
