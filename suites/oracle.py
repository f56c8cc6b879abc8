"""Agreement with an oracle: how closely a distilled model reproduces its teacher's labels.

The methodology's distillation case: an expensive oracle labels data, a local model is
fine-tuned on the labels and must then match the oracle on a holdout. Here the oracle's
labels are four dimension scores (0-10) of emergency incident reports, with the overall
score, tier and filter decision that follow from them by the rubric
(``suites/data/oracle/rubric.md``, :mod:`harness.scoring.oracle`). The model answers the
four scores and the tier in JSON. Metrics, each with n and a 95% interval:

- ``oracle.accuracy``: the filter decision (tier high or critical) agrees with the oracle's;
- ``oracle.tier_agreement``: the tier equals the oracle's;
- ``oracle.valid_json``: the answer gave the four scores in JSON;
- ``oracle.score_mae`` and ``oracle.dimension_mae``: mean absolute error of the overall score
  and of the dimension scores, over the answers that gave them;
- ``oracle.weighted_kappa``: quadratic-weighted kappa between the model's and the oracle's
  tiers (Cohen 1968), over the same answers;
- ``oracle.seconds_per_item``: generation time per item, each batch's time shared by its items.

The shipped policy ``distillation`` holds the methodology's targets (blocking) and stretch
goals (warnings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.schema.results import ItemRecord, Metric, MetricKind
from harness.stats import bootstrap_draws, percentile_interval
from harness.suites.base import Outcomes, SuiteScores, register_suite
from harness.suites.generated import GeneratedSuite, data_folder, failures

AGREES = MetricKind(
    direction="higher",
    unit="proportion",
    label="decision agreement with the oracle",
    definition="share of holdout items whose filter decision equals the oracle's; Wilson interval",
)
TIER = MetricKind(
    direction="higher",
    unit="proportion",
    label="tier agreement",
    definition="share of holdout items whose tier equals the oracle's; Wilson interval",
)
PARSED = MetricKind(
    direction="higher",
    unit="proportion",
    label="answers with the four scores in JSON",
    definition="share of answers giving all four dimension scores 0-10 as JSON; Wilson interval",
)
MAE = MetricKind(
    direction="lower",
    unit="score",
    label="mean absolute error",
    definition="mean |model - oracle| over the answers that gave scores; percentile bootstrap interval",
)
WEIGHTED_KAPPA = MetricKind(
    direction="higher",
    unit="score",
    label="quadratic-weighted kappa of tiers",
    definition="Cohen (1968) weighted kappa, quadratic weights, over the answers that gave "
    "scores (scikit-learn); percentile bootstrap interval",
)
SECONDS = MetricKind(
    direction="lower",
    unit="seconds",
    label="seconds per item",
    definition="generation time per item, a batch's time shared by its items; percentile bootstrap",
)
INSTRUCTION = (
    "Score this incident report from 0 to 10 on four dimensions: life_safety, spread_risk, resource_need, "
    "public_impact; then give its tier: low, medium, high or critical. Answer only with JSON, for example "
    '{"life_safety": 7, "spread_risk": 5, "resource_need": 4, "public_impact": 6, "tier": "high"}.'
)


def weighted_kappa(model: np.ndarray, oracle: np.ndarray) -> float:
    """Quadratic-weighted kappa of two ordinal label vectors (scikit-learn's ``cohen_kappa_score``)."""
    from sklearn.metrics import cohen_kappa_score

    if len(model) < 2 or len(set(model.tolist()) | set(oracle.tolist())) < 2:
        return float("nan")
    return float(cohen_kappa_score(model, oracle, weights="quadratic", labels=[0, 1, 2, 3]))


def weighted_kappa_replicates(model: np.ndarray, oracle: np.ndarray, draws: np.ndarray, k: int = 4) -> np.ndarray:
    """Quadratic-weighted kappa (Cohen 1968) of every resample in ``draws`` at once.

    kappa = 1 - sum(W * O) / sum(W * E), with O the k x k table of observed label pairs, E
    the product of its margins divided by n, and W[i, j] = (i - j)^2; the definition
    scikit-learn's ``cohen_kappa_score(weights="quadratic")`` computes (a test pins the two).
    """
    n_boot, n = draws.shape
    cells = (model[draws] * k + oracle[draws]) + (np.arange(n_boot) * k * k)[:, None]
    observed = np.bincount(cells.ravel(), minlength=n_boot * k * k).reshape(n_boot, k, k).astype(float)
    expected = observed.sum(axis=2)[:, :, None] * observed.sum(axis=1)[:, None, :] / n
    weights = (np.arange(k)[:, None] - np.arange(k)[None, :]) ** 2
    denominator = (weights * expected).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        kappas: np.ndarray = 1.0 - (weights * observed).sum(axis=(1, 2)) / denominator
    return kappas


@register_suite
class Oracle(GeneratedSuite):
    name = "oracle"
    headline = "oracle.accuracy"
    scorer = "oracle"
    system = "You triage emergency incident reports for a civil protection operations centre."
    max_tokens = 80
    kind_field = "tier"
    headline_kind = AGREES

    def sources(self) -> list[Path]:
        return [data_folder("oracle") / "holdout.jsonl"]

    def documents(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "id": row["id"],
                "input": f"{INSTRUCTION}\n\nReport: {row['report']}",
                "target": row["oracle"]["tier"],
                "tier": row["oracle"]["tier"],
                "oracle": row["oracle"],
            }
            for row in rows
        ]

    def outcomes(self, records: list[ItemRecord]) -> Outcomes:
        mine = self.mine(records)
        out: Outcomes = {self.headline: {r.item_id: r.correct for r in mine}}
        out["oracle.tier_agreement"] = self.values(mine, "tier_agrees")
        out["oracle.valid_json"] = self.values(mine, "parsed")
        return out

    def score(self, records: list[ItemRecord]) -> SuiteScores:
        mine = self.mine(records)
        if not mine:
            return SuiteScores(metrics=[], warnings=["no oracle records"])
        kinds = {self.headline: AGREES, "oracle.tier_agreement": TIER, "oracle.valid_json": PARSED}
        metrics = [
            kinds[name].proportion(
                name, sum(v.values()), len(v), suite=self.name, scope="headline" if name == self.headline else "overall"
            )
            for name, v in self.outcomes(mine).items()
        ]
        parsed = [r.extra["scores"] for r in mine if r.extra.get("scores", {}).get("parsed")]
        model_tiers = np.array([int(s["tier"]) for s in parsed])
        oracle_tiers = np.array([int(s["oracle_tier"]) for s in parsed])
        metrics += [
            _mean_metric("oracle.score_mae", np.array([s["overall_error"] for s in parsed]), MAE, self.name),
            _mean_metric("oracle.dimension_mae", np.array([s["dimension_error"] for s in parsed]), MAE, self.name),
            _statistic_metric(
                "oracle.weighted_kappa",
                len(parsed),
                WEIGHTED_KAPPA,
                self.name,
                lambda i: weighted_kappa(model_tiers[i], oracle_tiers[i]),
            ),
            _mean_metric(
                "oracle.seconds_per_item",
                np.array([r.extra.get("seconds", 0.0) / max(1, r.extra.get("batch_size", 1)) for r in mine]),
                SECONDS,
                self.name,
            ),
        ]
        warnings = []
        if len(parsed) < len(mine):
            warnings.append(
                f"{len(mine) - len(parsed)} of {len(mine)} answers gave no usable scores: the errors and "
                "kappa rest on the others only"
            )
        return SuiteScores(metrics=metrics, details={"failures": failures(mine), "items": len(mine)}, warnings=warnings)


def _kappa_metric(model_tiers: np.ndarray, oracle_tiers: np.ndarray, suite: str) -> Metric:
    n = len(model_tiers)
    if n < 2:
        return WEIGHTED_KAPPA.describe(Metric(name="oracle.weighted_kappa", value=None, n=n), suite=suite)
    low, high = percentile_interval(weighted_kappa_replicates(model_tiers, oracle_tiers, bootstrap_draws(n)))
    metric = Metric(
        name="oracle.weighted_kappa",
        value=weighted_kappa(model_tiers, oracle_tiers),
        n=n,
        ci_low=low,
        ci_high=high,
        ci_method="bootstrap-percentile-1000",
    )
    return WEIGHTED_KAPPA.describe(metric, suite=suite)


def _mean_metric(name: str, values: np.ndarray, kind: MetricKind, suite: str) -> Metric:
    return _statistic_metric(name, len(values), kind, suite, lambda i: float(values[i].mean()))


def _statistic_metric(name: str, n: int, kind: MetricKind, suite: str, statistic: Any) -> Metric:
    if n == 0:
        return kind.describe(Metric(name=name, value=None, n=0), suite=suite)
    low, high = percentile_interval(np.array([statistic(d) for d in bootstrap_draws(n)]))
    metric = Metric(
        name=name, value=statistic(np.arange(n)), n=n, ci_low=low, ci_high=high, ci_method="bootstrap-percentile-1000"
    )
    return kind.describe(metric, suite=suite)
