"""HTML and PDF reports rendered from a stored run alone (no model, no re-evaluation).

HTML comes from Jinja2 with autoescaping on; the PDF from WeasyPrint, whose URL fetcher
here may read only files inside the templates directory: no network, no other file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from harness.suites.forgetting import COMPARISON_FILE, RunComparison

from harness import __version__
from harness.atomic import atomic_write_bytes, atomic_write_text
from harness.errors import InputError
from harness.gate import Verdict, format_metric
from harness.judging import VERDICT_FILE
from harness.results import RunResult, load_results, resolve_results_path


def templates_dir() -> Path:
    return Path(str(files("harness.templates")))


def jinja_environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(templates_dir()),
        autoescape=select_autoescape(enabled_extensions=("html", "j2", "xml"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["metric"] = format_metric
    env.filters["pct"] = lambda v: "-" if v is None else f"{v:.1%}"
    env.filters["num"] = lambda v, d=4: "-" if v is None else f"{v:.{d}f}"
    return env


@dataclass
class ReportPaths:
    html: Path
    pdf: Path | None
    refused_urls: list[str] = field(default_factory=list)


def load_verdict(run_dir: Path) -> Verdict | None:
    path = run_dir / VERDICT_FILE
    if not path.is_file():
        return None
    try:
        return Verdict.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        raise InputError(f"{path}: not a harness verdict file") from None


def load_comparison(run_dir: Path) -> RunComparison | None:
    path = run_dir / COMPARISON_FILE
    if not path.is_file():
        return None
    try:
        return RunComparison.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        raise InputError(f"{path}: not a harness comparison file") from None


def is_summary_metric(name: str) -> bool:
    """Metrics of the main results table; per-subject, per-perturbation and per-group rows have their own sections."""
    return name.count(".") == 1 or name.startswith("gsm8k.")


def report_context(result: RunResult, verdict: Verdict | None, comparison: RunComparison | None = None) -> dict[str, Any]:
    from harness.reports.charts import reliability_diagram_svg
    from markupsafe import Markup

    subject_prefix = "mmlu.accuracy."
    calibration = result.details.get("calibration")
    charts = {}
    if calibration:
        charts["reliability"] = Markup(
            reliability_diagram_svg(calibration["reliability"], title="Reliability, 10 equal-width bins")
        )
        charts["reliability_equal_mass"] = Markup(
            reliability_diagram_svg(calibration["reliability_equal_mass"], title="Reliability, 10 equal-mass bins")
        )
    shown_comparisons = [
        c for c in (comparison.comparisons if comparison else []) if c.paired and c.n and (is_summary_metric(c.metric) or c.significant)
    ]
    return {
        "result": result,
        "verdict": verdict,
        "comparison": comparison,
        "shown_comparisons": shown_comparisons,
        "metrics": result.metric_map(),
        "headline_metrics": [m for m in result.metrics if is_summary_metric(m.name)],
        "subject_metrics": [m for m in result.metrics if m.name.startswith(subject_prefix)],
        "calibration": calibration,
        "robustness": result.details.get("robustness"),
        "fairness": result.details.get("fairness"),
        "charts": charts,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "harness_version": __version__,
        # our own stylesheet, trusted: escaping it would turn its quotes into entities and break the CSS
        "css": Markup((templates_dir() / "report.css").read_text(encoding="utf-8")),
    }


def render_html(result: RunResult, verdict: Verdict | None, comparison: RunComparison | None = None) -> str:
    return jinja_environment().get_template("report.html.j2").render(**report_context(result, verdict, comparison))


def render_report(run_ref: str | Path, out_dir: Path, *, pdf: bool = True) -> ReportPaths:
    """Write ``report.html`` and ``report.pdf`` for a run directory into ``out_dir``."""
    results_path = resolve_results_path(run_ref)
    result = load_results(results_path)
    verdict = load_verdict(results_path.parent)
    comparison = load_comparison(results_path.parent)
    html = render_html(result, verdict, comparison)
    html_path = atomic_write_text(out_dir / "report.html", html)
    if not pdf:
        return ReportPaths(html=html_path, pdf=None)
    pdf_bytes, refused = html_to_pdf(
        html,
        title=f"harness evaluation report: {result.run_id}",
        metadata={"fingerprint": result.model.fingerprint, "run_id": result.run_id},
        attachments={"results.json": results_path}
        | ({COMPARISON_FILE: results_path.parent / COMPARISON_FILE} if comparison else {}),
    )
    return ReportPaths(html=html_path, pdf=atomic_write_bytes(out_dir / "report.pdf", pdf_bytes), refused_urls=refused)


def html_to_pdf(
    html: str,
    *,
    title: str,
    metadata: dict[str, str],
    attachments: dict[str, Path | bytes] | None = None,
    pdf_variant: str | None = None,
    fetcher: Any = None,
) -> tuple[bytes, list[str]]:
    """PDF bytes from HTML; returns the URLs the restricted fetcher refused.

    ``pdf_variant`` "pdf/a-3b" gives an archival PDF/A-3b whose attachments are allowed
    (as associated files, relationship "Data").
    """
    from weasyprint import HTML, Attachment

    fetcher = fetcher or _local_fetcher_class()(templates_dir())
    document = HTML(string=html, base_url=str(templates_dir()) + "/", url_fetcher=fetcher)
    files_to_attach = [
        Attachment(
            string=item if isinstance(item, bytes) else item.read_bytes(), name=name, description=name,
            url_fetcher=fetcher, relationship="Data",
        )
        for name, item in (attachments or {}).items()
    ]
    rendered = document.render()
    rendered.metadata.title = title
    rendered.metadata.authors = ["harness " + __version__]
    rendered.metadata.keywords = [f"{k}={v}" for k, v in metadata.items()]
    options: dict[str, Any] = {"attachments": files_to_attach}
    if pdf_variant:
        options["pdf_variant"] = pdf_variant
    return rendered.write_pdf(**options), fetcher.refused


def _local_fetcher_class() -> type:
    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):
        """Fetches ``file:`` URLs inside one folder (and ``data:`` URIs); refuses all else."""

        def __init__(self, root: Path) -> None:
            super().__init__(allowed_protocols=("file", "data"))
            self.root = root.resolve()
            self.refused: list[str] = []
            self.requested: list[str] = []  # every URL the renderer asked for, allowed or not

        def fetch(self, url: str, headers: Any = None) -> Any:
            self.requested.append(url)
            parsed = urlparse(url)
            if parsed.scheme == "data":
                return super().fetch(url, headers)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if path == self.root or self.root in path.parents:
                    return super().fetch(url, headers)
            self.refused.append(url)
            raise ValueError(f"harness reports fetch nothing outside {self.root}: refused {url}")

    return LocalOnlyFetcher
