"""Gate verdicts for CI: JUnit XML (one testcase per rule) and a Markdown job summary.

Policy text (rule ids, bounds, articles, reasons) and run ids reach the Markdown summary
made inert, as the HTML report escapes them: HTML special characters become entities and
Markdown syntax is backslash-escaped (:func:`markdown_text`), identifiers sit in code spans
that cannot be closed from inside (:func:`markdown_code`). A policy cannot put a live tag,
image or link into a CI job summary.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import escape

from harness.schema.format import format_metric
from harness.schema.verdict import Verdict

OUTCOME_LABEL = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "not-measured": "NOT MEASURED"}


def verdict_to_junit(verdict: Verdict) -> str:
    failures = sum(o.blocking for o in verdict.outcomes)
    skipped = sum(o.outcome == "not-measured" and not o.blocking for o in verdict.outcomes)
    suites = ET.Element("testsuites", name="harness gate")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"harness gate: {verdict.policy}",
        tests=str(len(verdict.outcomes)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        timestamp=verdict.created_at,
    )
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("run_id", verdict.run_id),
        ("baseline_run_id", verdict.baseline_run_id or ""),
        ("verdict", verdict.verdict),
    ):
        ET.SubElement(properties, "property", name=key, value=value)
    for o in verdict.outcomes:
        case = ET.SubElement(suite, "testcase", classname=f"harness.gate.{verdict.policy}", name=o.rule_id)
        detail = f"{o.metric} = {format_metric(o)}; bound {o.bound}; {o.evidence}; {o.article}"
        if o.blocking:
            tag = "failure"
            ET.SubElement(case, tag, message=f"{OUTCOME_LABEL[o.outcome]}: {o.evidence}", type=o.outcome).text = detail
        elif o.outcome == "not-measured":
            ET.SubElement(case, "skipped", message=o.evidence)
        ET.SubElement(case, "system-out").text = f"{OUTCOME_LABEL[o.outcome]}: {detail}"
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def verdict_to_markdown(verdict: Verdict) -> str:
    head = "PASSED" if verdict.verdict == "pass" else "FAILED"
    counts = verdict.counts()
    lines = [
        f"## harness gate {head}: policy {markdown_code(verdict.policy)}",
        "",
        f"Run {markdown_code(verdict.run_id)}"
        + (f" against baseline {markdown_code(verdict.baseline_run_id)}" if verdict.baseline_run_id else "")
        + f". {counts['pass']} passed, {counts['warn']} warned, {counts['fail']} failed, {counts['not-measured']} not measured.",
        "",
        "| Outcome | Rule | Metric | Measured (95% CI, n) | Bound | Article |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for o in verdict.outcomes:
        cells = [
            OUTCOME_LABEL[o.outcome],
            markdown_text(o.rule_id),
            markdown_code(o.metric),
            markdown_text(format_metric(o)),
            markdown_text(o.bound),
            markdown_text(o.article),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [o for o in verdict.outcomes if o.outcome != "pass"]
    if notes:
        lines += ["", "**Why it matters**", ""]
        lines += [f"- {markdown_code(o.rule_id)}: {markdown_text(o.evidence)}. {markdown_text(o.why)}" for o in notes]
    return "\n".join(lines) + "\n"


def markdown_text(text: object) -> str:
    """User text made inert for Markdown: one line, HTML escaped to entities, Markdown syntax backslash-escaped."""
    value = escape(" ".join(str(text).split()), quote=False)
    return re.sub(r"([\\`*_{}\[\]()#+!|~>])", r"\\\1", value)


IDENTIFIER = re.compile(r"[\w.@:/=,+\-\[\] ]*")


def markdown_code(text: object) -> str:
    """An identifier in a code span; text that is not a plain identifier (a tag, a backtick, a pipe) is
    escaped as :func:`markdown_text` instead, so nothing can close the span or become markup."""
    value = " ".join(str(text).split())
    return f"`{value}`" if IDENTIFIER.fullmatch(value) else markdown_text(value)
