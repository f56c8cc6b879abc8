"""Post-market monitoring: log reading, window statistics, drift thresholds, alerts, A/B, canary, plan, CLI."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.errors import InputError, PolicyError
from harness.monitoring import drift
from harness.monitoring.analysis import analyse, pick_versions
from harness.monitoring.logs import read_logs
from harness.monitoring.measures import fisher_less_p, quantile_interval, two_proportion_power, two_proportion_test
from harness.monitoring.plan import changelog_entries, monitoring_plan
from harness.monitoring.policy import MonitoringPolicy, load_monitoring_policy
from harness.monitoring.render import render_html, write_monitoring
from harness.monitoring.results import load_monitoring_results
from harness.monitoring.sample import SampleSpec, generate, write_sample_logs
from tests.helpers import invoke, make_result, store_result

BASELINE = {"domain.accuracy": (950, 1000)}


@pytest.fixture(autouse=True)
def monitor_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """``harness monitor`` as the CLI will list it (harness/cli/__init__.py COMMANDS)."""
    from harness.cli import COMMANDS

    monkeypatch.setitem(COMMANDS, "monitor", "harness.cli.monitor:monitor")


@pytest.fixture
def baseline_dir(tmp_path: Path) -> Path:
    return store_result(tmp_path / "runs", make_result("base", BASELINE))


@pytest.fixture(scope="module")
def policy() -> tuple[MonitoringPolicy, Path]:
    return load_monitoring_policy("monitoring")


def write_lines(path: Path, rows: list[dict[str, Any] | str]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def request(t: str = "2026-03-02T08:00:00Z", **fields: Any) -> dict[str, Any]:
    return {"time": t, "model": "v1", "input": "a fire near the road", "latency_ms": 800.0} | fields


def requests_of(
    n: int, *, correct: int, model: str = "v1", start_minute: int = 0, **fields: Any
) -> list[dict[str, Any]]:
    """``n`` requests a minute apart, the first ``correct`` judged right by a reviewer."""
    return [
        request(
            f"2026-03-02T{8 + (start_minute + i) // 60:02d}:{(start_minute + i) % 60:02d}:00Z",
            model=model,
            category="evacuate_now",
            confidence=0.8,
            feedback={"correct": i < correct},
            **fields,
        )
        for i in range(n)
    ]


# ---------------------------------------------------------------- logs


def test_log_lines_become_time_sorted_columns_with_feedback_shorthands(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "logs.jsonl",
        [
            request("2026-03-02T08:00:02Z", output="Evacuate now along the coast", feedback=True, confidence=0.9),
            "",
            request("2026-03-02T08:00:01", output='{"decision": "shelter_in_place"}', label="shelter_in_place"),
            request("2026-03-02T10:00:01+02:00", output="", error="upstream timeout", feedback={"complaint": True}),
            request("2026-03-02T08:00:03Z", category="evacuate_now", feedback="shelter_in_place", latency_ms=1200),
            request("2026-03-02T08:00:04Z", output="x", feedback=4, request_id="ignored"),
        ],
    )
    logs = read_logs([path])
    assert len(logs) == 5 and logs.sources[0].lines == 6 and logs.sources[0].requests == 5
    assert list(np.diff(logs.time_ms)) == [0, 1000, 1000, 1000]  # 10:00:01+02:00 is 08:00:01 UTC, like the naive time
    # sorted by time, ties in file order: the naive line, the +02:00 line, then 08:00:02, :03, :04
    assert logs.category_names() == ["shelter_in_place", "(empty)", "evacuate", "evacuate_now", "x"]
    assert logs.correct.tolist() == [
        1,
        -1,
        1,
        0,
        -1,
    ]  # gold label = category; error; verdict; label differs; rating only
    assert logs.error.tolist() == [False, True, False, False, False]
    assert logs.complaint.tolist() == [False, True, False, False, False]
    assert logs.rating.tolist() == [0, 0, 0, 0, 4] and logs.latency_ms.tolist()[3] == 1200
    assert logs.confidence[2] == 0.9 and np.isnan(logs.confidence[[0, 1, 3, 4]]).all()


def test_compressed_logs_are_read_too(tmp_path: Path) -> None:
    path = tmp_path / "logs.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(request()) + "\n")
    assert len(read_logs([path])) == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"time": "2026-03-02T08:00:00Z", "model": "v1"', "logs.jsonl:2: not valid JSON"),
        (json.dumps(request(confidence=1.5)), "logs.jsonl:2: confidence: Input should be less than or equal to 1"),
        (
            json.dumps({"time": "2026-03-02T08:00:00Z", "model": "v1", "input": "x"}),
            "logs.jsonl:2: latency_ms: missing",
        ),
        (json.dumps(request(t="yesterday")), "logs.jsonl:2: time: Input should be a valid datetime"),
        (json.dumps(request(t=1767225600)), "logs.jsonl:2: time: must be an ISO 8601 time as text"),
        (
            json.dumps(request(feedback={"rating": 7})),
            "logs.jsonl:2: feedback.rating: Input should be less than or equal to 5",
        ),
        (json.dumps(request(latency_ms="fast")), "logs.jsonl:2: latency_ms: Input should be a valid number"),
        ("[1, 2]", "logs.jsonl:2: a log line must be a JSON object"),
    ],
)
def test_a_bad_log_line_is_one_error_naming_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    path = write_lines(tmp_path / "logs.jsonl", [request(), line])
    with pytest.raises(InputError) as raised:
        read_logs([path])
    assert str(raised.value).startswith(str(tmp_path / message))


def test_bad_log_line_exits_2_with_one_line_and_no_traceback(tmp_path: Path, baseline_dir: Path) -> None:
    path = write_lines(tmp_path / "logs.jsonl", [request(), json.dumps(request(confidence=-0.2))])
    code, out, err = invoke("monitor", str(path), "--baseline", str(baseline_dir))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"harness: error: {path}:2: confidence: Input should be greater than or equal to 0")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--baseline-metric", "mmlu.accuracy"],
            "baseline run base has no metric mmlu.accuracy (its proportions: domain.accuracy)",
        ),
        (["--window", "50", "--window-time", "1h"], "give --window (requests) or --window-time (a span), not both"),
        (["--window-time", "soon"], "--window-time must be a positive duration like 30m, 1h, 24h or 7d, got 'soon'"),
        (["--candidate", "v9"], "--candidate v9 is not a model in the logs (they hold: v1)"),
        (["--policy", "baseline-minimums"], "monitoring policy baseline-minimums does not exist"),
    ],
)
def test_monitor_usage_errors_are_one_line_exit_2(
    tmp_path: Path, baseline_dir: Path, args: list[str], message: str
) -> None:
    path = write_lines(tmp_path / "logs.jsonl", requests_of(40, correct=38))
    code, _, err = invoke("monitor", str(path), "--baseline", str(baseline_dir), *args)
    assert code == 2 and err.count("\n") == 1 and message in err


# ---------------------------------------------------------------- statistics


def test_fisher_one_sided_p_is_scipys_fisher_exact() -> None:
    from scipy.stats import fisher_exact

    for k, n, base_k, base_n in [(80, 100, 950, 1000), (3, 10, 30, 40), (100, 100, 5, 10), (0, 30, 28, 30)]:
        expected = fisher_exact([[k, n - k], [base_k, base_n - base_k]], alternative="less").pvalue
        assert fisher_less_p(k, n, base_k, base_n) == pytest.approx(expected, rel=1e-9)


def test_two_proportion_z_test_is_pearsons_chi_square_without_correction() -> None:
    from scipy.stats import chi2_contingency

    k1, n1, k2, n2 = 1700, 2000, 1800, 2010
    chi2 = chi2_contingency([[k1, n1 - k1], [k2, n2 - k2]], correction=False)
    assert two_proportion_test(k1, n1, k2, n2) == pytest.approx(chi2.pvalue, rel=1e-9)


def test_two_proportion_power_is_high_for_five_points_at_two_thousand_per_arm() -> None:
    # by hand: pooled 0.875, s0 = 0.010458, s1 = 0.010428, Phi((0.05 - 2.5758 s0) / s1) = Phi(2.2115)
    assert two_proportion_power(0.85, 0.05, 2000, 2000, 0.01) == pytest.approx(0.9865, abs=5e-4)
    assert two_proportion_power(0.85, 0.05, 200, 200, 0.01) == pytest.approx(0.143, abs=1e-3)  # Phi(-1.067)


def test_quantile_interval_has_at_least_95_percent_coverage_and_says_when_n_is_too_small() -> None:
    from scipy.stats import binom

    q = quantile_interval(np.arange(1.0, 101.0), 0.95)
    assert q.value == pytest.approx(95.05) and q.low is not None and q.high is not None
    r, s = int(q.low), int(q.high)  # values are their own ranks
    assert binom.cdf(s - 1, 100, 0.95) - binom.cdf(r - 1, 100, 0.95) >= 0.95
    small = quantile_interval(np.arange(1.0, 41.0), 0.95)
    assert small.high is None and small.low is not None  # 40 values cannot bound a 95th percentile from above


def test_numbers_null_equals_the_observed_procedure_on_each_random_rank_split() -> None:
    null = drift.rank_null(100, 60, ("ks", "psi", "js"), 10, 4, 3)
    splits = np.random.default_rng(3).permuted(np.tile(np.arange(160), (4, 1)), axis=1)
    for b in range(4):
        reference = drift.numeric_reference("confidence", splits[b, :100].astype(float), 10)
        for observed in drift.observe(reference, splits[b, 100:].astype(float), ["ks", "psi", "js"]):
            assert null[observed.statistic][b] == pytest.approx(observed.value, abs=1e-12)


def test_categories_null_equals_the_observed_procedure_on_each_bootstrap_draw() -> None:
    rng = np.random.default_rng(0)
    reference = drift.category_reference("output_category", rng.integers(0, 6, 100), [f"c{i}" for i in range(6)])
    null = drift.null_distribution(reference, 60, ["ks", "psi", "js"], replicates=4, seed=3)
    assert set(null) == {"psi", "js"}  # KS needs ordered values
    draws = np.random.default_rng(3)
    ref_rows, cur_rows = draws.integers(0, 100, (4, 100)), draws.integers(0, 100, (4, 60))
    for b in range(4):
        again = drift.Reference(reference.feature, reference.values[ref_rows[b]], reference.bins, True)
        for observed in drift.observe(again, reference.values[cur_rows[b]], ["psi", "js"]):
            assert null[observed.statistic][b] == pytest.approx(observed.value, abs=1e-12)


def test_numbers_with_ties_are_compared_through_randomly_tie_broken_ranks() -> None:
    from scipy.stats import ks_2samp

    reference = drift.numeric_reference("input_length", np.repeat([300.0, 310.0, 320.0, 330.0], 25), 4)
    current = np.repeat([300.0, 310.0, 320.0, 330.0], [40, 20, 20, 20])
    first = drift.observe(reference, current, ["ks"], seed=1)[0]
    assert first == drift.observe(reference, current, ["ks"], seed=1)[0]  # reproducible
    assert first.value >= ks_2samp(reference.values, current).statistic  # breaking ties can only widen the gap
    edges = drift.equal_mass_edges(np.arange(1.0, 101.0), 10)
    assert edges.tolist() == np.quantile(np.arange(1.0, 101.0), np.arange(1, 10) / 10, method="inverted_cdf").tolist()


def test_drift_threshold_keeps_the_chance_of_exceeding_it_at_most_the_level() -> None:
    null = np.arange(1000, dtype=float)
    for level in (0.01, 0.00125, 0.05):
        cut = drift.threshold(null, level)
        assert (np.count_nonzero(null > cut) + 1) / (null.size + 1) <= level
    with pytest.raises(ValueError, match="cannot give a false-alarm rate"):
        drift.threshold(np.arange(50.0), 0.001)


def test_vectorised_jensen_shannon_is_scipys() -> None:
    from scipy.spatial.distance import jensenshannon

    p, q = np.array([3.0, 0.0, 5.0, 2.0]), np.array([1.0, 4.0, 0.0, 5.0])
    assert drift.jensen_shannon_distance(p, q) == pytest.approx(jensenshannon(p, q, base=2))


# ---------------------------------------------------------------- policy


def test_shipped_monitoring_policy_cites_art_72_in_every_alert_and_is_not_a_gate_policy(
    policy: tuple[MonitoringPolicy, Path],
) -> None:
    from harness.gate.policy import shipped_policy_names

    loaded, path = policy
    assert path.name == "monitoring.yaml" and "monitoring" not in shipped_policy_names()
    assert all("Art. 72" in rule.article and rule.owner for rule in loaded.alerts)
    rollback = {r.kind: r.max for r in loaded.alerts if r.action == "rollback"}
    assert rollback == {"error_rate": 0.05, "complaints": 10}  # the methodology's rollback trigger
    assert loaded.window.requests == 100 and loaded.rules_of("accuracy_drop")[0].max_drop == 0.1
    assert loaded.canary is not None and [p.traffic for p in loaded.canary.phases] == [0.05, 0.5, 1.0]


def test_invalid_monitoring_policy_names_file_line_and_field(tmp_path: Path) -> None:
    text = Path(str(load_monitoring_policy("monitoring")[1])).read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("    max: 0.05\n", "    max: 5\n"), encoding="utf-8")
    with pytest.raises(
        PolicyError,
        match=r"bad\.yaml:\d+: alerts\[6\]: Value error, error_rate is a proportion|bad\.yaml:\d+: alerts\[6\]: error_rate is a proportion",
    ):
        load_monitoring_policy(bad)
    gate = tmp_path / "gate.yaml"
    gate.write_text("name: g\nrules: []\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not a monitoring policy"):
        load_monitoring_policy(gate)


# ---------------------------------------------------------------- windows and alerts


def test_accuracy_alert_needs_a_significant_fall_not_only_a_low_window(
    tmp_path: Path, policy: tuple[MonitoringPolicy, Path]
) -> None:
    loaded, path = policy
    rows = requests_of(100, correct=95) + requests_of(100, correct=84, start_minute=100)
    logs = read_logs([write_lines(tmp_path / "l.jsonl", rows)])
    big = analyse(logs, policy=loaded, policy_path=path, baseline_run=make_result("b", BASELINE))
    second = big.streams[0].windows[1]
    assert "accuracy-drop" in second.alerts and second.accuracy is not None and second.accuracy.p_value is not None
    assert second.accuracy.p_value < 0.01
    evidence = next(a.evidence for a in big.alerts if a.rule_id == "accuracy-drop")
    assert "Fisher's exact test" in evidence and "detects a fall of 7.2% with 80% power" in evidence
    small_baseline = make_result("b", {"domain.accuracy": (19, 20)})  # the same 95%, on 20 items only
    small = analyse(logs, policy=loaded, policy_path=path, baseline_run=small_baseline)
    window = small.streams[0].windows[1]
    assert window.accuracy is not None and window.accuracy.fall == pytest.approx(0.11)
    assert not window.accuracy.significant and "accuracy-drop" not in window.alerts  # 11 points, but on noise


def test_a_window_with_too_few_labels_is_not_judged_on_accuracy(
    tmp_path: Path, policy: tuple[MonitoringPolicy, Path]
) -> None:
    loaded, path = policy
    rows = requests_of(100, correct=95) + [
        request(f"2026-03-02T10:{i:02d}:00Z", feedback={"correct": False} if i < 20 else None) for i in range(60)
    ]
    report = analyse(
        read_logs([write_lines(tmp_path / "l.jsonl", rows)]),
        policy=loaded,
        policy_path=path,
        baseline_run=make_result("b", BASELINE),
    )
    window = report.streams[0].windows[1]
    assert window.labelled == 20 and window.accuracy is None and "accuracy-drop" not in window.alerts


def test_time_windows_follow_the_clock_and_skip_empty_hours(
    tmp_path: Path, policy: tuple[MonitoringPolicy, Path]
) -> None:
    loaded, path = policy
    rows = [request(f"2026-03-02T{h:02d}:{m:02d}:00Z") for h in (8, 9, 12) for m in range(0, 60, 2)]
    report = analyse(
        read_logs([write_lines(tmp_path / "l.jsonl", rows)]),
        policy=loaded,
        policy_path=path,
        baseline_run=make_result("b", BASELINE),
        window_seconds=3600,
    )
    windows = report.streams[0].windows
    assert [(w.begins, w.ends, w.requests) for w in windows] == [
        ("2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z", 30),
        ("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", 30),
        ("2026-03-02T12:00:00Z", "2026-03-02T13:00:00Z", 30),
    ]
    assert report.window.kind == "time" and report.window.description == "1 h of requests"


def test_the_candidate_is_the_version_that_appeared_last(tmp_path: Path) -> None:
    rows = requests_of(30, correct=30, model="old") + requests_of(5, correct=5, model="new", start_minute=10)
    logs = read_logs([write_lines(tmp_path / "l.jsonl", rows)])
    assert pick_versions(logs, None, None) == ("old", "new")
    assert pick_versions(logs, "old", None) == ("new", "old")
    with pytest.raises(InputError, match="--incumbent and|--candidate and --incumbent name the same model"):
        pick_versions(logs, "old", "old")


def test_rollback_on_an_error_burst_exits_1_and_says_why(tmp_path: Path, baseline_dir: Path) -> None:
    truth = write_sample_logs(tmp_path / "logs.jsonl", SampleSpec(requests=800, seed=5, incident_at=400))
    code, out, _ = invoke("monitor", str(truth.path), "--baseline", str(baseline_dir), "--no-pdf")
    assert code == 1
    assert "ROLLBACK" in out and "window 4 (" in out and "requests failed" in out and "[rule error-rate" in out
    assert out.rstrip().endswith("recommendation: roll back (exit 1)")


def test_logs_without_incident_exit_0(tmp_path: Path, baseline_dir: Path) -> None:
    truth = write_sample_logs(tmp_path / "logs.jsonl", SampleSpec(requests=600, seed=2))
    code, out, _ = invoke("monitor", str(truth.path), "--baseline", str(baseline_dir))
    assert code == 0 and "ROLLBACK" not in out and out.rstrip().endswith("recommendation: keep serving (exit 0)")


def test_more_than_ten_complaints_in_a_window_trigger_rollback(
    tmp_path: Path, policy: tuple[MonitoringPolicy, Path]
) -> None:
    loaded, path = policy
    rows = requests_of(100, correct=95)
    for row in rows[50:61]:
        row["feedback"] = {"correct": True, "complaint": True}
    report = analyse(
        read_logs([write_lines(tmp_path / "l.jsonl", rows)]),
        policy=loaded,
        policy_path=path,
        baseline_run=make_result("b", BASELINE),
    )
    assert report.exit_code == 1 and report.rollback.reasons[0].startswith("v1, window 0")
    assert "11 complaints in 100 requests > 10" in report.rollback.reasons[0]


# ---------------------------------------------------------------- A/B and canary


def test_ab_without_a_significant_difference_names_no_winner_and_states_power(
    tmp_path: Path, policy: tuple[MonitoringPolicy, Path]
) -> None:
    loaded, path = policy
    rows = requests_of(200, correct=180, model="a") + requests_of(200, correct=176, model="b")
    report = analyse(
        read_logs([write_lines(tmp_path / "l.jsonl", rows)]),
        policy=loaded,
        policy_path=path,
        baseline_run=make_result("x", BASELINE),
    )
    assert report.ab is not None and report.ab.winner is None and report.ab.incumbent == "a"
    assert report.ab.conclusion.startswith("no significant difference: accuracy difference -2.0%")
    assert "power to detect a difference of 5%" in report.ab.conclusion


def test_canary_holds_until_the_phase_has_run_its_24_hours(
    tmp_path: Path, policy: tuple[MonitoringPolicy, Path]
) -> None:
    loaded, path = policy
    truth = write_sample_logs(tmp_path / "l.jsonl", SampleSpec(requests=4000, seed=1, rate_per_hour=400, canary=True))
    report = analyse(read_logs([truth.path]), policy=loaded, policy_path=path, baseline_run=make_result("x", BASELINE))
    canary = report.canary
    assert canary is not None and canary.phase == "canary" and canary.candidate == "er-advisor-1.5.0"
    assert 0.02 < canary.observed_share < 0.09 and canary.elapsed_hours < 10
    assert canary.recommendation == "hold" and canary.reasons[0].startswith("canary has run ")
    assert [c.metric for c in canary.criteria] == ["error_rate", "latency_p95"]
    assert canary.criteria[0].status == "not enough data yet"  # ~200 requests cannot bound an error rate below 1%
    assert report.exit_code == 0


def test_canary_advances_after_24_hours_when_every_criterion_holds(
    tmp_path: Path, policy: tuple[MonitoringPolicy, Path]
) -> None:
    loaded, path = policy
    spec = SampleSpec(requests=10800, seed=2, rate_per_hour=400, canary=True, canary_hours=48, error_rate=0.0)
    truth = write_sample_logs(tmp_path / "l.jsonl", spec)
    report = analyse(read_logs([truth.path]), policy=loaded, policy_path=path, baseline_run=make_result("x", BASELINE))
    canary = report.canary
    assert canary is not None and [s.phase for s in canary.timeline] == ["not started", "canary"]
    assert canary.elapsed_hours >= 24 and [c.status for c in canary.criteria] == ["holds", "holds"]
    assert canary.recommendation == "advance" and canary.next_phase == "ramp"
    assert canary.reasons == [
        f"every criterion of canary holds after {canary.elapsed_hours:.1f} h: advance to ramp (50% of traffic)"
    ]
    assert report.recommendation == "advance" and report.exit_code == 0


def test_canary_rolls_back_when_a_phase_criterion_fails(tmp_path: Path, policy: tuple[MonitoringPolicy, Path]) -> None:
    loaded, path = policy
    spec = SampleSpec(
        requests=4000,
        seed=1,
        rate_per_hour=400,
        canary=True,
        incident_at=500,
        incident_requests=3000,
        incident_error_rate=0.04,
    )
    truth = write_sample_logs(tmp_path / "l.jsonl", spec)
    report = analyse(read_logs([truth.path]), policy=loaded, policy_path=path, baseline_run=make_result("x", BASELINE))
    canary = report.canary
    assert canary is not None and canary.recommendation == "roll back" and report.exit_code == 1
    failed = [c for c in canary.criteria if c.status == "fails"]
    assert failed and failed[0].metric in ("error_rate", "latency_p95")
    assert any(
        reason.startswith("canary plan: criterion failed") or "rule" in reason for reason in report.rollback.reasons
    )


# ---------------------------------------------------------------- plan, results, rendering


def test_monitoring_plan_lists_each_indicator_with_threshold_false_alarms_owner_and_article(
    policy: tuple[MonitoringPolicy, Path],
) -> None:
    loaded, path = policy
    plan = monitoring_plan(loaded, path)
    assert plan["article"].startswith("EU AI Act Art. 72")
    assert [i["id"] for i in plan["indicators"]] == [r.id for r in loaded.alerts]
    drift_row = next(i for i in plan["indicators"] if i["id"] == "drift-confidence")
    assert drift_row["false_alarms"] == "all drift rules together at most 0.01 per window (each statistic at 0.00125)"
    assert [t["id"] for t in plan["rollback_triggers"]] == ["error-rate", "complaints"]
    assert plan["canary"][0] == {
        "phase": "canary",
        "traffic": 0.05,
        "duration": "24h",
        "criteria": ["error rate < 0.01", "latency p95 < 2000 ms"],
    }
    assert plan["roles"]["rollback decision"].startswith("release manager")
    assert json.loads(json.dumps(plan)) == plan


def test_results_round_trip_join_the_change_log_and_refuse_foreign_files(
    tmp_path: Path, policy: tuple[MonitoringPolicy, Path]
) -> None:
    loaded, path = policy
    logs = read_logs([write_lines(tmp_path / "l.jsonl", requests_of(150, correct=140))])
    report = analyse(logs, policy=loaded, policy_path=path, baseline_run=make_result("base", BASELINE))
    paths = write_monitoring(report, tmp_path / "out", html=False, pdf=False)
    again = load_monitoring_results(tmp_path / "out")
    assert again == report and paths.html is None
    rows = changelog_entries(again, tmp_path / "out")
    assert rows[0]["model"] == "v1" and rows[0]["baseline_run_id"] == "base" and rows[0]["rollback"] is False
    assert rows[0]["monitoring_sha256"] is not None and rows[0]["summary"].startswith("v1: 2 windows monitored")
    (tmp_path / "foreign.json").write_text('{"kind": "verdict"}', encoding="utf-8")
    with pytest.raises(InputError, match="not harness monitoring results"):
        load_monitoring_results(tmp_path / "foreign.json")
    with pytest.raises(InputError, match="no monitoring results"):
        load_monitoring_results(tmp_path)


def test_html_escapes_every_text_from_the_logs(tmp_path: Path, policy: tuple[MonitoringPolicy, Path]) -> None:
    loaded, path = policy
    rows = requests_of(150, correct=140, model="<script>alert(1)</script>")
    report = analyse(
        read_logs([write_lines(tmp_path / "l.jsonl", rows)]),
        policy=loaded,
        policy_path=path,
        baseline_run=make_result("b", BASELINE),
    )
    page = render_html(report)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<svg") == 5


# ---------------------------------------------------------------- sample logs


def test_sample_logs_are_seeded_and_inject_what_they_say(tmp_path: Path) -> None:
    spec = SampleSpec(requests=400, seed=7, drift_at=200, incident_at=300, incident_requests=50)
    first, second = list(generate(spec)), list(generate(spec))
    assert first == second and first != list(generate(SampleSpec(requests=400, seed=8)))
    errors = [i for i, r in enumerate(first) if r.get("error")]
    assert sum(300 <= i < 350 for i in errors) >= 5 and sum(i < 300 for i in errors) <= 3
    before = np.mean([r["confidence"] for r in first[:200] if "confidence" in r])
    after = np.mean([r["confidence"] for r in first[200:300] if "confidence" in r])
    assert after - before > 0.07
    sources = {
        json.loads(line)["input"] for line in Path(str(_instructions())).read_text(encoding="utf-8").splitlines()
    }
    assert {r["input"] for r in first} <= sources  # the project's own situations, no other data


def _instructions() -> Path:
    from harness.suites.domain import sample_dir

    return sample_dir() / "instructions.jsonl"


def test_sample_logs_command_writes_logs_the_monitor_reads(tmp_path: Path, baseline_dir: Path) -> None:
    code, out, _ = invoke(
        "monitor", "sample-logs", str(tmp_path), "--requests", "800", "--ab", "--drift-at", "3h", "--json"
    )
    assert code == 0
    truth = json.loads(out)
    assert truth["path"] == str(tmp_path / "requests.jsonl") and truth["drift_at"] == 600
    assert truth["models"] == ["er-advisor-1.4.0", "er-advisor-1.5.0"]
    code, out, _ = invoke("monitor", truth["path"], "--baseline", str(baseline_dir), "--json")
    assert code in (0, 1) and json.loads(out)["ab"]["candidate"] == "er-advisor-1.5.0"


def test_monitor_plan_command_prints_the_plan(tmp_path: Path) -> None:
    code, out, _ = invoke("monitor", "plan", "--json")
    assert code == 0 and json.loads(out)["policy"]["name"] == "monitoring"
    code, out, _ = invoke("monitor", "plan")
    assert code == 0 and "rollback decision: release manager" in out


def test_a_canary_hour_with_a_low_share_stays_in_the_canary_phase() -> None:
    from harness.monitoring.canary import phase_of_share

    phases = load_monitoring_policy("monitoring")[0].canary.phases  # type: ignore[union-attr]
    assert phase_of_share(0.019, phases) == "canary"  # a 5% canary's unlucky hour, not "not started"
    assert phase_of_share(0.0, phases) == "not started"
    assert phase_of_share(0.3, phases) == "ramp" and phase_of_share(0.9, phases) == "full"


def test_ab_power_and_differences_never_read_as_certainty_or_negative_zero() -> None:
    from harness.monitoring.ab import power_text_of, signed_pct

    assert power_text_of(0.9997) == "> 99.9%" and power_text_of(0.8) == "80.0%"
    assert signed_pct(-0.0004) == "0.0%" and signed_pct(0.05) == "+5.0%" and signed_pct(-0.021) == "-2.1%"
