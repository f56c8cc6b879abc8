"""Inter-rater agreement: how far expert labels can be trusted.

Ratings come in long format, one row per (item, rater): ``item_id``, ``rater_id`` and a
categorical ``label`` and/or a numeric ``score``. Missing ratings are allowed: pairwise
Cohen's kappa uses the items both raters rated, Krippendorff's alpha handles gaps by
design, and Fleiss' kappa and the ICCs (which need complete rows) use the items every
rater rated, with their n reported. Every coefficient gets a percentile bootstrap 95%
interval over items.

Libraries do the arithmetic where they are the reference: scikit-learn's
``cohen_kappa_score`` (Cohen 1960), statsmodels' ``fleiss_kappa`` (Fleiss 1971), the
``krippendorff`` package (Krippendorff 2011). The ICCs follow Shrout & Fleiss (1979)
from the two-way ANOVA mean squares, as no chosen library provides them.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from harness.data.tables import read_table
from harness.errors import DataError
from harness.results import Metric
from harness.stats import DEFAULT_BOOTSTRAP, bootstrap_interval

KAPPA_TARGET = 0.7  # the methodology notes' threshold for substantial agreement


class PairwiseKappa(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rater_a: str
    rater_b: str
    kappa: float | None
    n: int


class AgreementReport(BaseModel):
    """Agreement coefficients for one ratings file; ``metrics`` feed the gate as ``data.<name>.<metric>``."""

    model_config = ConfigDict(extra="forbid")

    source: str
    n_items: int
    raters: list[str]
    label_column: str | None
    score_column: str | None
    missing_ratings: int
    pairwise: list[PairwiseKappa]
    metrics: list[Metric]
    interpretation: str

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)


def load_ratings(path: str | Path) -> Any:
    """Long-format ratings with item_id and rater_id; at least two raters; one rating per (item, rater)."""
    frame = read_table(path, required=("item_id", "rater_id"))
    if "label" not in frame.columns and "score" not in frame.columns:
        raise DataError(f"{path}: a ratings file needs a 'label' or a 'score' column (or both)")
    frame["item_id"] = frame["item_id"].astype(str)
    frame["rater_id"] = frame["rater_id"].astype(str)
    raters = frame["rater_id"].nunique()
    if raters < 2:
        raise DataError(f"{path}: agreement needs at least two raters, found {raters}")
    duplicated = frame.duplicated(["item_id", "rater_id"])
    if duplicated.any():
        row = frame[duplicated].iloc[0]
        line = int(frame.index[duplicated][0]) + 2  # header line + 1-based
        raise DataError(f"{path}:{line}: rater {row['rater_id']!r} rated item {row['item_id']!r} twice")
    if "score" in frame.columns:
        try:
            frame["score"] = frame["score"].astype(float)
        except (TypeError, ValueError):
            raise DataError(f"{path}: column 'score' must hold numbers") from None
    return frame


def wide(frame: Any, column: str) -> Any:
    """Items x raters table of ``column`` (NaN where a rater did not rate an item)."""
    return frame.pivot(index="item_id", columns="rater_id", values=column).sort_index()


def label_codes(labels: Any) -> np.ndarray:
    """Items x raters labels as float codes (categories in sorted order), NaN where missing."""
    raw = labels.to_numpy(dtype=object)
    present = labels.notna().to_numpy()
    categories = {c: i for i, c in enumerate(sorted({str(v) for v in raw[present]}))}
    coded = np.full(raw.shape, np.nan)
    coded[present] = [categories[str(v)] for v in raw[present]]
    return coded


def _pair_kappas(codes: np.ndarray) -> list[tuple[int, int, float | None, int]]:
    from sklearn.metrics import cohen_kappa_score

    out = []
    for i, j in itertools.combinations(range(codes.shape[1]), 2):
        both = ~np.isnan(codes[:, i]) & ~np.isnan(codes[:, j])
        n = int(both.sum())
        kappa = None
        if n >= 2:
            value = float(cohen_kappa_score(codes[both, i].astype(int), codes[both, j].astype(int)))
            kappa = None if np.isnan(value) else value
        out.append((i, j, kappa, n))
    return out


def pairwise_cohen_kappa(labels: Any) -> list[PairwiseKappa]:
    """Cohen's kappa for every pair of raters over the items both rated (scikit-learn)."""
    names = [str(c) for c in labels.columns]
    return [
        PairwiseKappa(rater_a=names[i], rater_b=names[j], kappa=kappa, n=n)
        for i, j, kappa, n in _pair_kappas(label_codes(labels))
    ]


def _mean_kappa(codes: np.ndarray) -> float:
    values = [k for _, _, k, _ in _pair_kappas(codes) if k is not None]
    return float(np.mean(values)) if values else float("nan")


def mean_pairwise_kappa(labels: Any) -> float:
    """The mean of the pairwise Cohen's kappas: the methodology notes' agreement figure (Light 1971)."""
    return _mean_kappa(label_codes(labels))


def _fleiss(codes: np.ndarray) -> float:
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    complete = codes[~np.isnan(codes).any(axis=1)].astype(int)
    if len(complete) < 2:
        return float("nan")
    table, _ = aggregate_raters(complete, n_cat=int(np.nanmax(codes)) + 1)
    return float(sm_fleiss(table, method="fleiss"))


def fleiss_kappa(labels: Any) -> float:
    """Fleiss' kappa over the items every rater labelled (statsmodels)."""
    return _fleiss(label_codes(labels))


def _krippendorff(matrix: np.ndarray, level: str) -> float:
    import krippendorff

    values = matrix.T  # raters x items
    finite = np.isfinite(values)
    if (finite.sum(axis=0) >= 2).sum() < 2 or len(np.unique(values[finite])) < 2:
        return float("nan")
    return float(krippendorff.alpha(reliability_data=values, level_of_measurement=level))


def krippendorff_alpha(values: Any, level: str) -> float:
    """Krippendorff's alpha for an items x raters table with gaps (the ``krippendorff`` package).

    Nominal labels are coded as integers in sorted order; ordinal and interval data must
    already be numeric.
    """
    matrix = label_codes(values) if level == "nominal" else values.to_numpy(dtype=float)
    return _krippendorff(matrix, level)


def _icc(x: np.ndarray) -> tuple[float, float]:
    x = x[~np.isnan(x).any(axis=1)]
    n, k = x.shape
    if n < 2 or k < 2:
        return float("nan"), float("nan")
    grand = x.mean()
    bss = k * ((x.mean(axis=1) - grand) ** 2).sum()
    jss = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ess = ((x - grand) ** 2).sum() - bss - jss
    bms, jms, ems = bss / (n - 1), jss / (k - 1), ess / ((n - 1) * (k - 1))
    icc2 = (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n)
    icc3 = (bms - ems) / (bms + (k - 1) * ems)
    return float(icc2), float(icc3)


def intraclass_correlations(scores: Any) -> tuple[float, float]:
    """ICC(2,1) and ICC(3,1) of Shrout & Fleiss (1979) over the items every rater scored.

    With n targets, k raters and the two-way ANOVA mean squares BMS (targets), JMS
    (raters) and EMS (residual):
    ICC(2,1) = (BMS - EMS) / (BMS + (k-1) EMS + k (JMS - EMS) / n)   (absolute agreement, random raters)
    ICC(3,1) = (BMS - EMS) / (BMS + (k-1) EMS)                        (consistency, fixed raters)
    """
    return _icc(scores.to_numpy(dtype=float))


def landis_koch(kappa: float | None) -> str:
    """Landis & Koch (1977) verbal scale for kappa."""
    if kappa is None or np.isnan(kappa):
        return "not computable"
    for bound, word in ((0.0, "poor"), (0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial")):
        if kappa <= bound:
            return word
    return "almost perfect"


def agreement_report(path: str | Path, *, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0) -> AgreementReport:
    """Every coefficient the ratings allow, each with its bootstrap interval over items."""
    frame = load_ratings(path)
    items = sorted(frame["item_id"].unique())
    raters = sorted(frame["rater_id"].unique())
    missing = len(items) * len(raters) - len(frame)
    metrics: list[Metric] = []
    pairwise: list[PairwiseKappa] = []

    def add(name: str, matrix: np.ndarray, fn: Any, n: int) -> None:
        value = fn(matrix)
        low, high = bootstrap_interval(lambda i: fn(matrix[i]), len(matrix), n_boot=n_boot, seed=seed)
        metrics.append(
            Metric(name=name, value=None if np.isnan(value) else value, n=n, ci_low=low, ci_high=high,
                   ci_method=f"bootstrap-percentile-{n_boot}-items")
        )

    if "label" in frame.columns:
        labels = wide(frame, "label")
        codes = label_codes(labels)
        complete = int((~np.isnan(codes).any(axis=1)).sum())
        pairwise = pairwise_cohen_kappa(labels)
        add("kappa", codes, _mean_kappa, len(codes))
        add("fleiss_kappa", codes, _fleiss, complete)
        add("krippendorff_alpha", codes, lambda m: _krippendorff(m, "nominal"), len(codes))
    if "score" in frame.columns:
        scores = wide(frame, "score").to_numpy(dtype=float)
        complete = int((~np.isnan(scores).any(axis=1)).sum())
        add("krippendorff_alpha_ordinal", scores, lambda m: _krippendorff(m, "ordinal"), len(scores))
        add("icc2_1", scores, lambda m: _icc(m)[0], complete)
        add("icc3_1", scores, lambda m: _icc(m)[1], complete)
    head = next((m for m in metrics if m.name == "kappa"), None)
    interpretation = (
        f"mean pairwise Cohen's kappa {head.value:.3f}: {landis_koch(head.value)} agreement (Landis & Koch 1977); "
        f"the notes' target is > {KAPPA_TARGET}"
        if head and head.value is not None
        else "no categorical labels: see the ICCs and ordinal alpha"
    )
    return AgreementReport(
        source=str(path), n_items=len(items), raters=list(raters),
        label_column="label" if "label" in frame.columns else None,
        score_column="score" if "score" in frame.columns else None,
        missing_ratings=int(missing), pairwise=pairwise, metrics=metrics, interpretation=interpretation,
    )
