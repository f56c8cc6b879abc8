"""Acceptance of post-market monitoring on generated logs: false alarms, detection delay, A/B power, the PDF.

The generator's defaults (accuracy 0.95 against a baseline of 950/1000 items, feedback
on every answer, windows of 100) are the scenario; benchmarks/monitoring_cost.py rates
measures the same quantities over more seeds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.monitoring.ab import compare_versions
from harness.monitoring.analysis import analyse
from harness.monitoring.logs import read_logs
from harness.monitoring.policy import MonitoringPolicy, load_monitoring_policy
from harness.monitoring.results import MonitoringReport
from harness.monitoring.sample import CANDIDATE, INCUMBENT, SampleSpec, write_sample_logs
from tests.helpers import invoke, make_result, store_result

pytestmark = pytest.mark.slow

BASELINE = {"domain.accuracy": (950, 1000)}
ONSET = 1500  # request 1500 opens window 15
ONSET_WINDOW = 15


@pytest.fixture(scope="module")
def policy() -> tuple[MonitoringPolicy, Path]:
    return load_monitoring_policy("monitoring")


def monitored(folder: Path, spec: SampleSpec, policy: tuple[MonitoringPolicy, Path]) -> MonitoringReport:
    truth = write_sample_logs(folder / f"logs-{spec.seed}.jsonl", spec)
    loaded, path = policy
    return analyse(read_logs([truth.path]), policy=loaded, policy_path=path, baseline_run=make_result("base", BASELINE))


def first_alert(report: MonitoringReport, rule: str) -> int | None:
    return next((w.index for w in report.streams[0].windows if rule in w.alerts), None)


def test_twenty_seeds_without_drift_give_no_rollback_and_at_most_the_policys_false_alarm_rate(
    tmp_path: Path, policy: tuple[MonitoringPolicy, Path]
) -> None:
    loaded, _ = policy
    drift_rules = {rule.id for rule in loaded.alerts if rule.kind == "drift"}
    judged = drift_alarms = accuracy_alarms = tests = exceeded = 0
    for seed in range(20):
        report = monitored(tmp_path, SampleSpec(seed=seed, requests=2000), policy)
        assert not report.rollback.triggered and report.exit_code == 0, report.rollback.reasons
        for window in report.streams[0].windows[1:]:
            judged += 1
            drift_alarms += bool(drift_rules & set(window.alerts))
            accuracy_alarms += "accuracy-drop" in window.alerts
            tests += sum(len(f.statistics) for f in window.drift)
            exceeded += sum(s.exceeded for f in window.drift for s in f.statistics)
    assert judged == 20 * 19 and tests == judged * 8
    # the policy's 0.01 bounds each window (its 8 statistics together, Bonferroni), so also each statistic;
    # the accuracy-drop test's level is alpha = 0.01 per window
    assert drift_alarms / judged <= loaded.drift.false_alarm_rate
    assert exceeded / tests <= loaded.drift.false_alarm_rate
    assert accuracy_alarms / judged <= loaded.alpha


@pytest.mark.parametrize(("kind", "rule"), [("accuracy", "accuracy-drop"), ("confidence", "drift-confidence")])
def test_an_injected_drift_is_detected_within_two_windows_of_its_onset(
    tmp_path: Path, policy: tuple[MonitoringPolicy, Path], kind: str, rule: str
) -> None:
    for seed in range(10):
        report = monitored(tmp_path, SampleSpec(seed=seed, drift_at=ONSET, drift_kind=kind), policy)  # type: ignore[arg-type]
        first = first_alert(report, rule)
        assert first is not None and ONSET_WINDOW <= first <= ONSET_WINDOW + 1, (
            f"seed {seed}: first {rule} in window {first}"
        )


def ab_winner(folder: Path, seed: int, difference: float, policy: tuple[MonitoringPolicy, Path]) -> str | None:
    spec = SampleSpec(seed=seed, requests=4400, accuracy=0.90, ab=True, ab_difference=difference)
    logs = read_logs([write_sample_logs(folder / "ab.jsonl", spec).path])
    result = compare_versions(logs, INCUMBENT, CANDIDATE, policy[0])
    assert result is not None and min(arm.accuracy.n for arm in result.arms) >= 1900
    return result.winner


def test_ab_with_five_points_over_two_thousand_per_arm_names_the_candidate_in_every_seed(
    tmp_path: Path, policy: tuple[MonitoringPolicy, Path]
) -> None:
    winners = [ab_winner(tmp_path, seed, 0.05, policy) for seed in range(20)]
    assert winners == [CANDIDATE] * 20  # power 0.9997 at alpha 0.01 for 0.90 against 0.95 (2000 per arm)


def test_ab_without_a_difference_names_no_winner_in_at_least_19_of_20_seeds(
    tmp_path: Path, policy: tuple[MonitoringPolicy, Path]
) -> None:
    winners = [ab_winner(tmp_path, seed, 0.0, policy) for seed in range(20)]
    assert sum(w is None for w in winners) >= 19


def test_monitoring_pdf_renders_as_pdf_a_with_the_results_attached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pypdf import PdfReader

    from harness.cli import COMMANDS

    monkeypatch.setitem(COMMANDS, "monitor", "harness.cli.monitor:monitor")
    baseline = store_result(tmp_path / "runs", make_result("base", BASELINE))
    truth = write_sample_logs(tmp_path / "logs.jsonl", SampleSpec(requests=1200, seed=4, drift_at=600, incident_at=900))
    code, _, _ = invoke("monitor", str(truth.path), "--baseline", str(baseline), "--out", str(tmp_path / "out"))
    assert code == 1
    reader = PdfReader(tmp_path / "out" / "monitoring.pdf")
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Post-market monitoring report" in text and "Rollback triggered" in text and "accuracy per window" in text
    assert "monitoring.json" in reader.attachments
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
