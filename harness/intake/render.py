"""Intake scorecards and decision records as Markdown, HTML and PDF, from their JSON records alone.

The decision record follows the form of the methodology's model-selection decisions:
context, decision, alternatives considered (with measured pros and cons), consequences and
validation metrics to track, with the decision matrix and the paired comparisons as its
evidence. Its PDF is PDF/A-3b with ``selection.json`` and each candidate's ``intake-*.json``
attached, so the archived document carries the data it was written from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.files.atomic import atomic_write_bytes, atomic_write_text
from harness.intake.record import INTAKE_FILE, SELECTION_FILE, Cell, IntakeRecord, SelectionRecord
from harness.intake.selection import Candidate, outcome_mark, safe_name

MARKDOWN_FILE, HTML_FILE, PDF_FILE = "decision-record.md", "decision-record.html", "decision-record.pdf"
TEMPLATE, STYLESHEET = "decision_record.html.j2", "decision_record.css"
STATUS_WORDS = {
    "decided": "Decided",
    "undecided": "Undecided: a person must choose",
    "none-eligible": "No candidate eligible",
}


def _md(text: object) -> str:
    """A value safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def cell_text(cell: Cell) -> str:
    return f"{cell.value} — {outcome_mark(cell.outcome)}"


def intake_markdown(record: IntakeRecord) -> str:
    """The scorecard as a Markdown table, with the verdict and what it was read from."""
    lines = [
        f"# Intake: {record.model.name}",
        "",
        f"Verdict **{record.verdict.upper()}** under policy {record.policy.name} v{record.policy.version} "
        f"({record.scope}); model `{record.model.fingerprint}`; weights not loaded; {record.cpu_seconds} s of CPU.",
        "",
        "| outcome | check | measured | threshold | why it matters |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in record.rows:
        lines.append(
            f"| {outcome_mark(row.outcome)} | {_md(row.label)} | {_md(row.value)} | {_md(row.threshold)} | {_md(row.why)} |"
        )
    lines += ["", "Evidence:", ""]
    lines += [f"- {_md(row.label)}: {_md(row.evidence)} ({_md(row.source)})" for row in record.rows if row.evidence]
    return "\n".join(lines) + "\n"


def decision_markdown(record: SelectionRecord) -> str:
    """The decision record in the methodology's form, as Markdown."""
    labels = [c.label for c in record.candidates]
    out = [
        f"# Decision: {record.title}",
        "",
        f"**Date**: {record.created_at[:10]}  ",
        f"**Status**: {STATUS_WORDS[record.status]}  ",
        "**Deciders**: harness select (evidence); sign-off: ____________________  ",
        f"**Policy**: {record.policy.name} v{record.policy.version} (sha256 {record.policy.sha256[:12]}), "
        f"minimums {record.minimums.name} v{record.minimums.version}, alpha {record.alpha:g}",
        "",
        "## Context",
        "",
        record.context,
        "",
        "Candidates: "
        + "; ".join(
            f"{c.label} (`{c.model.fingerprint}`, runs: {', '.join(c.runs) or 'none'})" for c in record.candidates
        ),
        "",
        "## Decision",
        "",
        f"**{record.decision}**",
        "",
    ]
    out += [f"- {_md(line)}" for line in record.rationale]
    out += ["", "## Decision matrix", "", "| criterion | weight | " + " | ".join(_md(x) for x in labels) + " |"]
    out.append("| --- | ---: | " + " | ".join("---" for _ in labels) + " |")
    for row in record.matrix:
        name = _md(row.label) + (" (required)" if row.required else "")
        cells = " | ".join(_md(cell_text(row.cells[label])) for label in labels)
        out.append(f"| {name} | {row.weight:g} | {cells} |")
    out.append(
        "| **score** (weighted share of points) |  | " + " | ".join(f"{c.score:.0%}" for c in record.candidates) + " |"
    )
    out += ["", "## Paired comparisons", ""]
    if record.comparisons:
        out += [f"- {_md(f.statement)}" for f in record.comparisons]
    else:
        out.append("- No benchmark was measured on two candidates: nothing to compare.")
    out += ["", "## Alternatives considered", ""]
    for candidate in record.candidates:
        role = "chosen" if candidate.label == record.chosen else "eligible" if candidate.eligible else "not eligible"
        out += [f"### {candidate.label} ({role}, score {candidate.score:.0%})", ""]
        out += ["**Pros** (measured):", ""] + ([f"- {_md(p)}" for p in candidate.pros] or ["- none"])
        out += ["", "**Cons** (measured):", ""] + ([f"- {_md(c)}" for c in candidate.cons] or ["- none"])
        out.append("")
    out += ["## Consequences", ""]
    for kind in ("positive", "negative", "neutral"):
        out += [f"### {kind.capitalize()}", ""] + (
            [f"- {_md(x)}" for x in record.consequences.get(kind, [])] or ["- none"]
        )
        out.append("")
    out += ["## Validation metrics to track", ""]
    if record.validation_metrics:
        out += [f"- {_md(m['label'])} (`{m['metric']}`): {_md(m['track'])}" for m in record.validation_metrics]
    else:
        out.append("- none until a candidate is chosen")
    out += [
        "",
        "## Evidence",
        "",
        f"- selection record: `{SELECTION_FILE}` (schema harness.selection v{record.schema_version})",
    ]
    out += [f"- intake of {c.label}: `{c.intake_file}`" for c in record.candidates if c.intake_file]
    out.append(f"- written by harness {record.harness_version} at {record.created_at}")
    return "\n".join(out) + "\n"


def decision_html(record: SelectionRecord) -> str:
    from harness.reports.render import jinja_environment, stylesheet

    env = jinja_environment()
    env.filters["mark"] = outcome_mark
    return env.get_template(TEMPLATE).render(
        record=record,
        labels=[c.label for c in record.candidates],
        status=STATUS_WORDS[record.status],
        css=stylesheet(STYLESHEET),
        selection_file=SELECTION_FILE,
    )


@dataclass(frozen=True)
class DecisionPaths:
    markdown: Path
    html: Path
    pdf: Path | None
    selection: Path
    intakes: list[Path]


def write_decision_record(
    record: SelectionRecord, candidates: list[Candidate], out_dir: Path, *, pdf: bool = True
) -> DecisionPaths:
    """selection.json, each candidate's intake-<label>.json, and the record as Markdown, HTML and PDF/A-3b."""
    selection_json = record.model_dump_json(indent=2, by_alias=True)
    selection = atomic_write_text(out_dir / SELECTION_FILE, selection_json + "\n")
    intakes = []
    attachments: dict[str, Path | bytes] = {SELECTION_FILE: selection_json.encode("utf-8")}
    for candidate in candidates:
        if candidate.intake is not None:
            name = f"intake-{safe_name(candidate.label)}.json"
            text = candidate.intake.model_dump_json(indent=2, by_alias=True)
            intakes.append(atomic_write_text(out_dir / name, text + "\n"))
            attachments[name] = text.encode("utf-8")
    markdown = atomic_write_text(out_dir / MARKDOWN_FILE, decision_markdown(record))
    html = decision_html(record)
    html_path = atomic_write_text(out_dir / HTML_FILE, html)
    pdf_path = None
    if pdf:
        from harness.reports.render import html_to_pdf

        pdf_bytes, _ = html_to_pdf(
            html,
            title=f"Decision record: {record.title}",
            metadata={"status": record.status, "chosen": record.chosen or "none", "policy": record.policy.name},
            attachments=attachments,
            pdf_variant="pdf/a-3b",
        )
        pdf_path = atomic_write_bytes(out_dir / PDF_FILE, pdf_bytes)
    return DecisionPaths(markdown, html_path, pdf_path, selection, intakes)


def write_intake(record: IntakeRecord, out_dir: Path) -> tuple[Path, Path]:
    """intake.json and intake.md in ``out_dir``."""
    data = atomic_write_text(out_dir / INTAKE_FILE, record.model_dump_json(indent=2, by_alias=True) + "\n")
    markdown = atomic_write_text(out_dir / "intake.md", intake_markdown(record))
    return data, markdown
