"""Bootstrap cost of the calibration metrics: per-resample Python loop vs one numpy pass.

    python benchmarks/calibration_cost.py [--items 570] [--choices 4] [--repeat 5]

For random logits (seed 0) over ``--items`` items of ``--choices`` choices, computes the
1000-sample percentile bootstrap interval of each of the seven metrics the calibration
suite reports, two ways:

* old: ``harness.stats.bootstrap_interval`` calling the scalar metric once per resample,
  as ``suites/calibration.py`` does today;
* new: ``bootstrap_draws`` once, then each metric's ``*_replicates`` function and
  ``percentile_interval``.

Prints, per metric, the best-of-``--repeat`` seconds of each path and their ratio (the
draws are timed once, in the new total), and checks that both give the same interval.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np


def _best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, object]:
    best, result = math.inf, None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=570, help="items (570: MMLU at 10 a subject)")
    parser.add_argument("--choices", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5, help="timings are the best of this many runs")
    args = parser.parse_args()

    from harness import stats
    from harness.stats import DEFAULT_BOOTSTRAP, bootstrap_interval
    from harness.suites import calibration_metrics as cm

    rng = np.random.default_rng(0)
    n = args.items
    logits = rng.normal(size=(n, args.choices))
    targets = rng.integers(0, args.choices, size=n)
    probs = cm.softmax_rows(logits)
    conf = probs.max(axis=1)
    hits = probs.argmax(axis=1) == targets

    metrics: list[tuple[str, Callable[[np.ndarray], float], Callable[[np.ndarray], np.ndarray]]] = [
        (
            "ece",
            lambda i: cm.expected_calibration_error(conf[i], hits[i], 10),
            lambda d: cm.expected_calibration_error_replicates(conf, hits, d, 10),
        ),
        (
            "ece_equal_mass",
            lambda i: cm.expected_calibration_error(conf[i], hits[i], 10, equal_mass=True),
            lambda d: cm.expected_calibration_error_replicates(conf, hits, d, 10, equal_mass=True),
        ),
        (
            "mce",
            lambda i: cm.maximum_calibration_error(conf[i], hits[i], 10),
            lambda d: cm.maximum_calibration_error_replicates(conf, hits, d, 10),
        ),
        (
            "brier",
            lambda i: cm.multiclass_brier_score(probs[i], targets[i]),
            lambda d: cm.multiclass_brier_score_replicates(probs, targets, d),
        ),
        (
            "nll",
            lambda i: cm.negative_log_likelihood(probs[i], targets[i]),
            lambda d: cm.negative_log_likelihood_replicates(probs, targets, d),
        ),
        (
            "confidence_gap",
            lambda i: cm.confidence_gap(conf[i], hits[i]),
            lambda d: cm.confidence_gap_replicates(conf, hits, d),
        ),
        (
            "coverage_accuracy_auc",
            lambda i: cm.coverage_accuracy_auc(conf[i], hits[i]),
            lambda d: cm.coverage_accuracy_auc_replicates(conf, hits, d),
        ),
    ]

    draws_s, draws = _best_of(args.repeat, lambda: stats.bootstrap_draws(n, DEFAULT_BOOTSTRAP))
    print(f"{n} items, {args.choices} choices, {DEFAULT_BOOTSTRAP} resamples; best of {args.repeat} runs")
    print(f"{'metric':<24} {'old s':>8} {'new s':>8} {'old/new':>8}  same interval")
    old_total, new_total, all_same = 0.0, draws_s, True
    for name, scalar, replicates in metrics:
        old_s, old = _best_of(args.repeat, lambda s=scalar: bootstrap_interval(s, n))
        new_s, new = _best_of(args.repeat, lambda r=replicates: stats.percentile_interval(r(draws)))
        same = old == new
        all_same &= same
        old_total += old_s
        new_total += new_s
        print(
            f"{name:<24} {old_s:>8.4f} {new_s:>8.4f} {old_s / new_s:>8.1f}  {'yes' if same else f'NO: {old} vs {new}'}"
        )
    print(f"{'bootstrap_draws':<24} {'':>8} {draws_s:>8.4f}")
    print(
        f"{'all seven':<24} {old_total:>8.4f} {new_total:>8.4f} {old_total / new_total:>8.1f}  {'yes' if all_same else 'NO'}"
    )
    return 0 if all_same else 1


if __name__ == "__main__":
    raise SystemExit(main())
