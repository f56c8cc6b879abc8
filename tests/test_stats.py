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


def _mcnemar_big_integer_sum(b: int, c: int) -> float:
    """The implementation before scipy: p = min(1, 2 * sum_{i <= min(b, c)} C(n, i) / 2^n)."""
    n = b + c
    if n == 0:
        return 1.0
    return float(min(1.0, 2 * sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n))


@pytest.mark.parametrize("b,c", [(b, c) for b in range(0, 26, 5) for c in range(0, 26, 3)] + [(150, 90), (7, 300)])
def test_mcnemar_through_scipy_gives_the_p_of_the_big_integer_sum(b: int, c: int) -> None:
    from harness.stats import mcnemar_exact_p_value

    assert mcnemar_exact_p_value(b, c) == pytest.approx(_mcnemar_big_integer_sum(b, c), rel=1e-9, abs=1e-300)


def test_mcnemar_on_tens_of_thousands_of_discordant_items_takes_milliseconds() -> None:
    import time

    from harness.stats import mcnemar_exact_p_value

    mcnemar_exact_p_value(1, 2)  # import scipy first
    started = time.process_time()
    p = mcnemar_exact_p_value(11_200, 11_800)  # 23,000 discordant pairs: minutes with big integers
    assert time.process_time() - started < 0.5
    assert p == pytest.approx(binomtest(11_200, 23_000, 0.5).pvalue, rel=1e-9) and p < 0.001


def test_mcnemar_refuses_negative_counts() -> None:
    from harness.stats import mcnemar_exact_p_value

    with pytest.raises(ValueError, match="non-negative"):
        mcnemar_exact_p_value(-1, 3)


def test_newcombes_interval_reproduces_the_papers_worked_example() -> None:
    """Newcombe (1998), Statistics in Medicine 17(8), table II, example (a): 56/70 - 48/80, method 10."""
    from harness.stats import newcombe_difference_interval

    first = (48 / 80, *wilson_interval(48, 80))
    second = (56 / 70, *wilson_interval(56, 70))
    low, high = newcombe_difference_interval(first, second)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_paired_proportions_interval_adds_half_an_item_to_each_cell() -> None:
    """Agresti & Min (2005) on Agresti's presidential-approval table: 150 turned against, 86 towards, of 1600."""
    from harness.stats import paired_proportions_interval

    p12, p21 = 150.5 / 1602, 86.5 / 1602
    half = 1.959963984540054 * math.sqrt((p12 + p21 - (p21 - p12) ** 2) / 1602)
    low, high = paired_proportions_interval(150, 86, 1600)
    assert low == pytest.approx(p21 - p12 - half, abs=1e-15) and high == pytest.approx(p21 - p12 + half, abs=1e-15)
    assert (round(low, 4), round(high, 4)) == (-0.0587, -0.0212)


def test_paired_proportions_interval_stays_wide_when_no_item_changed() -> None:
    from harness.stats import paired_difference_interval, paired_proportions_interval

    same = [True] * 15 + [False] * 42
    assert paired_difference_interval(same, same) == (0.0, 0.0)  # the bootstrap cannot draw an unseen change
    low, high = paired_proportions_interval(0, 0, 57)
    assert low < -0.03 and high > 0.03 and low == pytest.approx(-high)
    assert math.isnan(paired_proportions_interval(0, 0, 0)[0])
    with pytest.raises(ValueError, match="do not fit"):
        paired_proportions_interval(40, 30, 57)
