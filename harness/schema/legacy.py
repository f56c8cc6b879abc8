"""Reading results written by earlier schema versions.

Schema 1 metrics were bare names; schema 2 metrics describe themselves (suite, scope,
slice, direction, unit). A version-1 ``results.json`` is upgraded in memory by reading
the names the version-1 suites wrote, so runs stored before the change still gate,
compare and render. Nothing here is used for new runs.

Chance levels (:attr:`Metric.chance`) came later still, within schema 2: a metric
written before them has no ``chance`` key at all (newer files write ``null`` where a
metric has none). For both, the chance level is filled where the suite fixes it: every
MMLU, robustness and fairness item has four choices (the readers refuse any other
count), and so does every item of the domain suite's shipped data (a test pins it).
"""

from __future__ import annotations

from typing import Any

SUPPORTED_VERSIONS = ("1", "2")

# Version-1 metric families: (direction, unit) by "<suite>.<metric>".
_V1_FAMILIES: dict[str, tuple[str, str]] = {
    "mmlu.accuracy": ("higher", "proportion"),
    "gsm8k.exact_match": ("higher", "proportion"),
    "domain.accuracy": ("higher", "proportion"),
    "calibration.ece": ("lower", "score"),
    "calibration.ece_equal_mass": ("lower", "score"),
    "calibration.mce": ("lower", "score"),
    "calibration.brier": ("lower", "score"),
    "calibration.nll": ("lower", "nats"),
    "calibration.confidence_gap": ("neutral", "score"),
    "calibration.coverage_accuracy_auc": ("higher", "proportion"),
    "calibration.selective_accuracy_at_10": ("higher", "proportion"),
    "calibration.temperature": ("neutral", "factor"),
    "calibration.ece_before_temperature": ("lower", "score"),
    "calibration.ece_after_temperature": ("lower", "score"),
    "robustness.accuracy": ("higher", "proportion"),
    "robustness.worst_case_accuracy": ("higher", "proportion"),
    "robustness.drop": ("lower", "proportion"),
    "robustness.consistency": ("higher", "proportion"),
    "fairness.accuracy": ("higher", "proportion"),
    "fairness.accuracy_gap": ("lower", "proportion"),
    "fairness.demographic_parity_difference": ("lower", "proportion"),
    "fairness.flip_rate": ("lower", "proportion"),
    "fairness.worst_group_accuracy": ("higher", "proportion"),
}
_V1_HEADLINES = {
    "mmlu.accuracy",
    "gsm8k.exact_match",
    "domain.accuracy",
    "calibration.ece",
    "robustness.worst_case_accuracy",
    "fairness.accuracy_gap",
}
_V1_SLICE_SCOPES = {
    "mmlu.accuracy": "subject",
    "domain.accuracy": "subject",
    "robustness.accuracy": "perturbation",
    "robustness.drop": "perturbation",
    "robustness.consistency": "perturbation",
    "fairness.accuracy": "group",
    "fairness.accuracy_gap": "attribute",
    "fairness.demographic_parity_difference": "attribute",
    "fairness.flip_rate": "attribute",
}


# Chance level by metric family, for accuracies whose suites fix the number of choices (4).
_FOUR_CHOICES = 0.25
_CHANCE_FAMILIES: dict[str, float] = {
    "mmlu.accuracy": _FOUR_CHOICES,
    "domain.accuracy": _FOUR_CHOICES,
    "robustness.accuracy": _FOUR_CHOICES,
    "fairness.accuracy": _FOUR_CHOICES,
    "fairness.worst_group_accuracy": _FOUR_CHOICES,
    "calibration.selective_accuracy_at_10": _FOUR_CHOICES,
}


def upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """A results mapping of any supported version as a current-version mapping."""
    if raw.get("schema_version") != "1":
        return _with_chance_levels(raw)
    out = dict(raw)
    out["schema_version"] = "2"
    out["metrics"] = [_upgrade_metric(m) for m in raw.get("metrics", []) if isinstance(m, dict)]
    statuses = {}
    for suite, status in (raw.get("suite_status") or {}).items():
        headline = next((h for h in _V1_HEADLINES if h.split(".", 1)[0] == suite), None)
        statuses[suite] = dict(status) | ({"headline": headline} if headline else {})
    out["suite_status"] = statuses
    out["details"] = {suite: _with_charts(suite, dict(d)) for suite, d in (raw.get("details") or {}).items()}
    return _with_chance_levels(out)


def _with_chance_levels(raw: dict[str, Any]) -> dict[str, Any]:
    """Metrics written before chance levels existed (no ``chance`` key) with the chance level their suite fixes."""
    metrics = raw.get("metrics")
    if not isinstance(metrics, list) or all(not isinstance(m, dict) or "chance" in m for m in metrics):
        return raw
    return dict(raw) | {
        "metrics": [
            m if not isinstance(m, dict) or "chance" in m else m | {"chance": chance_of(str(m.get("name", "")))}
            for m in metrics
        ]
    }


def chance_of(name: str) -> float | None:
    """The chance level of a metric of the built-in suites by its name, where the suite fixes it; else None."""
    suite, _, rest = name.partition(".")
    family = f"{suite}.{rest.split('.')[0]}" if rest else suite
    return _CHANCE_FAMILIES.get(family)


def _with_charts(suite: str, details: dict[str, Any]) -> dict[str, Any]:
    """The chart requests version-1 suites did not write but whose evidence they kept."""
    charts: list[dict[str, Any]] = []
    if suite == "calibration" and "reliability" in details:
        charts = [
            {"kind": "reliability", "source": "reliability", "title": "Reliability, 10 equal-width bins"},
            {"kind": "reliability", "source": "reliability_equal_mass", "title": "Reliability, 10 equal-mass bins"},
        ]
    elif suite == "robustness" and "perturbations" in details:
        variants = ["clean", *(row["perturbation"] for row in details["perturbations"])]
        charts = [
            {
                "kind": "interval_bars",
                "title": "Accuracy under each perturbation (95% CI)",
                "metrics": [f"robustness.accuracy.{v}" for v in variants],
                "labels": variants,
                "reference_metric": "robustness.accuracy.clean",
            }
        ]
    elif suite == "fairness" and "attributes" in details:
        pairs = [(a["attribute"], g["group"]) for a in details["attributes"] for g in a["groups"]]
        charts = [
            {
                "kind": "interval_bars",
                "title": "Accuracy per group (95% CI); dashed: all groups",
                "metrics": [f"fairness.accuracy.{a}.{g}" for a, g in pairs],
                "labels": [f"{a}: {g}" for a, g in pairs],
                "reference_metric": "fairness.accuracy",
            }
        ]
    return details | ({"charts": charts} if charts else {})


def _upgrade_metric(metric: dict[str, Any]) -> dict[str, Any]:
    name = str(metric.get("name", ""))
    suite, _, rest = name.partition(".")
    parts = rest.split(".") if rest else []
    family = f"{suite}.{parts[0]}" if parts else suite
    described: dict[str, Any] = {"suite": suite or None, "scope": "overall", "slice": None}
    if name in _V1_HEADLINES:
        described["scope"] = "headline"
    elif len(parts) > 1 and family in _V1_SLICE_SCOPES and not (family == "robustness.drop" and parts[1] == "max"):
        described["scope"] = _V1_SLICE_SCOPES[family]
        described["slice"] = ".".join(parts[1:])
    if suite == "data":
        described |= {"scope": "dataset", "slice": parts[0] if parts else None}
    direction, unit = _V1_FAMILIES.get(
        family, ("neutral", "proportion" if metric.get("ci_method") == "wilson" else "score")
    )
    return dict(metric) | described | {"direction": direction, "unit": unit}
