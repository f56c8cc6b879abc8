"""Calibration: how far a model's confidence can be trusted, from records it already produced.

A derived suite: it asks the model nothing. It reads the multiple-choice records of
another suite (MMLU by default), whose per-choice log-likelihoods give the choice
distribution (softmax over the choices, as HELM does for multiple choice), and so costs
no model request. Definitions are in :mod:`harness.suites.calibration_metrics`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.schema.results import ItemRecord, Metric, MetricKind, proportion_metric
from harness.stats import DEFAULT_BOOTSTRAP, bootstrap_draws, percentile_interval
from harness.suites.base import DerivedSuite, SuiteOptions, SuiteScores, chance_level, register_suite
from harness.suites.calibration_metrics import (
    TEMPERATURE_BOUNDS,
    confidence_gap,
    confidence_gap_replicates,
    coverage_accuracy_auc_replicates,
    debiased_calibration_error_replicates,
    expected_calibration_error,
    expected_calibration_error_replicates,
    fit_temperature,
    maximum_calibration_error_replicates,
    multiclass_brier_score_replicates,
    negative_log_likelihood_replicates,
    reliability_bins,
    selective_accuracy,
    softmax_rows,
)

N_BINS = 10
SMALL_SAMPLE = 300
SELECTIVE_COVERAGE = 0.1
SELECTIVE = "calibration.selective_accuracy_at_10"

ECE = MetricKind(
    direction="lower", unit="score", label="ECE, 10 equal-width bins", definition="Naeini et al. 2015; Guo et al. 2017"
)
KINDS: dict[str, MetricKind] = {
    "calibration.ece": ECE,
    "calibration.ece_debiased": MetricKind(
        direction="lower",
        unit="score",
        label="Debiased L2 calibration error, 10 equal-width bins",
        definition="Kumar, Liang & Ma 2019 (per-bin squared gap minus its sampling variance)",
    ),
    "calibration.ece_equal_mass": MetricKind(
        direction="lower", unit="score", label="ECE, 10 equal-mass bins", definition="HELM ece_10_bin"
    ),
    "calibration.mce": MetricKind(
        direction="lower", unit="score", label="MCE (largest bin gap)", definition="Naeini et al. 2015"
    ),
    "calibration.brier": MetricKind(
        direction="lower", unit="score", label="Brier score (multi-class)", definition="Brier 1950"
    ),
    "calibration.nll": MetricKind(
        direction="lower", unit="nats", label="Negative log-likelihood", definition="cross-entropy of the choices"
    ),
    "calibration.confidence_gap": MetricKind(
        direction="neutral",
        unit="score",
        label="Confidence minus accuracy",
        definition="> 0 overconfident (Guo et al. 2017)",
    ),
    "calibration.coverage_accuracy_auc": MetricKind(
        direction="higher",
        unit="proportion",
        label="Area under coverage-accuracy",
        definition="1 - AURC, Geifman & El-Yaniv 2017",
    ),
    "calibration.selective_accuracy_at_10": MetricKind(
        direction="higher",
        unit="proportion",
        label="Accuracy on the 10% most confident",
        definition="El-Yaniv & Wiener 2010",
    ),
    "calibration.temperature": MetricKind(
        direction="neutral",
        unit="factor",
        label="Fitted temperature",
        definition="temperature scaling, Guo et al. 2017 sec. 4.2",
    ),
    "calibration.ece_before_temperature": ECE.model_copy(update={"label": "ECE on the held-out half, before"}),
    "calibration.ece_after_temperature": ECE.model_copy(update={"label": "ECE on the held-out half, after"}),
}


@register_suite
class Calibration(DerivedSuite):
    name = "calibration"
    headline = "calibration.ece"

    def __init__(self, sources: tuple[str, ...] = ("mmlu",)) -> None:
        self.requires = sources

    def settings(self, options: SuiteOptions) -> dict[str, Any]:
        return {"sources": list(self.requires), "bins": N_BINS, "bootstrap": DEFAULT_BOOTSTRAP, "seed": options.seed}

    def describe(self, metric: Metric, chance: float | None = None) -> Metric:
        scope, _ = self.scope_of(metric.name)
        return KINDS[metric.name].with_chance(chance).describe(metric, suite=self.name, scope=scope)

    def _usable(self, records: list[ItemRecord]) -> list[ItemRecord]:
        return [
            r
            for r in records
            if r.suite in self.requires and r.variant == "clean" and r.loglikelihoods and isinstance(r.target, int)
        ]

    def paired_statistics(self, records: list[ItemRecord]) -> tuple[list[str], dict[str, Replicates]]:
        """Item keys and, per metric, its values on resamples of those items (an index matrix, one row a resample).

        Lets two runs be compared by a paired bootstrap over the items both answered.
        """
        usable = self._usable(records)
        if not usable:
            return [], {}
        items = _Items.of(usable)
        keys = [f"{r.suite}/{r.item_id}" for r in usable]
        replicates = items.replicates()
        return keys, {name: replicates[name] for name in ("calibration.ece", "calibration.brier", "calibration.nll")}

    def score(self, records: list[ItemRecord]) -> SuiteScores:
        usable = self._usable(records)
        if not usable:
            return SuiteScores(metrics=[], warnings=[f"no multiple-choice records from {', '.join(self.requires)}"])
        items = _Items.of(usable)
        n = len(usable)
        draws = bootstrap_draws(n)
        whole = np.arange(n)[None, :]
        metrics = []
        for name, replicate in items.replicates().items():
            low, high = percentile_interval(replicate(draws))
            metrics.append(
                Metric(
                    name=name,
                    value=float(replicate(whole)[0]),
                    n=n,
                    ci_low=low,
                    ci_high=high,
                    ci_method=f"bootstrap-percentile-{DEFAULT_BOOTSTRAP}",
                )
            )
        conf, hits = items.confidence, items.hits
        selective, covered = selective_accuracy(conf, hits, SELECTIVE_COVERAGE)
        metrics.append(proportion_metric(SELECTIVE, round(selective * covered), covered))
        gap = confidence_gap(conf, hits)
        temperature = _temperature_advice(usable, items.logits, items.targets)
        metrics += temperature.pop("metrics")
        # selective accuracy is an accuracy: a uniform guess scores the mean of 1/k on any subset
        chance = chance_level(usable)
        metrics = [self.describe(m, chance if m.name == SELECTIVE else None) for m in metrics]
        warnings = []
        if n < SMALL_SAMPLE:
            warnings.append(
                f"calibration rests on {n} items (< {SMALL_SAMPLE}): ECE is biased upwards and its interval is wide "
                "(calibration.ece_debiased corrects the bias)"
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
            "charts": reliability_charts(),
        }
        return SuiteScores(metrics=metrics, details=details, warnings=warnings)


Replicates = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class _Items:
    """The choice distributions of the usable records, and what calibration reads of them."""

    logits: np.ndarray
    probabilities: np.ndarray
    targets: np.ndarray
    confidence: np.ndarray
    hits: np.ndarray

    @classmethod
    def of(cls, records: list[ItemRecord]) -> _Items:
        logits = [r.loglikelihoods or [] for r in records]
        if len({len(x) for x in logits}) != 1:
            raise ValueError("calibration needs the same number of choices for every item")
        probabilities = softmax_rows(logits)
        targets = np.array([int(r.target) for r in records])
        return cls(
            logits=np.asarray(logits, dtype=float),
            probabilities=probabilities,
            targets=targets,
            confidence=probabilities.max(axis=1),
            hits=probabilities.argmax(axis=1) == targets,
        )

    def replicates(self) -> dict[str, Replicates]:
        """Per metric, its value on every row of an index matrix (one numpy pass for all resamples)."""
        conf, hits, probs, targets = self.confidence, self.hits, self.probabilities, self.targets
        return {
            "calibration.ece": lambda d: expected_calibration_error_replicates(conf, hits, d, N_BINS),
            "calibration.ece_debiased": lambda d: debiased_calibration_error_replicates(conf, hits, d, N_BINS),
            "calibration.ece_equal_mass": lambda d: expected_calibration_error_replicates(
                conf, hits, d, N_BINS, equal_mass=True
            ),
            "calibration.mce": lambda d: maximum_calibration_error_replicates(conf, hits, d, N_BINS),
            "calibration.brier": lambda d: multiclass_brier_score_replicates(probs, targets, d),
            "calibration.nll": lambda d: negative_log_likelihood_replicates(probs, targets, d),
            "calibration.confidence_gap": lambda d: confidence_gap_replicates(conf, hits, d),
            "calibration.coverage_accuracy_auc": lambda d: coverage_accuracy_auc_replicates(conf, hits, d),
        }


def reliability_charts() -> list[dict[str, str]]:
    return [
        {"kind": "reliability", "source": "reliability", "title": "Reliability, 10 equal-width bins"},
        {"kind": "reliability", "source": "reliability_equal_mass", "title": "Reliability, 10 equal-mass bins"},
    ]


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

    draws = bootstrap_draws(n)

    def ece_of(probs: np.ndarray) -> Metric:
        conf = probs.max(axis=1)
        value = expected_calibration_error(conf, hits, N_BINS)
        low, high = percentile_interval(expected_calibration_error_replicates(conf, hits, draws, N_BINS))
        return Metric(
            name="", value=value, n=n, ci_low=low, ci_high=high, ci_method=f"bootstrap-percentile-{DEFAULT_BOOTSTRAP}"
        )

    ece_before = ece_of(before).model_copy(update={"name": "calibration.ece_before_temperature"})
    ece_after = ece_of(after).model_copy(update={"name": "calibration.ece_after_temperature"})
    fitted = Metric(name="calibration.temperature", value=temperature, n=len(fit), ci_method="nll-fit-on-the-fit-half")
    bound = temperature_bound_reason(temperature)
    return {
        "metrics": [fitted, ece_before, ece_after],
        "temperature": temperature,
        "fit_items": len(fit),
        "evaluation_items": n,
        "ece_before": ece_before.value,
        "ece_after": ece_after.value,
        "at_bound": bound is not None,
        **({"reason": bound} if bound is not None else {}),
    }


def temperature_bound_reason(temperature: float) -> str | None:
    """Why a fitted temperature is no advice, or None when it is one.

    :func:`fit_temperature` searches [0.05, 20]; a fit at either end means the likelihood
    still improves beyond the bound (the minimum lies outside, or there is none: e.g. a
    model at chance is best served by an infinite temperature, a uniform guess). The value
    is then an artefact of the search range, not a temperature to deploy.
    """
    low, high = TEMPERATURE_BOUNDS
    for end, side in ((high, "upper"), (low, "lower")):
        if math.isclose(temperature, end, rel_tol=1e-9):
            return (
                f"no advice: the fit sits at its {side} search bound ({end:g}), so the likelihood still "
                f"improves beyond it and no temperature in [{low:g}, {high:g}] can be recommended"
            )
    return None
