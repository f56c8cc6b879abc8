"""How reports read: units decide printing, direction decides colour, identifiers break cleanly, text is inert."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.gate.ci_exports import verdict_to_markdown
from harness.reports.present import break_opportunities, change_effect, format_change, format_value, readable
from harness.reports.render import render_html, render_report, templates_dir
from harness.schema.comparison import PairedComparison, RunComparison
from harness.schema.results import Metric, RunResult, SuiteStatus
from harness.schema.verdict import RuleOutcome, Verdict
from tests.helpers import make_result, store_result

INJECTION = '<script>alert(1)</script> <img src="http://x">'


def metric(name: str, value: float, unit: str, direction: str = "lower", **extra: object) -> Metric:
    return Metric(name=name, value=value, n=228, suite=name.split(".")[0], unit=unit, direction=direction, **extra)  # type: ignore[arg-type]


def failing_verdict(
    outcome: RuleOutcome, *, run_id: str, policy: str = "p", created_at: str = "2026-11-22T00:00:00+00:00"
) -> Verdict:
    """A failing verdict of one rule outcome, as the gate would write it."""
    return Verdict(
        run_id=run_id,
        baseline_run_id=None,
        policy=policy,
        policy_path="p.yaml",
        policy_sha256="0" * 64,
        created_at=created_at,
        verdict="fail",
        exit_code=1,
        outcomes=[outcome],
    )


def calibrated_run() -> RunResult:
    result = make_result("run-units", {"mmlu.accuracy": (54, 228)})
    result.metrics += [
        metric("calibration.nll", 3.415, "nats", ci_low=3.1, ci_high=3.7),
        metric("calibration.brier", 1.114, "score", ci_low=1.0, ci_high=1.2),
        metric("calibration.temperature", 20.0, "factor", "neutral"),
        metric("oracle.seconds_per_item", 2.5, "seconds"),
        metric("calibration.ece", 0.409, "score", ci_low=0.355, ci_high=0.466),
        metric("calibration.ece_debiased", 0.43, "score", ci_low=0.38, ci_high=0.49),
    ]
    result.suites += ["calibration"]
    result.suite_status["calibration"] = SuiteStatus(
        status="completed", n_items=228, settings={"sources": ["mmlu"], "nested": {"a_b": [1, 2], "c": None}}
    )
    result.details["calibration"] = {
        "n": 228,
        "sources": ["mmlu"],
        "direction": "overconfident",
        "accuracy": 0.237,
        "mean_confidence": 0.644,
        "reliability": [],
        "reliability_equal_mass": [],
        "temperature_scaling": {
            "temperature": 20.0,
            "fit_items": 114,
            "evaluation_items": 114,
            "ece_before": 0.45,
            "ece_after": 0.08,
            "at_bound": True,
            "reason": "no advice: the fit sits at its upper search bound (20)",
        },
    }
    return result


def test_the_unit_decides_how_a_value_prints() -> None:
    assert format_value(0.2371, "proportion") == "23.7%"
    assert format_value(3.415, "nats") == "3.415" and format_value(1.114, "score") == "1.114"
    assert format_value(20.0, "factor") == "20.00" and format_value(2.5, "seconds") == "2.50 s"
    assert format_value(1204, "count") == "1,204" and format_value(None, "score") == "–"
    assert format_change(-0.026, "proportion") == "-2.6 pts" and format_change(-1.197, "nats") == "-1.197"


def test_no_loss_score_or_temperature_is_printed_as_a_percentage() -> None:
    html = render_html(calibrated_run(), None)
    for wrong in ("341.5%", "111.4%", "2000.0%", "250.0%"):
        assert wrong not in html
    for right in ("3.415", "1.114", "20.00", "2.50 s", "23.7%"):
        assert right in html


def test_a_change_is_coloured_by_whether_it_is_better_for_that_metric() -> None:
    assert change_effect(-1.2, "lower") == "better" and change_effect(-0.03, "higher") == "worse"
    assert change_effect(0.5, "neutral") == "neutral"
    comparison = RunComparison(
        reference_run="base",
        candidate_run="run-units",
        reference_fingerprint="sha256:" + "cd" * 32,
        candidate_fingerprint="sha256:" + "ab" * 32,
        alpha=0.05,
        adjustment="holm",
        unmatched_items=0,
        comparisons=[
            PairedComparison(
                metric=name,
                direction=direction,
                unit=unit,
                paired=True,
                n=228,
                reference=ref,
                candidate=new,
                change=new - ref,
                relative_change=None,
                relative_drop=None,
                p_value=p,
                p_adjusted=min(1.0, 2 * p),
                significant=2 * p < 0.05,
            )
            for name, direction, unit, ref, new, p in (
                ("calibration.nll", "lower", "nats", 3.415, 2.219, 0.0001),
                ("mmlu.accuracy", "higher", "proportion", 0.263, 0.237, 0.61),
            )
        ],
    )
    html = render_html(calibrated_run(), None, comparison)
    rows = {
        m: re.search(rf'<tr class="([^"]+)"><td><code data-metric="[^"]+">{re.escape(m)}', html)
        for m in ("calibration.<wbr>nll", "mmlu.<wbr>accuracy")
    }
    assert rows["calibration.<wbr>nll"] and rows["calibration.<wbr>nll"].group(1) == "change-better significant"
    assert rows["mmlu.<wbr>accuracy"] and rows["mmlu.<wbr>accuracy"].group(1) == "change-worse"
    assert "after Holm's adjustment (Holm 1979) over the 2 tested rows" in html
    assert "&lt; 0.001" in html and "0.610" in html and "p (Holm)" in html


def test_identifiers_break_at_underscores_and_dots_and_the_css_never_breaks_mid_word() -> None:
    assert (
        str(break_opportunities("calibration.coverage_accuracy_auc"))
        == "calibration.<wbr>coverage_<wbr>accuracy_<wbr>auc"
    )
    assert str(break_opportunities("<b>_x")) == "&lt;b&gt;_<wbr>x"
    css = (templates_dir() / "report.css").read_text(encoding="utf-8")
    assert "overflow-wrap: break-word; hyphens: manual" in css
    assert re.search(r"th \{[^}]*overflow-wrap: normal", css) and re.search(r"code \{ overflow-wrap: normal; \}", css)
    assert "anywhere" not in css.replace("td.mono { overflow-wrap: anywhere; }", "")  # only hash cells
    html = render_html(calibrated_run(), None)
    assert "calibration.<wbr>ece_<wbr>debiased" in html
    assert '<code data-metric="calibration.ece_debiased">' in html  # the exact id stays searchable in the HTML


def test_settings_read_as_words_not_python_structures() -> None:
    assert readable({"subjects": ["a", "b"], "gen_kwargs": {"max_gen_toks": 64}, "x": None, "y": True}) == (
        "subjects: a, b; gen kwargs: (max gen toks: 64); x: none; y: yes"
    )
    html = render_html(calibrated_run(), None)
    for raw in ("{'", "['", "': ", "None", "True"):
        assert raw not in html.split("<body>")[1], raw


def test_headings_captions_and_short_tables_are_kept_with_what_follows() -> None:
    css = (templates_dir() / "report.css").read_text(encoding="utf-8")
    assert "h2, h3, h4, p.caption, caption { break-after: avoid" in css
    assert "div.keep, section.keep > table { break-inside: avoid; }" in css


def test_a_temperature_at_its_search_bound_is_no_advice_and_debiased_ece_is_explained() -> None:
    html = render_html(calibrated_run(), None)
    assert "No temperature advice for deployers." in html and "Advice for deployers" not in html
    assert "at the bound of its search range: no advice" in html
    assert "debiased calibration error (Kumar, Liang &amp; Ma 2019) 0.430" in html
    assert "the methodology document's limit of 0.10" in html


def test_chance_levels_stand_beside_accuracies_and_rule_evidence_says_whether_the_interval_clears_it() -> None:
    result = calibrated_run()
    outcome = RuleOutcome(
        rule_id="mmlu-above-chance",
        metric="mmlu.accuracy",
        bound="95% CI above chance",
        severity="block",
        article="EU AI Act Art. 15(1)",
        why="w",
        outcome="fail",
        blocking=True,
        value=0.237,
        n=228,
        ci_low=0.186,
        ci_high=0.296,
        chance=0.25,
        test="non-inferiority",
        tolerance=0.02,
        items_needed=1800,
        evidence="lower bound below chance",
    )
    verdict = failing_verdict(outcome, run_id=result.run_id)
    html = render_html(result, verdict)
    assert "95% CI above chance 25.0%: no, the interval includes chance" in html
    assert "Non-inferiority test, tolerance +2.0 pts" in html
    assert "about 1800 paired items would let an unchanged model pass" in html
    assert '23.7% <span class="note">(95% CI 18.6% to 29.6%)</span>' in html


def test_generated_suites_show_their_failures_escaped_and_truncated_and_the_behaviour_kappa_in_words() -> None:
    result = make_result("run-gen", {"behaviour.expected_behaviour": (10, 24)})
    result.metrics.append(
        Metric(name="behaviour.scorer_kappa", value=0.81, n=180, ci_low=0.7, ci_high=0.9, suite="behaviour")
    )
    long_answer = INJECTION + " and more" * 40
    result.details["behaviour"] = {
        "trusted_kappa": 0.6,
        "failures": [
            {"item_id": "behaviour/b-1", "input": INJECTION, "generated": long_answer, "explanation": INJECTION}
        ],
    }
    html = render_html(result, None)
    assert "<script>alert" not in html and '<img src="http' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    cells = re.findall(r'<td title="([^"]*)">([^<]*)</td>', html.split("First 1 failed items")[1])
    cell = next((c for c in cells if "more" in c[0]), None)  # the answer: full text in the title, cut in the cell
    assert cell is not None and " and more" * 40 in cell[0] and len(cell[1]) < 200 and cell[1].endswith(" …")
    assert "agree with the project's reference labels at Cohen's kappa 0.81 (95% CI 0.70 to 0.90) on 180" in html
    assert "so their scores above can be relied on" in html


def test_gate_markdown_summary_escapes_policy_text_as_the_html_does() -> None:
    outcome = RuleOutcome(
        rule_id=INJECTION,
        metric="mmlu.accuracy",
        bound=f">= 0.6 | {INJECTION}",
        severity="block",
        article=INJECTION,
        why=INJECTION,
        outcome="fail",
        blocking=True,
        evidence=f"[click](http://x) {INJECTION}",
    )
    verdict = failing_verdict(outcome, run_id="run `x` | y", policy=INJECTION)
    text = verdict_to_markdown(verdict)
    assert "<script" not in text and "<img" not in text and "](http" not in text
    assert "&lt;script&gt;" in text
    table_rows = [line for line in text.splitlines() if line.startswith("| FAIL")]
    assert len(table_rows) == 1 and table_rows[0].count(" | ") == 5  # a pipe in the text splits no cell


def test_report_pdf_is_archival_pdf_a_3b(tmp_path: Path) -> None:
    from pypdf import PdfReader

    paths = render_report(store_result(tmp_path, make_result()), tmp_path / "out")
    assert paths.pdf is not None
    xmp = PdfReader(paths.pdf).trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp


@pytest.mark.parametrize("folder", ["templates", "reports"])
def test_no_document_points_a_reader_to_the_notes_or_the_seeds(folder: str) -> None:
    root = templates_dir() if folder == "templates" else templates_dir().parent / "reports"
    files = [p for p in root.rglob("*") if p.suffix in (".j2", ".py", ".css")]
    files += [templates_dir().parent / "policies" / n for n in ("risks.yaml", "risk-criteria.yaml")]
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8").lower()
        assert not re.search(r"\bthe (notes|seeds)\b|notes' ", text), path


def test_labels_keep_their_capitals_and_outcomes_break_only_between_words() -> None:
    from harness.reports.present import sentence_case

    assert sentence_case("ECE, 10 equal-width bins") == "ECE, 10 equal-width bins"
    assert sentence_case("accuracy") == "Accuracy"
    result = make_result("run-words", {"mmlu.accuracy": (54, 228)})
    outcome = RuleOutcome(
        rule_id="structured-output",
        metric="structured.valid_json",
        bound=">= 0.8",
        severity="block",
        article="EU AI Act Art. 15(1)",
        why="w",
        outcome="not-measured",
        blocking=True,
        evidence="suite structured was not part of the run",
    )
    verdict = failing_verdict(outcome, run_id=result.run_id, created_at="2026-11-22T09:43:09+00:00")
    html = render_html(result, verdict)
    assert ">NOT MEASURED</td>" in html and "NOT-MEASURED" not in html
    assert "judged 2026-11-22 09:43:09 UTC" in html  # a timestamp reads as a date and time, not ISO text


def test_two_measures_in_one_breakdown_get_a_table_each_under_their_own_label() -> None:
    result = make_result("run-safety", {"safety.refusal_rate": (7, 8), "safety.over_refusal_rate": (1, 8)})
    for name, label, k in (("safety.refusal_rate", "refusal of harmful requests", 3),
                           ("safety.over_refusal_rate", "over-refusal of legitimate requests", 0)):  # fmt: skip
        for category in ("arson", "fraud_deception"):
            result.metrics.append(
                Metric(
                    name=f"{name}.{category}",
                    value=k / 4,
                    n=4,
                    ci_low=0.0,
                    ci_high=1.0,
                    suite="safety",
                    scope="kind",
                    slice=category,
                    label=label,
                    unit="proportion",
                )  # fmt: skip
            )
    html = render_html(result, None)
    for label in ("refusal of harmful requests", "over-refusal of legitimate requests"):
        caption = f"safety per kind of item: {label}"
        assert html.count(caption) == 1
        table = html.split(caption, 1)[1].split("</table>", 1)[0]
        assert table.count("<tr><td>") == 2 and "arson" in table and "fraud deception" in table
        assert f'<th class="num">{label[0].upper() + label[1:]}</th>' in table  # the column names its own measure
