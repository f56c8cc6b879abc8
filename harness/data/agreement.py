"""Inter-rater agreement: how far expert labels can be trusted.

Ratings come in long format, one row per (item, rater): ``item_id``, ``rater_id`` and a
categorical ``label`` and/or a numeric ``score``. Missing ratings are allowed: pairwise
Cohen's kappa uses the items both raters rated, Krippendorff's alpha handles gaps by
design, and Fleiss' kappa and the ICCs (which need complete rows) use the items every
rater rated, with their n reported. Every coefficient gets a percentile bootstrap 95%
interval over items.

Libraries do the arithmetic of the reported values where they are the reference:
scikit-learn's ``cohen_kappa_score`` (Cohen 1960), statsmodels' ``fleiss_kappa`` (Fleiss
1971), the ``krippendorff`` package (Krippendorff 2011). The ICCs follow Shrout & Fleiss
(1979) from the two-way ANOVA mean squares, as no chosen library provides them. The
bootstrap replicates (a thousand resamples per coefficient) are computed for all
resamples at once with numpy, on the draws ``bootstrap_interval`` makes; each replicate
function follows its library's definition and is tested against it.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from harness.data.tables import read_table, row_location
from harness.errors import DataError
from harness.schema.results import Metric
from harness.stats import DEFAULT_BOOTSTRAP, bootstrap_draws, percentile_interval

if TYPE_CHECKING:
    from pandas import DataFrame


KAPPA_TARGET = 0.7  # the methodology's threshold for substantial agreement


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


def load_ratings(path: str | Path) -> DataFrame:
    """Long-format ratings with item_id and rater_id; at least two raters; one rating per (item, rater).

    Scores and confidences must be finite numbers or missing: NaN or infinity written as a
    value is refused with its line, as is a row without an item or a rater.
    """
    frame = read_table(path, required=("item_id", "rater_id"), finite=("score", "confidence"))
    if "label" not in frame.columns and "score" not in frame.columns:
        raise DataError(f"{path}: a ratings file needs a 'label' or a 'score' column (or both)")
    for column in ("item_id", "rater_id"):
        empty = frame[column].isna()
        if empty.any():
            raise DataError(f"{path}{row_location(Path(path), frame, int(frame.index[empty][0]))}: {column} is empty")
    frame["item_id"] = frame["item_id"].astype(str)
    frame["rater_id"] = frame["rater_id"].astype(str)
    raters = frame["rater_id"].nunique()
    if raters < 2:
        raise DataError(f"{path}: agreement needs at least two raters, found {raters}")
    duplicated = frame.duplicated(["item_id", "rater_id"])
    if duplicated.any():
        row = frame[duplicated].iloc[0]
        where = row_location(Path(path), frame, int(frame.index[duplicated][0]))
        raise DataError(f"{path}{where}: rater {row['rater_id']!r} rated item {row['item_id']!r} twice")
    if "score" in frame.columns:
        try:
            frame["score"] = frame["score"].astype(float)
        except (TypeError, ValueError, OverflowError):
            raise DataError(f"{path}: column 'score' must hold numbers") from None
        infinite = np.isinf(frame["score"].to_numpy())
        if infinite.any():
            where = row_location(Path(path), frame, int(np.flatnonzero(infinite)[0]))
            raise DataError(f"{path}{where}: score is not a finite number")
    return frame


def wide(frame: DataFrame, column: str) -> DataFrame:
    """Items x raters table of ``column`` (NaN where a rater did not rate an item)."""
    return frame.pivot(index="item_id", columns="rater_id", values=column).sort_index()


def label_codes(labels: DataFrame) -> np.ndarray:
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


def pairwise_cohen_kappa(labels: DataFrame) -> list[PairwiseKappa]:
    """Cohen's kappa for every pair of raters over the items both rated (scikit-learn)."""
    names = [str(c) for c in labels.columns]
    return [
        PairwiseKappa(rater_a=names[i], rater_b=names[j], kappa=kappa, n=n)
        for i, j, kappa, n in _pair_kappas(label_codes(labels))
    ]


def _mean_kappa(codes: np.ndarray) -> float:
    values = [k for _, _, k, _ in _pair_kappas(codes) if k is not None]
    return float(np.mean(values)) if values else float("nan")


def mean_pairwise_kappa(labels: DataFrame) -> float:
    """The mean of the pairwise Cohen's kappas: the methodology's agreement figure (Light 1971)."""
    return _mean_kappa(label_codes(labels))


def _fleiss(codes: np.ndarray) -> float:
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    complete = codes[~np.isnan(codes).any(axis=1)].astype(int)
    if len(complete) < 2:
        return float("nan")
    table, _ = aggregate_raters(complete, n_cat=int(np.nanmax(codes)) + 1)
    return float(sm_fleiss(table, method="fleiss"))


def fleiss_kappa(labels: DataFrame) -> float:
    """Fleiss' kappa over the items every rater labelled (statsmodels)."""
    return _fleiss(label_codes(labels))


def _krippendorff(matrix: np.ndarray, level: str) -> float:
    import krippendorff

    values = matrix.T  # raters x items
    finite = np.isfinite(values)
    if (finite.sum(axis=0) >= 2).sum() < 2 or len(np.unique(values[finite])) < 2:
        return float("nan")
    return float(krippendorff.alpha(reliability_data=values, level_of_measurement=level))


def krippendorff_alpha(values: DataFrame, level: str) -> float:
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


def intraclass_correlations(scores: DataFrame) -> tuple[float, float]:
    """ICC(2,1) and ICC(3,1) of Shrout & Fleiss (1979) over the items every rater scored.

    With n targets, k raters and the two-way ANOVA mean squares BMS (targets), JMS
    (raters) and EMS (residual):
    ICC(2,1) = (BMS - EMS) / (BMS + (k-1) EMS + k (JMS - EMS) / n)   (absolute agreement, random raters)
    ICC(3,1) = (BMS - EMS) / (BMS + (k-1) EMS)                        (consistency, fixed raters)
    """
    return _icc(scores.to_numpy(dtype=float))


# --- Bootstrap replicates, all resamples at once -------------------------------------
#
# The item bootstrap asks for every coefficient on ~1000 resamples of the items. Calling
# the libraries once per resample costs seconds (scikit-learn's input validation alone is
# ~4 ms a call), so the replicates below are computed with numpy for all resamples at
# once. Every coefficient here is symmetric in the items, so a resample is fully
# described by how often it draws each item: ``counts`` is a (resamples x items) matrix
# of those multiplicities, and each per-resample table (confusion matrix, category
# counts, coincidence matrix, ANOVA sums) is ``counts @ per-item table``. Each function
# reproduces its library's definition, including when it is undefined (NaN), and the
# tests pin it to the library on random resamples with missing values.


def resample_counts(draws: np.ndarray, n: int) -> np.ndarray:
    """(resamples x n) float matrix: how often resample ``b`` (row ``b`` of ``draws``) drew item ``i``."""
    draws = np.atleast_2d(np.asarray(draws, dtype=np.int64))
    offsets = np.arange(draws.shape[0])[:, np.newaxis] * n
    return np.bincount((draws + offsets).ravel(), minlength=draws.size).reshape(draws.shape).astype(float)


def _n_categories(codes: np.ndarray) -> int:
    present = ~np.isnan(codes)
    return int(codes[present].max()) + 1 if present.any() else 0


def cohen_kappa_replicates(codes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cohen's kappa of every pair of raters in every resample: (resamples x pairs), pairs in ``combinations`` order.

    Cohen (1960): with the K x K confusion matrix ``o`` of the items both raters labelled
    (n of them) and the chance matrix ``e[a, b] = o[:, a].sum() * o[b, :].sum() / n``,
    kappa = 1 - sum_{a != b} o[a, b] / sum_{a != b} e[a, b] (= (p_o - p_e) / (1 - p_e)),
    exactly as scikit-learn's ``cohen_kappa_score`` computes it. NaN where the resample
    has fewer than two such items, or where kappa is undefined because a single category
    occurs (scikit-learn's ``replace_undefined_by``).

    ``codes``: items x raters category codes 0..K-1, NaN where missing (``label_codes``);
    ``counts``: resamples x items multiplicities (``resample_counts``).
    """
    counts = np.atleast_2d(counts)
    n_items, n_raters = codes.shape
    k = max(_n_categories(codes), 1)
    off_diagonal = 1.0 - np.eye(k)
    pairs = list(itertools.combinations(range(n_raters), 2))
    out = np.full((counts.shape[0], len(pairs)), np.nan)
    for p, (i, j) in enumerate(pairs):
        both = np.flatnonzero(~np.isnan(codes[:, i]) & ~np.isnan(codes[:, j]))
        cells = np.zeros((n_items, k * k))
        cells[both, codes[both, i].astype(int) * k + codes[both, j].astype(int)] = 1.0
        confusion = (counts @ cells).reshape(-1, k, k)  # [resample, label by i, label by j]
        n = confusion.sum(axis=(1, 2))
        sum0 = confusion.sum(axis=1)  # scikit-learn's sum over axis 0: totals of rater j
        sum1 = confusion.sum(axis=2)  # totals of rater i
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = sum0[:, :, np.newaxis] * sum1[:, np.newaxis, :] / n[:, np.newaxis, np.newaxis]
            disagreement = (off_diagonal * confusion).sum(axis=(1, 2))
            chance = (off_diagonal * expected).sum(axis=(1, 2))
            kappa = 1.0 - disagreement / chance
        out[:, p] = np.where((n >= 2) & (chance != 0), kappa, np.nan)
    return out


def mean_kappa_replicates(codes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean over rater pairs of the defined Cohen's kappas (Light 1971) per resample; NaN where none is defined."""
    kappas = cohen_kappa_replicates(codes, counts)
    defined = ~np.isnan(kappas)
    n_defined = defined.sum(axis=1)
    with np.errstate(invalid="ignore"):
        means = np.where(defined, kappas, 0.0).sum(axis=1) / n_defined
    return np.where(n_defined > 0, means, np.nan)


def fleiss_kappa_replicates(codes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Fleiss' kappa over the complete items of every resample, as statsmodels' ``fleiss_kappa(method="fleiss")``.

    Fleiss (1971): with N items each labelled by all k raters and n_ij raters putting
    item i in category j, P_i = (sum_j n_ij^2 - k) / (k (k - 1)), p_j = sum_i n_ij / (N k),
    P-bar = mean_i P_i, P_e = sum_j p_j^2 and kappa = (P-bar - P_e) / (1 - P_e). NaN
    where the resample has fewer than two complete items or a single category (P_e = 1).
    """
    counts = np.atleast_2d(counts)
    n_items, k = codes.shape
    complete = ~np.isnan(codes).any(axis=1)
    table = np.zeros((n_items, max(_n_categories(codes), 1)))  # n_ij
    rows = np.flatnonzero(complete)
    for rater in range(k):
        np.add.at(table, (rows, codes[rows, rater].astype(int)), 1.0)
    weights = counts * complete
    n_sub = weights.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_cat = (weights @ table) / (n_sub * k)[:, np.newaxis]
        p_mean = (weights @ (((table * table).sum(axis=1) - k) / (k * (k - 1.0)))) / n_sub
        p_exp = (p_cat * p_cat).sum(axis=1)
        kappa = (p_mean - p_exp) / (1 - p_exp)
    return np.where(n_sub >= 2, kappa, np.nan)


def krippendorff_alpha_replicates(matrix: np.ndarray, counts: np.ndarray, level: str) -> np.ndarray:
    """Krippendorff's alpha of every resample, as the ``krippendorff`` package computes it (missing values allowed).

    Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": with m_u values in
    unit u, n_uc of them equal to c, the coincidences o_ck = sum_u (n_uc n_uk - [c = k] n_uc)
    / (m_u - 1) over units with m_u >= 2, n_c = sum_k o_ck, n = sum_c n_c, the expected
    coincidences e_ck = (n_c n_k - [c = k] n_c) / (n - 1) and alpha = 1 - sum o_ck d_ck /
    sum e_ck d_ck, for the distance d of the level: nominal [c != k]; ordinal
    (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2 over the ranks of the values; interval
    (c - k)^2; ratio ((c - k) / (c + k))^2. The value domain is every value in the data:
    values a resample lacks have n_c = 0 and change no sum. NaN, as ``_krippendorff``,
    where fewer than two (resampled) units have two values or fewer than two distinct
    values occur, and where alpha is 0/0 (every pairable value equal).

    ``matrix``: items x raters, numbers (codes for nominal), NaN where missing.
    """
    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise ValueError(f"unknown level of measurement {level!r}")
    counts = np.atleast_2d(counts)
    present = ~np.isnan(matrix)
    domain = np.unique(matrix[present])
    v = len(domain)
    if v == 0:
        return np.full(counts.shape[0], np.nan)
    value_counts = np.zeros((matrix.shape[0], v))  # n_uc
    for rater in range(matrix.shape[1]):
        rows = np.flatnonzero(present[:, rater])
        np.add.at(value_counts, (rows, np.searchsorted(domain, matrix[rows, rater])), 1.0)
    m = value_counts.sum(axis=1)
    per_unit = value_counts[:, :, np.newaxis] * value_counts[:, np.newaxis, :]
    per_unit[:, np.arange(v), np.arange(v)] -= value_counts
    per_unit /= (np.maximum(m, 2) - 1)[:, np.newaxis, np.newaxis]
    per_unit = per_unit.reshape(-1, v * v)
    if level == "interval":
        distance = (domain[:, np.newaxis] - domain[np.newaxis, :]) ** 2
    elif level == "ratio":
        total, diff = domain[:, np.newaxis] + domain[np.newaxis, :], domain[:, np.newaxis] - domain[np.newaxis, :]
        distance = np.divide(diff, total, out=np.zeros_like(diff), where=total != 0) ** 2
    else:  # nominal; ordinal distances depend on each resample's n_c
        distance = 1.0 - np.eye(v)
    low = np.minimum.outer(np.arange(v), np.arange(v))
    high = np.maximum.outer(np.arange(v), np.arange(v))
    alpha = np.empty(counts.shape[0])
    block = max(1, 2**20 // (v * v))  # resamples at a time: bounds the (block x V x V) temporaries
    for start in range(0, counts.shape[0], block):
        o = (counts[start : start + block] @ per_unit).reshape(-1, v, v)
        n_c = o.sum(axis=1)
        e = n_c[:, :, np.newaxis] * n_c[:, np.newaxis, :]
        e[:, np.arange(v), np.arange(v)] -= n_c
        with np.errstate(divide="ignore", invalid="ignore"):
            e /= (n_c.sum(axis=1) - 1)[:, np.newaxis, np.newaxis]
            if level == "ordinal":  # ranks weighted by this resample's n_c
                cumulative = np.concatenate([np.zeros((len(n_c), 1)), np.cumsum(n_c, axis=1)], axis=1)
                d = (cumulative[:, high + 1] - cumulative[:, low] - (n_c[:, low] + n_c[:, high]) / 2) ** 2
            else:
                d = distance[np.newaxis]
            alpha[start : start + block] = 1 - (o * d).sum(axis=(1, 2)) / (e * d).sum(axis=(1, 2))
    pairable_units = counts @ (np.isfinite(matrix).sum(axis=1) >= 2)
    distinct_values = ((counts @ (value_counts > 0)) > 0)[:, np.isfinite(domain)].sum(axis=1)
    return np.where((pairable_units >= 2) & (distinct_values >= 2), alpha, np.nan)


def icc_replicates(scores: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ICC(2,1) and ICC(3,1) of every resample over its complete items, as ``_icc`` computes them.

    Shrout & Fleiss (1979), two-way ANOVA of n targets x k raters with grand mean g, target
    means m_i and rater means m_j: BSS = k sum_i (m_i - g)^2, JSS = n sum_j (m_j - g)^2,
    ESS = sum_ij (x_ij - g)^2 - BSS - JSS = sum_ij (x_ij - m_i)^2 - JSS; BMS = BSS / (n - 1),
    JMS = JSS / (k - 1), EMS = ESS / ((n - 1)(k - 1));
    ICC(2,1) = (BMS - EMS) / (BMS + (k - 1) EMS + k (JMS - EMS) / n) and
    ICC(3,1) = (BMS - EMS) / (BMS + (k - 1) EMS). Sums over a resample weight each item by
    how often it was drawn; the within-target form of ESS needs no per-resample pass over
    the cells. NaN where the resample has fewer than two complete items. Where every
    complete item drawn is the same item, ICC(3,1) is 0/0 and, as with the per-sample
    formulas, what comes out is rounding noise (typically NaN here).
    """
    counts = np.atleast_2d(counts)
    complete = ~np.isnan(scores).any(axis=1)
    x = scores[complete]
    weights = counts[:, complete]
    n_rows, k = x.shape
    if n_rows == 0 or k < 2:
        nan = np.full(counts.shape[0], np.nan)
        return nan, nan.copy()
    n = weights.sum(axis=1)
    target_means = x.mean(axis=1)
    deviations = x - target_means[:, np.newaxis]  # x_ij - m_i
    with np.errstate(divide="ignore", invalid="ignore"):
        grand = (weights @ target_means) / n
        bss = k * (weights * (target_means[np.newaxis, :] - grand[:, np.newaxis]) ** 2).sum(axis=1)
        jss = ((weights @ deviations) ** 2).sum(axis=1) / n  # n sum_j (m_j - g)^2, as m_j - g = mean_i (x_ij - m_i)
        ess = weights @ (deviations**2).sum(axis=1) - jss
        bms, jms, ems = bss / (n - 1), jss / (k - 1), ess / ((n - 1) * (k - 1))
        icc2 = (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n)
        icc3 = (bms - ems) / (bms + (k - 1) * ems)
    enough = n >= 2
    return np.where(enough, icc2, np.nan), np.where(enough, icc3, np.nan)


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

    resamples: dict[int, np.ndarray] = {}

    def add(name: str, matrix: np.ndarray, fn: Any, replicates: Any, n: int) -> None:
        """``fn(matrix)`` by the library; the interval from ``replicates(matrix, counts)``, all resamples at once."""
        value = fn(matrix)
        if len(matrix) not in resamples:
            draws = bootstrap_draws(len(matrix), n_boot=n_boot, seed=seed)
            resamples[len(matrix)] = resample_counts(draws, len(matrix))
        boot = replicates(matrix, resamples[len(matrix)])
        low, high = percentile_interval(boot)
        metrics.append(
            Metric(
                name=name,
                value=None if np.isnan(value) else value,
                n=n,
                ci_low=low,
                ci_high=high,
                ci_method=f"bootstrap-percentile-{n_boot}-items",
            )
        )

    if "label" in frame.columns:
        labels = wide(frame, "label")
        codes = label_codes(labels)
        complete = int((~np.isnan(codes).any(axis=1)).sum())
        pairwise = pairwise_cohen_kappa(labels)
        add("kappa", codes, _mean_kappa, mean_kappa_replicates, len(codes))
        add("fleiss_kappa", codes, _fleiss, fleiss_kappa_replicates, complete)
        add(
            "krippendorff_alpha",
            codes,
            lambda m: _krippendorff(m, "nominal"),
            lambda m, c: krippendorff_alpha_replicates(m, c, "nominal"),
            len(codes),
        )
    if "score" in frame.columns:
        scores = wide(frame, "score").to_numpy(dtype=float)
        complete = int((~np.isnan(scores).any(axis=1)).sum())
        add(
            "krippendorff_alpha_ordinal",
            scores,
            lambda m: _krippendorff(m, "ordinal"),
            lambda m, c: krippendorff_alpha_replicates(m, c, "ordinal"),
            len(scores),
        )
        add("icc2_1", scores, lambda m: _icc(m)[0], lambda m, c: icc_replicates(m, c)[0], complete)
        add("icc3_1", scores, lambda m: _icc(m)[1], lambda m, c: icc_replicates(m, c)[1], complete)
    head = next((m for m in metrics if m.name == "kappa"), None)
    interpretation = (
        f"mean pairwise Cohen's kappa {head.value:.3f}: {landis_koch(head.value)} agreement (Landis & Koch 1977); "
        f"the methodology's target is > {KAPPA_TARGET}"
        if head and head.value is not None
        else "no categorical labels: see the ICCs and ordinal alpha"
    )
    return AgreementReport(
        source=str(path),
        n_items=len(items),
        raters=list(raters),
        label_column="label" if "label" in frame.columns else None,
        score_column="score" if "score" in frame.columns else None,
        missing_ratings=int(missing),
        pairwise=pairwise,
        metrics=metrics,
        interpretation=interpretation,
    )
