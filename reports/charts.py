"""Charts as small hand-written SVG: inline, no fonts to fetch, identical in HTML and PDF.

Every label is escaped, so item text can never become markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

FONT = 'font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif"'


def reliability_diagram_svg(bins: Sequence[dict[str, Any]], *, width: int = 320, height: int = 290, title: str = "") -> str:
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
        parts.append(f'<text x="{x(tick):.1f}" y="{y(0) + 15:.1f}" font-size="9" text-anchor="middle" {FONT}>{tick:.1f}</text>')
        parts.append(f'<line x1="{left - 4}" y1="{y(tick):.1f}" x2="{left}" y2="{y(tick):.1f}" stroke="#666"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 3:.1f}" font-size="9" text-anchor="end" {FONT}>{tick:.1f}</text>')
    for b in bins:
        if not b.get("count"):
            continue
        x0, x1 = x(b["lower"]), x(b["upper"])
        acc = b["accuracy"] or 0.0
        parts.append(
            f'<rect x="{x0 + 1:.1f}" y="{y(acc):.1f}" width="{max(x1 - x0 - 2, 1):.1f}" height="{y(0) - y(acc):.1f}" '
            f'fill="#4c78a8" fill-opacity="0.75"><title>{escape(_bin_label(b))}</title></rect>'
        )
        parts.append(f'<circle cx="{x(b["mean_confidence"]):.1f}" cy="{y(b["mean_confidence"]):.1f}" r="2.5" fill="#b3261e"/>')
        parts.append(
            f'<text x="{(x0 + x1) / 2:.1f}" y="{y(acc) - 3:.1f}" font-size="7.5" text-anchor="middle" fill="#333" {FONT}>'
            f'{int(b["count"])}</text>'
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
