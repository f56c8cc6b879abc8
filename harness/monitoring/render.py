"""monitoring.json, monitoring.html and monitoring.pdf from a ``MonitoringReport`` alone.

HTML through the reports' Jinja2 environment (autoescaping on); the PDF through
``harness.reports.render.html_to_pdf`` as PDF/A-3b with monitoring.json attached, its
fetcher reading nothing outside the templates folder (no network). Charts are inline SVG.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from harness.files.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from harness.monitoring.ab import power_text_of, signed_pct
from harness.monitoring.charts import stream_charts
from harness.monitoring.results import MONITORING_FILE, MonitoringReport, StreamResult, WindowResult

MAX_WINDOW_ROWS = 60  # more windows than this: the table lists the windows that raised an alert
MAX_ALERT_ROWS = 300


@dataclass
class MonitoringPaths:
    json: Path
    html: Path | None
    pdf: Path | None


@dataclass
class StreamView:
    stream: StreamResult
    charts: list[Markup]
    windows: list[WindowResult]
    hidden: int


def thresholds_of(report: MonitoringReport) -> dict[str, float]:
    """The policy's lines the charts draw: max_drop, overconfidence, latency, error rate."""
    out: dict[str, float] = {}
    for rule in report.rules:
        if rule.kind == "accuracy_drop" and rule.max_drop is not None:
            out.setdefault("max_drop", rule.max_drop)
        elif rule.kind == "mean_confidence" and rule.max is not None:
            out.setdefault("overconfidence", rule.max)
        elif rule.kind == "latency_p95" and rule.max is not None:
            out.setdefault("latency", rule.max)
        elif rule.kind == "error_rate" and rule.max is not None:
            out.setdefault("error_rate", rule.max)
    return out


def stream_view(stream: StreamResult, report: MonitoringReport) -> StreamView:
    kinds = {rule.id: rule.kind for rule in report.rules}
    charts = [Markup(svg) for svg in stream_charts(stream, report.baseline.value, kinds, thresholds_of(report))]
    shown = stream.windows
    if len(shown) > MAX_WINDOW_ROWS:
        shown = [w for w in stream.windows if w.alerts][:MAX_WINDOW_ROWS]
    return StreamView(stream=stream, charts=charts, windows=shown, hidden=len(stream.windows) - len(shown))


def template_vars(report: MonitoringReport) -> dict[str, Any]:
    from harness.reports.render import stylesheet

    return {
        "report": report,
        "plan": report.plan,
        "views": [stream_view(s, report) for s in report.streams],
        "alerts": report.alerts[:MAX_ALERT_ROWS],
        "alerts_hidden": max(0, len(report.alerts) - MAX_ALERT_ROWS),
        "counts": report.alert_counts(),
        "css": stylesheet("report.css", "monitoring.css"),
        "power_text": power_text_of,
        "signed_pct": signed_pct,
    }


def render_html(report: MonitoringReport) -> str:
    from harness.reports.render import jinja_environment

    return jinja_environment().get_template("monitoring.html.j2").render(**template_vars(report))


def write_monitoring(
    report: MonitoringReport, out_dir: Path, *, html: bool = True, pdf: bool = True
) -> MonitoringPaths:
    """Write monitoring.json, and monitoring.html and monitoring.pdf unless told not to, into ``out_dir``."""
    json_path = atomic_write_json(out_dir / MONITORING_FILE, report.model_dump(mode="json"))
    if not html and not pdf:
        return MonitoringPaths(json=json_path, html=None, pdf=None)
    page = render_html(report)
    html_path = atomic_write_text(out_dir / "monitoring.html", page) if html else None
    pdf_path = None
    if pdf:
        from harness.reports.render import html_to_pdf

        pdf_bytes, _ = html_to_pdf(
            page,
            title=f"harness post-market monitoring: {', '.join(s.model for s in report.streams)}",
            metadata={
                "baseline_run_id": report.baseline.run_id,
                "policy": f"{report.policy.name} v{report.policy.version}",
                "date": report.generated_at,
            },
            attachments={MONITORING_FILE: json.dumps(report.model_dump(mode="json"), indent=2).encode()},
            pdf_variant="pdf/a-3b",
        )
        pdf_path = atomic_write_bytes(out_dir / "monitoring.pdf", pdf_bytes)
    return MonitoringPaths(json=json_path, html=html_path, pdf=pdf_path)
