import math

import pytest
from scipy.stats import binomtest

from harness.schema.results import proportion_metric
from harness.stats import wilson_interval


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (57, 228), (1, 4), (812, 1000)])
def test_wilson_interval_matches_scipy(k: int, n: int) -> None:
    expected = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(expected.low, abs=1e-9)
    assert high == pytest.approx(expected.high, abs=1e-9)


def test_wilson_interval_of_empty_sample_is_undefined() -> None:
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_wilson_interval_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


def test_proportion_metric_carries_n_and_interval() -> None:
    metric = proportion_metric("mmlu.accuracy", 57, 228)
    assert metric.value == pytest.approx(0.25)
    assert metric.n == 228
    assert metric.ci_low < 0.25 < metric.ci_high
    assert metric.ci_method == "wilson"


@pytest.mark.parametrize("b,c", [(0, 0), (0, 5), (3, 9), (12, 12), (40, 25), (1, 30)])
def test_mcnemar_exact_matches_a_two_sided_binomial_test(b: int, c: int) -> None:
    from harness.stats import mcnemar_exact_p_value

    expected = 1.0 if b + c == 0 else binomtest(b, b + c, 0.5).pvalue
    assert mcnemar_exact_p_value(b, c) == pytest.approx(expected, rel=1e-12)
