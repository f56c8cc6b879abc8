"""Cost and error rates of ``harness monitor`` on generated logs.

    python benchmarks/monitoring_cost.py cost [--requests 1000000]
    python benchmarks/monitoring_cost.py rates [--seeds 100]

``cost`` writes ``--requests`` sample requests (seed 0, 200 per hour) to a temporary
file, then times, in CPU seconds, reading them (``read_logs``: validation of every line,
columns of numpy arrays) and the whole analysis under ``policies/monitoring.yaml``
(windows of 100, drift with bootstrap thresholds); it prints the peak of traced Python
memory while reading, to show that requests are not kept as Python objects.

``rates`` measures, over ``--seeds`` seeds of the sample generator with its defaults
(accuracy 0.95 against a baseline of 950/1000, feedback on every answer):

- logs without drift (3000 requests, 29 judged windows each): the share of judged
  windows raising any drift alert (the policy promises at most 0.01 per window), the
  share of (window, statistic) tests exceeding their threshold, the share raising an
  accuracy-drop alert (at most alpha = 0.01), and logs with any rollback;
- an accuracy drop of 10 points from request 1500 (a window boundary): in which window,
  counted from the first drifted one (0), the first accuracy-drop alert came;
- a confidence shift from request 1500: the same for the confidence drift alert;
- A/B, 4400 requests of which about 2000 per arm after the split: how often the test
  names the candidate when it is 5 points more accurate (0.95 against 0.90), and names
  anyone when both are at 0.90.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from harness.monitoring.ab import compare_versions
from harness.monitoring.analysis import analyse
from harness.monitoring.logs import read_logs
from harness.monitoring.policy import load_monitoring_policy
from harness.monitoring.sample import SampleSpec, write_sample_logs
from harness.schema.results import Environment, ModelInfo, RunResult, SuiteStatus, proportion_metric

ONSET = 1500
AB_REQUESTS = 4400  # 400 in the incumbent's lead hours, then about 2000 per arm
AB_ACCURACY = 0.90  # the incumbent's; the candidate's is 0.95 with a 5-point difference


def baseline_run(k: int = 950, n: int = 1000) -> RunResult:
    return RunResult(
        run_id="baseline",
        created_at="2026-03-01T00:00:00+00:00",
        model=ModelInfo(base="er-advisor", fingerprint="sha256:" + "ab" * 32),
        suites=["domain"],
        suite_status={"domain": SuiteStatus(status="completed", n_items=n)},
        metrics=[proportion_metric("domain.accuracy", k, n).model_copy(update={"suite": "domain"})],
        environment=Environment(python="3"),
    )


def cost(requests: int) -> None:
    policy, path = load_monitoring_policy("monitoring")
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        truth = write_sample_logs(Path(folder) / "requests.jsonl", SampleSpec(requests=requests, seed=0))
        size = truth.path.stat().st_size
        print(f"wrote {requests:,} requests ({size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s")
        tracemalloc.start()
        cpu = time.process_time()
        logs = read_logs([truth.path])
        read_cpu = time.process_time() - cpu
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        columns = sum(
            getattr(logs, name).nbytes
            for name in (
                "time_ms",
                "model",
                "input_chars",
                "category",
                "confidence",
                "correct",
                "rating",
                "complaint",
                "latency_ms",
                "error",
            )
        )
        print(
            f"read_logs: {read_cpu:.1f} CPU s ({requests / read_cpu:,.0f} lines/s); columns {columns / 1e6:.1f} MB; "
            f"peak traced Python memory {peak / 1e6:.1f} MB"
        )
        cpu = time.process_time()
        report = analyse(logs, policy=policy, policy_path=path, baseline_run=baseline_run())
        print(
            f"analyse: {time.process_time() - cpu:.1f} CPU s for {sum(len(s.windows) for s in report.streams):,} windows"
        )


def _first(report_windows: list[tuple[int, list[str]]], rule: str, onset_window: int) -> int | None:
    for index, alerts in report_windows:
        if index >= onset_window and rule in alerts:
            return index - onset_window
    return None


def rates(seeds: int) -> None:
    policy, path = load_monitoring_policy("monitoring")
    base = baseline_run()
    drift_rules = {r.id for r in policy.alerts if r.kind == "drift"}
    windows = drift_windows = stat_tests = stat_exceed = accuracy_alerts = rollbacks = 0
    delays: dict[str, Counter[int | None]] = {"accuracy-drop": Counter(), "drift-confidence": Counter()}
    ab_right = ab_none = 0
    arms: list[int] = []
    with tempfile.TemporaryDirectory() as folder:
        logfile = Path(folder) / "r.jsonl"
        for seed in range(seeds):
            write_sample_logs(logfile, SampleSpec(seed=seed))
            report = analyse(read_logs([logfile]), policy=policy, policy_path=path, baseline_run=base)
            rollbacks += report.rollback.triggered
            for w in report.streams[0].windows:
                if w.reference:
                    continue
                windows += 1
                drift_windows += bool(drift_rules & set(w.alerts))
                accuracy_alerts += "accuracy-drop" in w.alerts
                for feature in w.drift:
                    stat_tests += len(feature.statistics)
                    stat_exceed += sum(s.exceeded for s in feature.statistics)
            for kind, rule in (("accuracy", "accuracy-drop"), ("confidence", "drift-confidence")):
                write_sample_logs(logfile, SampleSpec(seed=seed, drift_at=ONSET, drift_kind=kind))  # type: ignore[arg-type]
                report = analyse(read_logs([logfile]), policy=policy, policy_path=path, baseline_run=base)
                found = [(w.index, w.alerts) for w in report.streams[0].windows]
                delays[rule][_first(found, rule, ONSET // policy.window.requests)] += 1
            for difference in (0.05, 0.0):
                spec = SampleSpec(
                    seed=seed, requests=AB_REQUESTS, accuracy=AB_ACCURACY, ab=True, ab_difference=difference
                )
                write_sample_logs(logfile, spec)
                logs = read_logs([logfile])
                ab = compare_versions(logs, "er-advisor-1.4.0", "er-advisor-1.5.0", policy)
                assert ab is not None
                arms.append(min(arm.accuracy.n for arm in ab.arms))
                if difference:
                    ab_right += ab.winner == ab.candidate
                else:
                    ab_none += ab.winner is None
    print(
        json.dumps(
            {
                "seeds": seeds,
                "null_windows_judged": windows,
                "drift_alert_rate_per_window": drift_windows / windows,
                "drift_rate_per_window_and_statistic": stat_exceed / stat_tests,
                "accuracy_alert_rate_per_window": accuracy_alerts / windows,
                "logs_with_false_rollback": rollbacks,
                "accuracy_drop_delay_windows": {str(k): v for k, v in sorted(delays["accuracy-drop"].items(), key=str)},
                "confidence_shift_delay_windows": {
                    str(k): v for k, v in sorted(delays["drift-confidence"].items(), key=str)
                },
                "ab_right_winner_at_5_points": ab_right,
                "ab_no_winner_at_0": ab_none,
                "ab_smallest_labelled_arm": min(arms),
                "upper_95_drift_rate": _upper(drift_windows, windows),
            },
            indent=2,
        )
    )


def _upper(k: int, n: int) -> float:
    from harness.stats import wilson_interval

    return wilson_interval(k, n)[1] if n else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("cost")
    c.add_argument("--requests", type=int, default=1_000_000)
    r = sub.add_parser("rates")
    r.add_argument("--seeds", type=int, default=100)
    args = parser.parse_args()
    if args.what == "cost":
        cost(args.requests)
    else:
        rates(args.seeds)


if __name__ == "__main__":
    main()
