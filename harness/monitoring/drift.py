"""Drift of a window's distributions against a reference window, with thresholds from a simulated null.

Three statistics compare a window with the reference:

- Kolmogorov-Smirnov D, the largest gap between the two empirical distribution functions
  (Smirnov 1948; ``scipy.stats.ks_2samp``), for numbers (confidence, input length);
- the population stability index, PSI = sum_i (q_i - p_i) ln(q_i / p_i) over bins, p the
  reference's and q the window's shares (Siddiqi 2006, *Credit Risk Scorecards*, ch. 8;
  Yurdakul 2018), each count smoothed by +0.5 so an empty bin stays finite;
- the Jensen-Shannon distance, the square root of the Jensen-Shannon divergence in bits
  (Lin 1991; ``scipy.spatial.distance.jensenshannon`` with base 2), in [0, 1].

Numbers are binned at the reference's equal-mass order statistics (``bins`` bins: the
ceil(n j / bins)-th smallest reference value is edge j, numpy's ``inverted_cdf``
quantile); output categories are binned by category, those the reference never saw
pooled as "other".

Thresholds. No fixed cut-off (PSI's folklore 0.1/0.25) says how often a window *without*
drift crosses it at 100 requests. Here the threshold is a quantile of the statistic's
null distribution, simulated ``bootstrap`` times:

- categories: the bootstrap (Efron & Tibshirani 1993, ch. 16): a reference and a window
  both drawn with replacement from the reference's own categories, the statistic
  recomputed each time;
- numbers: a plain bootstrap of 100 reference values repeats values, so its replicates
  hold ties a real window does not, their statistics run smaller, and the thresholds
  alarmed twice as often as stated (measured: 0.25% per statistic instead of 0.125%, 100
  seeds). Instead ties are broken at random and every statistic is computed on the ranks
  of the pooled reference and window; with no drift those ranks are a uniformly random
  split of 0 .. n+m-1 whatever the distribution (the permutation principle, Lehmann &
  Romano 2005, sec. 15.2), so the null is simulated exactly from random splits: the
  smoothed bootstrap's limit, with no bandwidth to choose. It depends only on the sizes,
  so it is computed once per reference and window size.

A window whose statistic exceeds the 1 - a/k quantile raises an alert, where a is the
policy's false-alarm rate and k the number of statistics tested per window: by
Bonferroni's inequality a window without drift raises any drift alert with probability at
most a. The rate is per window, not per log: a log of W windows expects at most a * W
false drift alerts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from harness.monitoring.policy import Feature, Statistic

SMOOTHING = 0.5  # added to every bin count of PSI (Jeffreys-style), so an empty bin is finite
MAX_CATEGORIES = 30  # more distinct reference categories than this: the rarest are pooled into "other"
OTHER = "(other)"
_CHUNK_VALUES = 2_000_000  # bootstrap values held at once


def applicable(feature: Feature, statistics: Sequence[Statistic]) -> list[Statistic]:
    """The statistics that apply to a feature: KS needs ordered values, so categories get PSI and JS only."""
    return [s for s in statistics if not (s == "ks" and feature == "output_category")]


@dataclass
class Reference:
    """A feature's reference values and what the tests need of them.

    ``values`` are floats for a numeric feature and bin indices (0 .. len(labels) - 1) for
    categories; ``codes`` maps a global category code to its bin (missing: "other").
    """

    feature: Feature
    values: np.ndarray
    bins: int
    categorical: bool = False
    labels: tuple[str, ...] = ()
    codes: dict[int, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.values.size)


def numeric_reference(feature: Feature, values: np.ndarray, bins: int) -> Reference:
    return Reference(feature=feature, values=np.asarray(values, dtype=np.float64), bins=bins)


def category_reference(feature: Feature, codes: np.ndarray, names: Sequence[str]) -> Reference:
    """Bins for categories: the reference's categories by frequency (at most ``MAX_CATEGORIES``), then "other"."""
    counts = np.bincount(codes, minlength=len(names))
    ranked = [int(c) for c in np.argsort(-counts, kind="stable") if counts[c] > 0][:MAX_CATEGORIES]
    mapping = {code: i for i, code in enumerate(ranked)}
    labels = (*(names[c] for c in ranked), OTHER)
    local = np.array([mapping.get(int(c), len(ranked)) for c in codes], dtype=np.int64)
    return Reference(feature=feature, values=local, bins=len(labels), categorical=True, labels=labels, codes=mapping)


def local_codes(reference: Reference, codes: np.ndarray) -> np.ndarray:
    """A window's global category codes as the reference's bins (unseen categories: "other")."""
    other = reference.bins - 1
    lookup = np.full(int(codes.max()) + 1 if codes.size else 1, other, dtype=np.int64)
    for code, local in reference.codes.items():
        if code < lookup.size:
            lookup[code] = local
    return np.asarray(lookup[codes])


def edge_ranks(n: int, bins: int) -> np.ndarray:
    """0-based positions of the edges among n sorted reference values: ceil(n j / bins) - 1 for j = 1 .. bins-1."""
    j = np.arange(1, bins, dtype=np.int64)
    return np.asarray((n * j + bins - 1) // bins - 1)


def equal_mass_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """The bins - 1 inner edges: the reference's ceil(n j / bins)-th smallest values (numpy's inverted_cdf quantiles)."""
    return np.asarray(np.sort(values)[edge_ranks(values.size, bins)])


def bin_counts(values: np.ndarray, edges: np.ndarray, bins: int) -> np.ndarray:
    """Counts per bin; a value's bin is the number of edges at or below it (equal edges leave a bin empty)."""
    return np.bincount(np.searchsorted(edges, values, side="right"), minlength=bins)


def population_stability_index(reference_counts: np.ndarray, current_counts: np.ndarray) -> np.ndarray:
    """PSI = sum (q - p) ln(q / p) of the smoothed shares (+0.5 per bin), along the last axis."""
    k = reference_counts.shape[-1]
    p = (reference_counts + SMOOTHING) / (reference_counts.sum(axis=-1, keepdims=True) + SMOOTHING * k)
    q = (current_counts + SMOOTHING) / (current_counts.sum(axis=-1, keepdims=True) + SMOOTHING * k)
    return np.asarray(((q - p) * np.log(q / p)).sum(axis=-1))


def jensen_shannon_distance(reference_counts: np.ndarray, current_counts: np.ndarray) -> np.ndarray:
    """sqrt of the Jensen-Shannon divergence (base 2) of the raw shares, along the last axis; 0 log 0 = 0."""
    p = reference_counts / reference_counts.sum(axis=-1, keepdims=True)
    q = current_counts / current_counts.sum(axis=-1, keepdims=True)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log2(p / m), 0.0)
        right = np.where(q > 0, q * np.log2(q / m), 0.0)
    divergence = np.clip((left.sum(axis=-1) + right.sum(axis=-1)) / 2, 0.0, None)
    return np.asarray(np.sqrt(divergence))


def tie_broken_ranks(reference: np.ndarray, current: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ranks 0 .. n+m-1 of the pooled values, ties broken by a seeded random key; (reference's, window's)."""
    pooled = np.concatenate([reference, current])
    key = np.random.default_rng(seed).random(pooled.size)
    ranks = np.empty(pooled.size, dtype=np.int64)
    ranks[np.lexsort((key, pooled))] = np.arange(pooled.size)
    return ranks[: reference.size], ranks[reference.size :]


@dataclass(frozen=True)
class Observed:
    """One statistic of one window: its value, and the scipy KS p-value where it applies."""

    statistic: Statistic
    value: float
    ks_p_value: float | None = None


def observe(
    reference: Reference, current: np.ndarray, statistics: Sequence[Statistic], *, seed: int = 0
) -> list[Observed]:
    """The statistics of a window's values (numbers, or bins from :func:`local_codes`) against the reference.

    Numbers are compared through their tie-broken ranks (``seed`` breaks the ties), as
    the null is simulated; without ties the ranks give the values' own statistics.
    """
    from scipy.stats import ks_2samp

    ref_values, cur_values = reference.values, current
    if reference.categorical:
        ref_counts = np.bincount(ref_values, minlength=reference.bins)
        cur_counts = np.bincount(cur_values, minlength=reference.bins)
    else:
        ref_values, cur_values = tie_broken_ranks(reference.values, current, seed)
        edges = equal_mass_edges(ref_values, reference.bins)
        ref_counts = bin_counts(ref_values, edges, reference.bins)
        cur_counts = bin_counts(cur_values, edges, reference.bins)
    out = []
    for statistic in applicable(reference.feature, statistics):
        if statistic == "ks":
            result = ks_2samp(ref_values, cur_values)
            out.append(Observed("ks", float(result.statistic), float(result.pvalue)))
        elif statistic == "psi":
            out.append(Observed("psi", float(population_stability_index(ref_counts, cur_counts))))
        else:
            out.append(Observed("js", float(jensen_shannon_distance(ref_counts, cur_counts))))
    return out


def null_distribution(
    reference: Reference, size: int, statistics: Sequence[Statistic], *, replicates: int, seed: int
) -> dict[Statistic, np.ndarray]:
    """Each statistic's null for a window of ``size`` values against this reference (see the module docstring)."""
    wanted = tuple(applicable(reference.feature, statistics))
    if reference.categorical:
        return _bootstrap_null(reference, size, wanted, replicates, seed)
    return dict(rank_null(reference.n, size, wanted, reference.bins, replicates, seed))


@lru_cache(maxsize=64)
def rank_null(
    n: int, m: int, statistics: tuple[Statistic, ...], bins: int, replicates: int, seed: int
) -> dict[Statistic, np.ndarray]:
    """The null of numbers' statistics: ``replicates`` uniformly random splits of ranks 0 .. n+m-1 into n and m.

    Each split is a row of cumulative counts over the ranks: KS is their largest gap, the
    edges are the reference's order statistics found in them, bin counts are differences
    at the edges. Equal to :func:`observe` applied to each split (a test checks it).
    """
    rng = np.random.default_rng(seed)
    total = n + m
    positions = edge_ranks(n, bins)
    out: dict[Statistic, list[np.ndarray]] = {s: [] for s in statistics}
    per_chunk = max(1, _CHUNK_VALUES // (2 * total))
    done = 0
    while done < replicates:
        b = min(per_chunk, replicates - done)
        split = rng.permuted(np.tile(np.arange(total), (b, 1)), axis=1)
        ref_cum = np.cumsum(_row_counts(split[:, :n], total), axis=1)
        cur_cum = np.arange(1, total + 1)[None, :] - ref_cum
        if "psi" in statistics or "js" in statistics:
            edges = _order_statistics(ref_cum, np.arange(total), n, positions)
            ref_counts = _counts_at_edges(ref_cum, edges, n)
            cur_counts = _counts_at_edges(cur_cum, edges, m)
        for statistic in statistics:
            if statistic == "ks":
                out["ks"].append(np.abs(ref_cum / n - cur_cum / m).max(axis=1))
            elif statistic == "psi":
                out["psi"].append(population_stability_index(ref_counts, cur_counts))
            else:
                out["js"].append(jensen_shannon_distance(ref_counts, cur_counts))
        done += b
    result = {s: np.concatenate(parts) for s, parts in out.items()}
    for array in result.values():
        array.flags.writeable = False
    return result


def _bootstrap_null(
    reference: Reference, size: int, statistics: tuple[Statistic, ...], replicates: int, seed: int
) -> dict[Statistic, np.ndarray]:
    """Categories: reference and window both drawn with replacement from the reference's bins."""
    rng = np.random.default_rng(seed)
    out: dict[Statistic, list[np.ndarray]] = {s: [] for s in statistics}
    per_chunk = max(1, _CHUNK_VALUES // (reference.n + size + reference.bins))
    done = 0
    while done < replicates:
        b = min(per_chunk, replicates - done)
        ref = reference.values[rng.integers(0, reference.n, size=(b, reference.n))]
        cur = reference.values[rng.integers(0, reference.n, size=(b, size))]
        ref_counts = _row_counts(ref, reference.bins)
        cur_counts = _row_counts(cur, reference.bins)
        for statistic in statistics:
            if statistic == "psi":
                out["psi"].append(population_stability_index(ref_counts, cur_counts))
            elif statistic == "js":
                out["js"].append(jensen_shannon_distance(ref_counts, cur_counts))
        done += b
    return {s: np.concatenate(parts) for s, parts in out.items()}


def _row_counts(ranks: np.ndarray, support: int) -> np.ndarray:
    rows = ranks.shape[0]
    offsets = (np.arange(rows) * support)[:, None]
    return np.bincount((ranks + offsets).ravel(), minlength=rows * support).reshape(rows, support)


def _order_statistics(cumulative: np.ndarray, support: np.ndarray, n: int, positions: np.ndarray) -> np.ndarray:
    """Per row, the reference's order statistics at 0-based ``positions``, from cumulative counts over the support.

    The k-th order statistic is the first support value whose cumulative count exceeds k,
    i.e. the number of support points with count <= k. Rows shifted by row * (n + 1) form
    one sorted array, so one ``searchsorted`` finds them all.
    """
    rows, width = cumulative.shape
    shift = (np.arange(rows, dtype=np.int64) * (n + 1))[:, None]
    flat = (cumulative + shift).ravel()
    base = (np.arange(rows, dtype=np.int64) * width)[:, None]
    index = np.searchsorted(flat, (positions[None, :] + shift).ravel(), side="right").reshape(rows, -1) - base
    return np.asarray(support[index])


def _counts_at_edges(cumulative: np.ndarray, below: np.ndarray, n: int) -> np.ndarray:
    """Bin counts when a value's bin is the number of edges at or below it, from counts below each edge.

    ``below`` holds, per row and edge, how many support points lie below the edge (the
    edge's own rank when the support is 0 .. N-1).
    """
    under = np.where(below > 0, np.take_along_axis(cumulative, np.maximum(below - 1, 0), axis=1), 0)
    at_or_above = np.concatenate([np.full((cumulative.shape[0], 1), n), n - under], axis=1)
    return np.asarray(-np.diff(np.concatenate([at_or_above, np.zeros((cumulative.shape[0], 1))], axis=1), axis=1))


def threshold(null: np.ndarray, level: float) -> float:
    """The replicate of rank r = ceil((B + 1)(1 - level)) among the B sorted null replicates.

    If the window's statistic and the B replicates are exchangeable under no drift, the
    statistic exceeds the r-th smallest replicate with probability at most
    (B - r + 1) / (B + 1) <= level (ties only lower it), so "alarm when above" keeps the
    stated rate however coarse B is. Raises ValueError when B is too small to reach
    ``level`` (fewer than 1 / level - 1 replicates).
    """
    b = int(null.size)
    rank = math.ceil((b + 1) * (1 - level) - 1e-9)
    if rank > b:
        raise ValueError(
            f"{b} bootstrap replicates cannot give a false-alarm rate of {level:g}: use at least {math.ceil(1 / level)}"
        )
    return float(np.sort(null)[rank - 1])


def simulated_p_value(null: np.ndarray, value: float) -> float:
    """(1 + #replicates >= value) / (1 + replicates): the Monte Carlo p-value (Davison & Hinkley 1997, eq. 4.11)."""
    return float((1 + np.count_nonzero(null >= value)) / (1 + null.size))


def size_grid(window_requests: int, min_requests: int, cap: int) -> list[int]:
    """Window sizes whose nulls may be computed: the policy's size, steps of x0.95 down to the minimum, x1.5 up to the cap.

    A window is judged with the null of the largest grid size not above its own count
    (at most the cap): fewer values give a wider null, so a window judged by a smaller
    size's threshold alarms less often than the stated rate, never more. Nulls are
    computed only for the sizes some window uses.
    """
    sizes = set()
    size = float(window_requests)
    while size >= min_requests:
        sizes.add(int(size))
        size *= 0.95
    size = float(window_requests)
    while size < cap:
        size *= 1.5
        sizes.add(min(int(size), cap))
    return sorted(s for s in sizes if s >= min_requests)


def grid_size(n: int, grid: Sequence[int]) -> int | None:
    """The largest grid size not above ``n``; None when ``n`` is below the smallest."""
    fitting = [g for g in grid if g <= n]
    return fitting[-1] if fitting else None


@dataclass
class NullCache:
    """Nulls of one reference, computed once per window size and reused by every window of that size."""

    reference: Reference
    statistics: Sequence[Statistic]
    replicates: int
    seed: int
    nulls: dict[int, dict[Statistic, np.ndarray]] = field(default_factory=dict)
    cuts: dict[tuple[int, Statistic, float], float] = field(default_factory=dict)

    def null(self, size: int) -> dict[Statistic, np.ndarray]:
        if size not in self.nulls:
            self.nulls[size] = null_distribution(
                self.reference, size, self.statistics, replicates=self.replicates, seed=self.seed + size
            )
        return self.nulls[size]

    def threshold(self, size: int, statistic: Statistic, level: float) -> float:
        key = (size, statistic, level)
        if key not in self.cuts:
            self.cuts[key] = threshold(self.null(size)[statistic], level)
        return self.cuts[key]


def per_statistic_level(false_alarm_rate: float, tests_per_window: int) -> float:
    """Bonferroni: each of the window's k statistics alarms at rate/k, so any alarm has probability <= rate."""
    return false_alarm_rate / max(1, tests_per_window)
