"""Gate verdicts for CI: JUnit XML (one testcase per rule) and a Markdown job summary."""

from __future__ import annotations

import xml.etree.ElementTree as ET

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
        f"## harness gate {head}: policy `{verdict.policy}`",
        "",
        f"Run `{verdict.run_id}`"
        + (f" against baseline `{verdict.baseline_run_id}`" if verdict.baseline_run_id else "")
        + f". {counts['pass']} passed, {counts['warn']} warned, {counts['fail']} failed, {counts['not-measured']} not measured.",
        "",
        "| Outcome | Rule | Metric | Measured (95% CI, n) | Bound | Article |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for o in verdict.outcomes:
        cells = [OUTCOME_LABEL[o.outcome], o.rule_id, f"`{o.metric}`", format_metric(o), o.bound, o.article]
        lines.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
    notes = [o for o in verdict.outcomes if o.outcome != "pass"]
    if notes:
        lines += ["", "**Why it matters**", ""]
        lines += [f"- `{o.rule_id}`: {_md_escape(o.evidence)}. {_md_escape(o.why)}" for o in notes]
    return "\n".join(lines) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
