"""Calibration: how far a model's confidence can be trusted, from records it already produced.

A derived suite: it asks the model nothing. It reads the multiple-choice records of
another suite (MMLU by default), whose per-choice log-likelihoods give the choice
distribution (softmax over the choices, as HELM does for multiple choice), and so costs
no model request. Definitions are in :mod:`harness.suites.calibration_metrics`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
from harness.suites.base import Outcomes, PreparedSuite, SuiteOptions, SuiteScores
from harness.suites.calibration_metrics import (
    confidence_gap,
    coverage_accuracy_auc,
    expected_calibration_error,
    fit_temperature,
    maximum_calibration_error,
    multiclass_brier_score,
    negative_log_likelihood,
    reliability_bins,
    selective_accuracy,
    softmax_rows,
)

from harness.results import ItemRecord, Metric, proportion_metric
from harness.stats import DEFAULT_BOOTSTRAP, bootstrap_interval

N_BINS = 10
SMALL_SAMPLE = 300
SELECTIVE_COVERAGE = 0.1


class Calibration:
    name = "calibration"
    engine = "derived"
    headline = "calibration.ece"

    def __init__(self, sources: tuple[str, ...] = ("mmlu",)) -> None:
        self.requires = sources

    def prepare(self, options: SuiteOptions) -> PreparedSuite:
        settings = {"sources": list(self.requires), "bins": N_BINS, "bootstrap": DEFAULT_BOOTSTRAP, "seed": options.seed}
        return PreparedSuite(tasks=[], datasets=[], settings=settings)

    def outcomes(self, records: list[ItemRecord]) -> Outcomes:
        return {}  # calibration is not a per-item proportion; compare runs on its metrics instead

    def _usable(self, records: list[ItemRecord]) -> list[ItemRecord]:
        return [
            r for r in records
            if r.suite in self.requires and r.variant == "clean" and r.loglikelihoods and isinstance(r.target, int)
        ]

    def paired_statistics(self, records: list[ItemRecord]) -> tuple[list[str], dict[str, Callable[[np.ndarray], float]]]:
        """Item keys and, per metric, its value on any subset of those items (by index).

        Lets two runs be compared by a paired bootstrap over the items both answered.
        """
        usable = self._usable(records)
        if not usable:
            return [], {}
        probs = softmax_rows([r.loglikelihoods for r in usable])
        targets = np.array([int(r.target) for r in usable])
        conf, hits = probs.max(axis=1), probs.argmax(axis=1) == targets
        keys = [f"{r.suite}/{r.item_id}" for r in usable]
        return keys, {
            "calibration.ece": lambda i: expected_calibration_error(conf[i], hits[i], N_BINS),
            "calibration.brier": lambda i: multiclass_brier_score(probs[i], targets[i]),
            "calibration.nll": lambda i: negative_log_likelihood(probs[i], targets[i]),
        }

    def score(self, records: list[ItemRecord]) -> SuiteScores:
        usable = self._usable(records)
        if not usable:
            return SuiteScores(metrics=[], warnings=[f"no multiple-choice records from {', '.join(self.requires)}"])
        logits = [r.loglikelihoods for r in usable]
        if len({len(x) for x in logits}) != 1:
            raise ValueError("calibration needs the same number of choices for every item")
        probs = softmax_rows(logits)
        targets = np.array([int(r.target) for r in usable])
        conf = probs.max(axis=1)
        hits = probs.argmax(axis=1) == targets
        n = len(usable)

        def with_ci(name: str, fn: Any) -> Metric:
            value = fn(np.arange(n))
            low, high = bootstrap_interval(fn, n)
            return Metric(name=name, value=value, n=n, ci_low=low, ci_high=high, ci_method=f"bootstrap-percentile-{DEFAULT_BOOTSTRAP}")

        metrics = [
            with_ci("calibration.ece", lambda i: expected_calibration_error(conf[i], hits[i], N_BINS)),
            with_ci("calibration.ece_equal_mass", lambda i: expected_calibration_error(conf[i], hits[i], N_BINS, equal_mass=True)),
            with_ci("calibration.mce", lambda i: maximum_calibration_error(conf[i], hits[i], N_BINS)),
            with_ci("calibration.brier", lambda i: multiclass_brier_score(probs[i], targets[i])),
            with_ci("calibration.nll", lambda i: negative_log_likelihood(probs[i], targets[i])),
            with_ci("calibration.confidence_gap", lambda i: confidence_gap(conf[i], hits[i])),
            with_ci("calibration.coverage_accuracy_auc", lambda i: coverage_accuracy_auc(conf[i], hits[i])),
        ]
        selective, covered = selective_accuracy(conf, hits, SELECTIVE_COVERAGE)
        metrics.append(proportion_metric("calibration.selective_accuracy_at_10", round(selective * covered), covered))
        gap = metrics[5].value or 0.0
        temperature = _temperature_advice(usable, np.asarray(logits, dtype=float), targets)
        metrics += temperature.pop("metrics")
        warnings = []
        if n < SMALL_SAMPLE:
            warnings.append(
                f"calibration rests on {n} items (< {SMALL_SAMPLE}): ECE is biased upwards and its interval is wide"
            )
        details = {
            "n": n,
            "sources": list(self.requires),
            "direction": "overconfident" if gap > 0 else "underconfident" if gap < 0 else "calibrated",
            "accuracy": float(hits.mean()),
            "mean_confidence": float(conf.mean()),
            "reliability": [b.__dict__ for b in reliability_bins(conf, hits, N_BINS)],
            "reliability_equal_mass": [b.__dict__ for b in reliability_bins(conf, hits, N_BINS, equal_mass=True)],
            "temperature_scaling": temperature,
        }
        return SuiteScores(metrics=metrics, details=details, warnings=warnings)


def _temperature_advice(records: list[ItemRecord], logits: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    """Fit a temperature on one half of the items and report ECE on the other half before and after.

    The halves are fixed by a hash of the item id, so they do not depend on record order.
    """
    order = sorted(range(len(records)), key=lambda i: hashlib.sha256(records[i].item_id.encode()).hexdigest())
    fit, held = np.array(order[0::2]), np.array(order[1::2])
    if len(fit) < 2 or len(held) < 2:
        return {"metrics": [], "note": "too few items to fit a temperature"}
    temperature = fit_temperature(logits[fit], targets[fit])
    before, after = softmax_rows(logits[held]), softmax_rows(logits[held], temperature)
    hits = before.argmax(axis=1) == targets[held]
    n = len(held)

    def ece_of(probs: np.ndarray) -> Metric:
        conf = probs.max(axis=1)
        value = expected_calibration_error(conf, hits, N_BINS)
        low, high = bootstrap_interval(lambda i: expected_calibration_error(conf[i], hits[i], N_BINS), n)
        return Metric(name="", value=value, n=n, ci_low=low, ci_high=high, ci_method=f"bootstrap-percentile-{DEFAULT_BOOTSTRAP}")

    ece_before = ece_of(before).model_copy(update={"name": "calibration.ece_before_temperature"})
    ece_after = ece_of(after).model_copy(update={"name": "calibration.ece_after_temperature"})
    fitted = Metric(name="calibration.temperature", value=temperature, n=len(fit), ci_method="nll-fit-on-the-fit-half")
    return {
        "metrics": [fitted, ece_before, ece_after],
        "temperature": temperature,
        "fit_items": len(fit),
        "evaluation_items": n,
        "ece_before": ece_before.value,
        "ece_after": ece_after.value,
    }
