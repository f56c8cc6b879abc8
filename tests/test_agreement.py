"""Agreement coefficients against published worked examples and independent formulas."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from harness.data.agreement import (
    _fleiss,
    _icc,
    _krippendorff,
    _mean_kappa,
    _pair_kappas,
    agreement_report,
    cohen_kappa_replicates,
    fleiss_kappa,
    fleiss_kappa_replicates,
    icc_replicates,
    intraclass_correlations,
    krippendorff_alpha,
    krippendorff_alpha_replicates,
    mean_kappa_replicates,
    mean_pairwise_kappa,
    pairwise_cohen_kappa,
    resample_counts,
)
from harness.data.conflicts import resolve_item
from harness.stats import bootstrap_draws, bootstrap_interval
from harness.stats import percentile_interval as replicate_interval
from tests.helpers import invoke


def long_csv(path: Path, table: dict[str, list], column: str = "label") -> Path:
    rows = [
        {"item_id": f"i{j}", "rater_id": rater, column: value}
        for rater, values in table.items()
        for j, value in enumerate(values)
        if value is not None
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_cohen_kappa_of_a_two_by_two_worked_example() -> None:
    # 50 items: both yes 20, A yes B no 5, A no B yes 10, both no 15 -> po = 0.70, pe = 0.50, kappa = 0.40
    a = ["y"] * 20 + ["y"] * 5 + ["n"] * 10 + ["n"] * 15
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    labels = pd.DataFrame({"A": a, "B": b})
    (pair,) = pairwise_cohen_kappa(labels)
    assert pair.kappa == pytest.approx(0.40) and pair.n == 50


def test_fleiss_kappa_equals_fleiss_1971_worked_example() -> None:
    # Fleiss (1971), as reproduced in the Wikipedia article "Fleiss' kappa": 10 subjects,
    # 14 raters, 5 categories; P-bar = 0.378, Pe-bar = 0.213, kappa = 0.210.
    counts = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    rows = [[f"c{k}" for k, c in enumerate(row) for _ in range(c)] for row in counts]
    labels = pd.DataFrame(rows, columns=[f"r{i}" for i in range(14)])
    assert fleiss_kappa(labels) == pytest.approx(0.2099, abs=5e-4)


def test_krippendorff_alpha_equals_krippendorff_2011_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
    # 4 observers, 12 units, nominal data with missing values: alpha = 0.743.
    nan = None
    table = {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        "C": [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    }
    values = pd.DataFrame(table, dtype=float)
    assert krippendorff_alpha(values, "nominal") == pytest.approx(0.743, abs=5e-4)


def test_icc_equals_shrout_and_fleiss_1979_table() -> None:
    # Shrout & Fleiss (1979), Psychological Bulletin 86(2), Table 2 (6 targets x 4 judges):
    # ICC(2,1) = 0.29, ICC(3,1) = 0.71.
    scores = pd.DataFrame(
        [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], dtype=float
    )
    icc2, icc3 = intraclass_correlations(scores)
    assert icc2 == pytest.approx(0.29, abs=0.005)
    assert icc3 == pytest.approx(0.71, abs=0.005)


def test_missing_ratings_use_what_each_coefficient_can() -> None:
    labels = pd.DataFrame(
        {"A": ["x", "y", "x", "y", None], "B": ["x", "y", "y", "y", "x"], "C": ["x", "y", "x", None, "x"]}
    )
    pairs = {(p.rater_a, p.rater_b): p.n for p in pairwise_cohen_kappa(labels)}
    assert pairs == {("A", "B"): 4, ("A", "C"): 3, ("B", "C"): 4}
    assert not np.isnan(mean_pairwise_kappa(labels))
    assert not np.isnan(krippendorff_alpha(labels, "nominal"))


def test_agreement_report_has_every_coefficient_with_an_interval(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=120)
    table = {r: [f"L{t if rng.uniform() < 0.85 else (t + 1) % 3}" for t in truth] for r in ("a", "b", "c")}
    path = long_csv(tmp_path / "ratings.csv", table)
    frame = pd.read_csv(path)
    frame["score"] = frame["label"].str[1].astype(int) + 1
    frame.to_csv(path, index=False)
    report = agreement_report(path, n_boot=200)
    names = {m.name for m in report.metrics}
    assert names == {"kappa", "fleiss_kappa", "krippendorff_alpha", "krippendorff_alpha_ordinal", "icc2_1", "icc3_1"}
    for m in report.metrics:
        assert m.n == 120 and m.ci_low is not None and m.ci_low <= m.ci_high
    assert report.metric("kappa").value == pytest.approx(np.mean([p.kappa for p in report.pairwise]))
    assert 0.3 < report.metric("kappa").value < 0.9


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("item_id,rater_id,label\ni1,a,x\ni2,a,y\n", "at least two raters"),
        ("", "empty"),
        ("item,rater,label\ni1,a,x\n", "missing column 'item_id'"),
        (b"item_id,rater_id,label\ni1,a,\xff\n", "not UTF-8"),
        ("item_id,rater_id,label\ni1,a,x\ni1,a,y\ni1,b,x\n", "rated item 'i1' twice"),
    ],
)
def test_bad_ratings_files_are_one_line_errors(tmp_path: Path, content: str | bytes, message: str) -> None:
    path = tmp_path / "ratings.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, stdout, stderr = invoke("data", "agreement", str(path))
    assert code == 2, stdout
    assert message in stderr and len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr


def test_conflict_protocol() -> None:
    agreed = resolve_item("a", ["evacuate", "evacuate", "evacuate"], [0.9, 0.8, 0.85])
    assert agreed.status == "agreed" and not agreed.disputed and agreed.label == "evacuate"
    doubtful = resolve_item("b", ["evacuate", "evacuate", "evacuate"], [0.9, 0.5, 0.85])
    assert doubtful.status == "agreed" and doubtful.disputed and "confidence differs" in doubtful.reasons[0]
    majority = resolve_item("c", ["evacuate", "shelter", "evacuate"])
    assert (majority.status, majority.label, majority.alternatives) == ("majority", "evacuate", ["shelter"])
    assert majority.disputed and majority.agreement == pytest.approx(2 / 3)
    tie = resolve_item("d", ["evacuate", "shelter"])
    assert tie.status == "needs-third-expert" and tie.label is None and set(tie.alternatives) == {"evacuate", "shelter"}
    three_way = resolve_item("e", ["a", "b", "c"])
    assert three_way.status == "needs-third-expert"


def test_a_single_rating_is_not_agreement() -> None:
    single = resolve_item("f", ["evacuate"])
    assert single.status == "needs-second-rater" and single.label is None


def test_non_numeric_confidence_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "ratings.csv"
    path.write_text("item_id,rater_id,label,confidence\ni1,a,x,high\ni1,b,x,0.5\n")
    code, _, err = invoke("data", "resolve", str(path), "--out", str(tmp_path / "out"))
    assert code == 2 and "'confidence' must hold numbers" in err


def test_resolve_writes_items_back_unchanged_but_for_labels(tmp_path: Path) -> None:
    import json

    items = tmp_path / "items.jsonl"
    items.write_text('{"id": "i1", "decision": "x", "meta": {"n": 1}}\n{"id": "i2", "decision": "y"}\n')
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("item_id,rater_id,label\ni1,a,x\ni1,b,x\ni1,c,z\ni2,a,y\ni2,b,y\n")
    code, _, err = invoke("data", "resolve", str(ratings), "--out", str(tmp_path / "out"), "--items", str(items))
    assert code == 0, err
    rows = [json.loads(line) for line in (tmp_path / "out" / "resolved.jsonl").read_text().splitlines()]
    assert rows[0]["meta"] == {"n": 1} and "meta" not in rows[1]  # no pandas coercion, no added keys
    assert rows[0]["metadata"]["disputed"] and rows[0]["metadata"]["answer_alternative"] == ["z"]


# --- The vectorised bootstrap replicates equal the libraries, resample by resample ---------
#
# The references are the module's per-sample functions, which call scikit-learn,
# statsmodels and the krippendorff package (and the ANOVA formulas for the ICCs): the
# report's values before its bootstrap was vectorised.


def random_ratings(seed: int, n_items: int, n_raters: int, n_values: int, missing: float) -> np.ndarray:
    """Items x raters codes 0..n_values-1 that mostly agree, with NaN gaps."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_values, size=n_items)
    noise = rng.integers(0, n_values, size=(n_items, n_raters))
    codes = np.where(rng.uniform(size=noise.shape) < 0.7, truth[:, np.newaxis], noise).astype(float)
    codes[rng.uniform(size=codes.shape) < missing] = np.nan
    return codes


def uneven_scores(codes: np.ndarray) -> np.ndarray:
    """Codes mapped to unevenly spaced scores (so ranks, values and codes all differ), NaN kept."""
    scores = np.array([1.0, 2.0, 2.5, 4.0, 7.0])[np.nan_to_num(codes).astype(int)]
    scores[np.isnan(codes)] = np.nan
    return scores


# (seed, items, raters, values, missing): a realistic table, and small gappy ones whose
# resamples are often degenerate (one category, fewer than two complete items).
SHAPES = [(1, 60, 4, 4, 0.15), (2, 7, 3, 2, 0.3), (3, 5, 2, 3, 0.4), (4, 12, 5, 5, 0.5)]


def resamples(n: int, n_boot: int = 40, seed: int = 7) -> np.ndarray:
    draws = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    return np.vstack([np.arange(n), draws])  # the sample itself first, then resamples


def reference(fn: Callable[[np.ndarray], Any], matrix: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """``fn`` of every resample; the libraries' warnings for undefined values (NaN) silenced."""
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        return np.array([fn(matrix[idx]) for idx in draws], dtype=float)


def assert_same(vectorised: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(vectorised, expected, rtol=0, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("shape", SHAPES)
def test_cohen_kappa_replicates_equal_scikit_learn(shape: tuple) -> None:
    codes = random_ratings(*shape)
    draws = resamples(len(codes))
    pairs = reference(lambda m: [np.nan if k is None else k for _, _, k, _ in _pair_kappas(m)], codes, draws)
    assert_same(cohen_kappa_replicates(codes, resample_counts(draws, len(codes))), pairs)
    assert_same(mean_kappa_replicates(codes, resample_counts(draws, len(codes))), reference(_mean_kappa, codes, draws))


@pytest.mark.parametrize("shape", SHAPES)
def test_fleiss_kappa_replicates_equal_statsmodels(shape: tuple) -> None:
    codes = random_ratings(*shape)
    draws = resamples(len(codes))
    assert_same(fleiss_kappa_replicates(codes, resample_counts(draws, len(codes))), reference(_fleiss, codes, draws))


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
@pytest.mark.parametrize("shape", SHAPES)
def test_krippendorff_alpha_replicates_equal_the_krippendorff_package(shape: tuple, level: str) -> None:
    codes = random_ratings(*shape)
    matrix = codes if level == "nominal" else uneven_scores(codes)
    draws = resamples(len(matrix))
    expected = reference(lambda m: _krippendorff(m, level), matrix, draws)
    assert_same(krippendorff_alpha_replicates(matrix, resample_counts(draws, len(matrix)), level), expected)


@pytest.mark.parametrize("shape", SHAPES)
def test_icc_replicates_equal_the_shrout_fleiss_formulas(shape: tuple) -> None:
    codes = random_ratings(*shape)
    scores = uneven_scores(codes) + np.random.default_rng(shape[0]).normal(0, 0.5, size=codes.shape)
    draws = resamples(len(scores))
    icc2, icc3 = icc_replicates(scores, resample_counts(draws, len(scores)))
    # A resample whose complete items are all one item has no between-target or residual
    # variance: ICC(3,1) is 0/0 there, and both computations return their rounding noise.
    complete = ~np.isnan(scores).any(axis=1)
    defined = np.array([len(set(idx[complete[idx]])) != 1 for idx in draws])
    assert_same(icc2[defined], reference(lambda m: _icc(m)[0], scores, draws[defined]))
    assert_same(icc3[defined], reference(lambda m: _icc(m)[1], scores, draws[defined]))


def test_the_vectorised_bootstrap_uses_bootstrap_interval_draws_and_percentiles() -> None:
    seen: list[np.ndarray] = []
    values = np.random.default_rng(3).normal(size=30)

    def statistic(idx: np.ndarray) -> float:
        seen.append(idx.copy())
        return math.nan if idx[0] < 3 else float(values[idx].mean())  # some NaN replicates, dropped by both

    expected = bootstrap_interval(statistic, 30, n_boot=300, seed=5)
    draws = bootstrap_draws(30, n_boot=300, seed=5)
    assert np.array_equal(draws, np.array(seen))
    assert replicate_interval([math.nan if d[0] < 3 else values[d].mean() for d in draws]) == expected
    assert np.isnan(replicate_interval([math.nan] * 3)).all()


@pytest.mark.parametrize("n_items", [150, 9])
def test_report_intervals_equal_a_per_resample_library_bootstrap(tmp_path: Path, n_items: int) -> None:
    codes = random_ratings(11, n_items, 3, 3, 0.1)
    rows = [
        {"item_id": f"i{i:03d}", "rater_id": rater, "label": f"L{int(c)}", "score": int(c) + 1 + (i * j) % 3}
        for j, rater in enumerate("abc")
        for i, c in enumerate(codes[:, j])
        if not np.isnan(c)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "ratings.csv", index=False)
    report = agreement_report(tmp_path / "ratings.csv", n_boot=60, seed=3)
    scores = np.full(codes.shape, np.nan)
    for row in rows:
        scores[int(row["item_id"][1:]), "abc".index(row["rater_id"])] = row["score"]
    statistics = {
        "kappa": (codes, _mean_kappa),
        "fleiss_kappa": (codes, _fleiss),
        "krippendorff_alpha": (codes, lambda m: _krippendorff(m, "nominal")),
        "krippendorff_alpha_ordinal": (scores, lambda m: _krippendorff(m, "ordinal")),
        "icc2_1": (scores, lambda m: _icc(m)[0]),
        "icc3_1": (scores, lambda m: _icc(m)[1]),
    }
    for name, (matrix, fn) in statistics.items():
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")
            low, high = bootstrap_interval(lambda i, m=matrix, f=fn: f(m[i]), len(matrix), n_boot=60, seed=3)
        metric = report.metric(name)
        assert metric.ci_low == pytest.approx(low, abs=1e-9), name
        assert metric.ci_high == pytest.approx(high, abs=1e-9), name
