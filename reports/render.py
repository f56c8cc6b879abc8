"""HTML and PDF reports rendered from a stored run alone (no model, no re-evaluation).

HTML comes from Jinja2 with autoescaping on; the PDF from WeasyPrint, whose URL fetcher
here may read only files inside the templates directory: no network, no other file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from markupsafe import Markup

from harness import __version__
from harness.comparison import load_comparison
from harness.errors import InputError
from harness.files.atomic import atomic_write_bytes, atomic_write_text
from harness.reports.charts import chart_svg
from harness.reports.context import ReportContext, SuiteSection
from harness.reports.present import MISSING, jinja_filters
from harness.schema.comparison import RunComparison, comparison_file_name
from harness.schema.format import format_metric
from harness.schema.results import BREAKDOWN_SCOPES, Metric, RunResult, load_results, resolve_results_path
from harness.schema.verdict import VERDICT_FILE, Verdict

if TYPE_CHECKING:
    from jinja2 import Environment

    from harness.store.runs import RunStore


def templates_dir() -> Path:
    return Path(str(files("harness.templates")))


def jinja_environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(templates_dir()),
        autoescape=select_autoescape(enabled_extensions=("html", "j2", "xml"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["metric"] = format_metric
    env.filters["pct"] = lambda v, d=1: MISSING if v is None else f"{100 * v:.{d}f}%"
    env.filters["num"] = lambda v, d=4: MISSING if v is None else f"{v:.{d}f}"
    env.filters.update(jinja_filters())
    return env


def stylesheet(*names: str) -> Markup:
    """Our own stylesheets, trusted: escaping them would turn their quotes into entities and break the CSS."""
    return Markup("".join((templates_dir() / name).read_text(encoding="utf-8") for name in names))


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


def verdict_comparison(run_dir: Path, verdict: Verdict | None) -> RunComparison | None:
    """The comparison the verdict was judged with (against its baseline), if one was stored."""
    if verdict is None or verdict.baseline_run_id is None:
        return None
    return load_comparison(run_dir, verdict.baseline_run_id)


def suite_sections(result: RunResult) -> list[SuiteSection]:
    """One section per completed suite: its whole-suite metrics, its breakdown tables, its charts."""
    metrics = result.metric_map()
    sections = []
    for name in result.suites:
        status = result.suite_status.get(name)
        if status is None or status.status != "completed":
            continue
        mine = [m for m in result.metrics if m.suite == name]
        breakdowns: dict[str, list[Metric]] = {}
        for m in mine:
            if m.scope in BREAKDOWN_SCOPES:
                breakdowns.setdefault(m.scope, []).append(m)
        details = result.details.get(name, {})
        charts = [Markup(chart_svg(request, details, metrics)) for request in details.get("charts", [])]
        own = f"sections/{name}.html.j2"
        # a suite's own template reads its details; a run without them gets the generic one
        template = own if details and (templates_dir() / own).is_file() else "sections/_generic.html.j2"
        sections.append(
            SuiteSection(
                name=name,
                status=status,
                summary=[m for m in mine if not m.is_breakdown],
                breakdowns=breakdowns,
                details=details,
                charts=charts,
                template=template,
            )
        )
    return sections


def report_context(
    result: RunResult, verdict: Verdict | None, comparison: RunComparison | None = None
) -> ReportContext:
    return ReportContext(
        result=result,
        verdict=verdict,
        comparison=comparison,
        sections=suite_sections(result),
        css=stylesheet("report.css"),
    )


def render_html(result: RunResult, verdict: Verdict | None, comparison: RunComparison | None = None) -> str:
    context = report_context(result, verdict, comparison)
    return jinja_environment().get_template("report.html.j2").render(**context.template_vars())


def render_report(
    run_ref: str | Path, out_dir: Path, *, pdf: bool = True, store: RunStore | None = None
) -> ReportPaths:
    """Write ``report.html`` and an archival ``report.pdf`` (PDF/A-3b, results attached) for a run into ``out_dir``.

    With a ``store``, the rendering is appended to the audit log (``rendering``, kind ``report``).
    """
    results_path = resolve_results_path(run_ref)
    result = load_results(results_path)
    verdict = load_verdict(results_path.parent)
    comparison = verdict_comparison(results_path.parent, verdict)
    html = render_html(result, verdict, comparison)
    html_path = atomic_write_text(out_dir / "report.html", html)
    pdf_path = None
    refused: list[str] = []
    if pdf:
        attachments: dict[str, Path | bytes] = {"results.json": results_path}
        if (results_path.parent / VERDICT_FILE).is_file():
            attachments[VERDICT_FILE] = results_path.parent / VERDICT_FILE
        if comparison is not None:
            attachments[comparison_file_name(comparison.reference_run)] = comparison.model_dump_json(indent=2).encode()
        pdf_bytes, refused = html_to_pdf(
            html,
            title=f"harness evaluation report: {result.run_id}",
            metadata={"fingerprint": result.model.fingerprint, "run_id": result.run_id},
            attachments=attachments,
            pdf_variant="pdf/a-3b",
        )
        pdf_path = atomic_write_bytes(out_dir / "report.pdf", pdf_bytes)
    if store is not None:
        record_rendering(store, result.run_id, "report", html_path, pdf_path)
    return ReportPaths(html=html_path, pdf=pdf_path, refused_urls=refused)


def record_rendering(store: RunStore, run_id: str, kind: str, html: Path, pdf: Path | None) -> dict[str, Any]:
    """Append a rendering (``dossier`` or ``report``) to the audit log with its files' SHA-256 (Art. 12)."""
    from harness.files.hashing import sha256_file
    from harness.store.audit import record_event

    return record_event(
        store,
        run_id,
        "rendering",
        {
            "kind": kind,
            "html": str(html.resolve()),
            "html_sha256": sha256_file(html),
            "pdf": str(pdf.resolve()) if pdf else None,
            "pdf_sha256": sha256_file(pdf) if pdf else None,
        },
    )


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

    fetcher = fetcher or local_fetcher(templates_dir())
    document = HTML(string=html, base_url=str(templates_dir()) + "/", url_fetcher=fetcher)
    files_to_attach = [
        Attachment(
            string=item if isinstance(item, bytes) else item.read_bytes(),
            name=name,
            description=name,
            url_fetcher=fetcher,
            relationship="Data",
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


def local_fetcher(root: Path) -> Any:
    """A WeasyPrint URL fetcher that reads ``file:`` URLs inside ``root`` (and ``data:`` URIs), and refuses all else."""
    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):
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

    return LocalOnlyFetcher(root)
