"""Charts as small hand-written SVG: inline, no fonts to fetch, identical in HTML and PDF.

Every label is escaped, so item text can never become markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from harness.schema.results import Metric

if TYPE_CHECKING:
    from harness.reports.risk import RiskCriteria, RiskRow

FONT = 'font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif"'


def reliability_diagram_svg(
    bins: Sequence[dict[str, Any]], *, width: int = 320, height: int = 290, title: str = ""
) -> str:
    """Reliability diagram: accuracy per confidence bin against the diagonal of perfect calibration.

    Bars are the bins' accuracies at their confidence range, a dot marks each bin's mean
    confidence, and a bar's label is its item count. Empty bins are left blank.
    """
    left, right, top, bottom = 44, 12, 22, 52
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(v: float) -> float:
        return left + v * plot_w

    def y(v: float) -> float:
        return top + (1 - v) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title or "reliability diagram")}">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#999"/>',
    ]
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        parts.append(f'<line x1="{x(tick):.1f}" y1="{y(0):.1f}" x2="{x(tick):.1f}" y2="{y(0) + 4:.1f}" stroke="#666"/>')
        parts.append(
            f'<text x="{x(tick):.1f}" y="{y(0) + 15:.1f}" font-size="9" text-anchor="middle" {FONT}>{tick:.1f}</text>'
        )
        parts.append(f'<line x1="{left - 4}" y1="{y(tick):.1f}" x2="{left}" y2="{y(tick):.1f}" stroke="#666"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y(tick) + 3:.1f}" font-size="9" text-anchor="end" {FONT}>{tick:.1f}</text>'
        )
    for b in bins:
        if not b.get("count"):
            continue
        x0, x1 = x(b["lower"]), x(b["upper"])
        acc = b["accuracy"] or 0.0
        parts.append(
            f'<rect x="{x0 + 1:.1f}" y="{y(acc):.1f}" width="{max(x1 - x0 - 2, 1):.1f}" height="{y(0) - y(acc):.1f}" '
            f'fill="#4c78a8" fill-opacity="0.75"><title>{escape(_bin_label(b))}</title></rect>'
        )
        parts.append(
            f'<circle cx="{x(b["mean_confidence"]):.1f}" cy="{y(b["mean_confidence"]):.1f}" r="2.5" fill="#b3261e"/>'
        )
        parts.append(
            f'<text x="{(x0 + x1) / 2:.1f}" y="{y(acc) - 3:.1f}" font-size="7.5" text-anchor="middle" fill="#333" {FONT}>'
            f"{int(b['count'])}</text>"
        )
    parts.append(f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#555" stroke-dasharray="4 3"/>')
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 22}" font-size="10" text-anchor="middle" {FONT}>confidence</text>'
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" font-size="8" text-anchor="middle" fill="#444" {FONT}>'
        "bars: accuracy per bin; dots: mean confidence; numbers: items</text>"
    )
    parts.append(
        f'<text x="12" y="{top + plot_h / 2:.1f}" font-size="10" text-anchor="middle" {FONT} '
        f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">accuracy</text>'
    )
    if title:
        parts.append(f'<text x="{left}" y="14" font-size="10.5" font-weight="bold" {FONT}>{escape(title)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _bin_label(b: dict[str, Any]) -> str:
    return (
        f"confidence {b['lower']:.1f}-{b['upper']:.1f}: {b['count']} items, "
        f"accuracy {b['accuracy']:.3f}, mean confidence {b['mean_confidence']:.3f}"
    )


def risk_heat_map_svg(rows: Sequence[RiskRow], criteria: RiskCriteria, *, size: int = 300) -> str:
    """5x5 severity x likelihood grid coloured by zone; initial positions filled, residual hollow, joined by arrows."""
    left, top, cell = 46, 10, (size - 56) / 5
    width, height = size + 10, int(top + 5 * cell + 34)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" aria-label="risk heat map">',
        '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="6" refY="3" orient="auto">'
        '<path d="M0,0 L6,3 L0,6 z" fill="#333"/></marker></defs>',
    ]

    def centre(severity: int, likelihood: int, offset: float = 0.0) -> tuple[float, float]:
        return left + (likelihood - 0.5) * cell + offset, top + (5 - severity + 0.5) * cell

    for s in range(1, 6):
        for lk in range(1, 6):
            zone = criteria.zone(s, lk)
            x, y = left + (lk - 1) * cell, top + (5 - s) * cell
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell:.1f}" height="{cell:.1f}" fill="{escape(zone.colour)}" stroke="#fff"/>'
            )
        parts.append(
            f'<text x="{left - 6}" y="{top + (5 - s + 0.55) * cell:.1f}" font-size="9" text-anchor="end" {FONT}>S{s}</text>'
        )
    for lk in range(1, 6):
        parts.append(
            f'<text x="{left + (lk - 0.5) * cell:.1f}" y="{top + 5 * cell + 12:.1f}" font-size="9" text-anchor="middle" {FONT}>L{lk}</text>'
        )
    parts.append(
        f'<text x="{left + 2.5 * cell:.1f}" y="{height - 4}" font-size="10" text-anchor="middle" {FONT}>likelihood (from measured failure rate)</text>'
    )
    parts.append(
        f'<text x="10" y="{top + 2.5 * cell:.1f}" font-size="10" text-anchor="middle" {FONT} transform="rotate(-90 10 {top + 2.5 * cell:.1f})">severity</text>'
    )
    placed: dict[tuple[int, int], int] = {}
    for row in rows:
        if not row.placed or row.initial_likelihood is None:  # measured on enough items only
            continue
        key = (row.initial_severity, row.initial_likelihood)
        offset = (placed.get(key, 0) - 1) * 12
        placed[key] = placed.get(key, 0) + 1
        x0, y0 = centre(*key, offset)
        if row.residual_severity and row.residual_likelihood:
            x1, y1 = centre(row.residual_severity, row.residual_likelihood, offset)
            parts.append(
                f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="#333" stroke-width="1.2" marker-end="url(#arrow)"/>'
            )
            parts.append(f'<circle cx="{x1:.1f}" cy="{y1:.1f}" r="7" fill="#fff" stroke="#333"/>')
            parts.append(
                f'<text x="{x1:.1f}" y="{y1 + 3:.1f}" font-size="8" text-anchor="middle" {FONT}>{row.number}</text>'
            )
        parts.append(f'<circle cx="{x0:.1f}" cy="{y0:.1f}" r="7" fill="#333"/>')
        parts.append(
            f'<text x="{x0:.1f}" y="{y0 + 3:.1f}" font-size="8" text-anchor="middle" fill="#fff" {FONT}>{row.number}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def interval_bars_svg(
    rows: Sequence[tuple[str, float, float | None, float | None]],
    *,
    title: str,
    reference: float | None = None,
    width: int = 640,
    bar: int = 14,
) -> str:
    """Horizontal bars of proportions in [0, 1] with 95% interval whiskers; an optional dashed reference line."""
    label_w, right, top = 190, 40, 22
    plot_w = width - label_w - right
    height = top + len(rows) * (bar + 6) + 26
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="0" y="14" font-size="10.5" font-weight="bold" {FONT}>{escape(title)}</text>',
    ]

    def x(v: float) -> float:
        return label_w + max(0.0, min(1.0, v)) * plot_w

    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{x(tick):.1f}" y1="{top}" x2="{x(tick):.1f}" y2="{height - 22}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{x(tick):.1f}" y="{height - 10}" font-size="8.5" text-anchor="middle" {FONT}>{tick:.0%}</text>'
        )
    for i, (label, value, low, high) in enumerate(rows):
        y = top + i * (bar + 6)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar - 3}" font-size="9" text-anchor="end" {FONT}>{escape(label)}</text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y}" width="{x(value) - label_w:.1f}" height="{bar}" fill="#4c78a8" fill-opacity="0.8"/>'
        )
        if low is not None and high is not None:
            mid = y + bar / 2
            parts.append(f'<line x1="{x(low):.1f}" y1="{mid:.1f}" x2="{x(high):.1f}" y2="{mid:.1f}" stroke="#222"/>')
            for end in (low, high):
                parts.append(
                    f'<line x1="{x(end):.1f}" y1="{y + 3}" x2="{x(end):.1f}" y2="{y + bar - 3}" stroke="#222"/>'
                )
        parts.append(
            f'<text x="{x(value) + 4 if high is None else x(high) + 4:.1f}" y="{y + bar - 3}" font-size="8.5" {FONT}>{value:.1%}</text>'
        )
    if reference is not None:
        parts.append(
            f'<line x1="{x(reference):.1f}" y1="{top - 4}" x2="{x(reference):.1f}" y2="{height - 22}" stroke="#b3261e" stroke-dasharray="4 3"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def training_curves_svg(curves: Sequence[dict[str, float]], *, width: int = 640, height: int = 230) -> str:
    """Training loss and eval loss per step (left axis) and the learning rate (right axis, dashed)."""
    left, right, top, bottom = 46, 56, 22, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    loss = [(c["step"], c["loss"]) for c in curves if "loss" in c and "step" in c]
    evals = [(c["step"], c["eval_loss"]) for c in curves if "eval_loss" in c and "step" in c]
    lrs = [(c["step"], c["learning_rate"]) for c in curves if "learning_rate" in c and "step" in c]
    if not loss and not evals:
        return ""
    steps = [s for s, _ in loss + evals] or [0, 1]
    x_max = max(steps) or 1
    values = [v for _, v in loss + evals]
    y_min, y_max = min(values), max(values)
    y_max = y_max if y_max > y_min else y_min + 1
    lr_max = max((v for _, v in lrs), default=1.0) or 1.0

    def x(step: float) -> float:
        return left + step / x_max * plot_w

    def y(value: float) -> float:
        return top + (1 - (value - y_min) / (y_max - y_min)) * plot_h

    def y_lr(value: float) -> float:
        return top + (1 - value / lr_max) * plot_h

    def path(points: Sequence[tuple[float, float]], fy: Any) -> str:
        return " ".join(f"{'M' if i == 0 else 'L'}{x(s):.1f},{fy(v):.1f}" for i, (s, v) in enumerate(points))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" aria-label="training curves">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#999"/>',
        f'<text x="0" y="14" font-size="10.5" font-weight="bold" {FONT}>Training curves</text>',
    ]
    for frac in (0.0, 0.5, 1.0):
        value = y_min + frac * (y_max - y_min)
        parts.append(
            f'<text x="{left - 4}" y="{y(value) + 3:.1f}" font-size="8.5" text-anchor="end" {FONT}>{value:.2f}</text>'
        )
        parts.append(
            f'<text x="{left + plot_w + 4}" y="{y_lr(frac * lr_max) + 3:.1f}" font-size="8.5" {FONT}>{frac * lr_max:.1e}</text>'
        )
        parts.append(
            f'<text x="{x(frac * x_max):.1f}" y="{top + plot_h + 12:.1f}" font-size="8.5" text-anchor="middle" {FONT}>{frac * x_max:.0f}</text>'
        )
    if loss:
        parts.append(f'<path d="{path(loss, y)}" fill="none" stroke="#4c78a8" stroke-width="1.2"/>')
    if evals:
        parts.append(f'<path d="{path(evals, y)}" fill="none" stroke="#b3261e" stroke-width="1.6"/>')
        parts += [f'<circle cx="{x(s):.1f}" cy="{y(v):.1f}" r="2.2" fill="#b3261e"/>' for s, v in evals]
    if lrs:
        parts.append(f'<path d="{path(lrs, y_lr)}" fill="none" stroke="#555" stroke-dasharray="4 3"/>')
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" font-size="9" text-anchor="middle" {FONT}>'
        "step (blue: training loss; red: eval loss; dashed grey: learning rate, right axis)</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def chart_svg(request: dict[str, Any], details: dict[str, Any], metrics: dict[str, Metric]) -> str:
    """Draw a chart a suite asked for in its details (``details["charts"]``).

    Kinds: ``reliability`` (bins from ``details[request["source"]]``) and
    ``interval_bars`` (``request["metrics"]`` by name, labelled ``request["labels"]``,
    with an optional dashed ``reference_metric``). An unknown kind draws nothing.
    """
    kind = request.get("kind")
    title = str(request.get("title", ""))
    if kind == "reliability":
        return reliability_diagram_svg(details.get(str(request.get("source")), []), title=title)
    if kind == "interval_bars":
        rows = []
        for name, label in zip(request.get("metrics", []), request.get("labels", []), strict=False):
            m = metrics.get(name)
            if m is not None and m.value is not None:
                rows.append((str(label), m.value, m.ci_low, m.ci_high))
        reference = metrics.get(str(request.get("reference_metric")))
        return interval_bars_svg(rows, title=title, reference=reference.value if reference else None) if rows else ""
    return ""
