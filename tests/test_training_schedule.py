"""The learning-rate schedule: peak exactly at the end of warmup, never below the floor."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.training.schedule import cosine_with_floor, warmup_steps_for


@given(
    total=st.integers(1, 2000),
    warmup_ratio=st.floats(0.0, 0.5),
    peak=st.floats(1e-6, 1e-2),
    floor_share=st.floats(0.0, 1.0),
    cycles=st.integers(1, 4),
)
def test_peak_at_end_of_warmup_and_never_below_the_floor(
    total: int, warmup_ratio: float, peak: float, floor_share: float, cycles: int
) -> None:
    warmup = warmup_steps_for(total, warmup_ratio, None)
    min_lr = peak * floor_share
    lr = cosine_with_floor(total, warmup, peak_lr=peak, min_lr=min_lr, cycles=cycles)
    rates = [peak * lr(step) for step in range(total + 1)]
    assert all(r >= min_lr * (1 - 1e-12) - 1e-18 for r in rates)
    assert all(r <= peak * (1 + 1e-12) for r in rates)
    if warmup < total:
        assert rates[warmup] == pytest.approx(peak, rel=1e-12)
    assert max(rates) == pytest.approx(peak, rel=1e-12) or warmup >= total


def test_warmup_rises_then_cosine_falls_to_the_floor() -> None:
    lr = cosine_with_floor(100, 10, peak_lr=2e-4, min_lr=2e-5)
    rates = [2e-4 * lr(s) for s in range(101)]
    assert rates[0] == pytest.approx(2e-5) and all(a < b for a, b in zip(rates[:10], rates[1:11], strict=True))
    assert all(a >= b for a, b in zip(rates[10:-1], rates[11:], strict=True))
    assert rates[100] == pytest.approx(2e-5)
    assert rates[55] == pytest.approx(2e-5 + (2e-4 - 2e-5) * 0.5 * (1 + math.cos(math.pi * 0.5)))


def test_restarts_return_to_the_peak() -> None:
    lr = cosine_with_floor(100, 0, peak_lr=1.0, min_lr=0.1, cycles=2)
    assert lr(0) == pytest.approx(1.0) and lr(50) == pytest.approx(1.0) and lr(49) < 0.2


def test_warmup_from_steps_or_ratio() -> None:
    assert warmup_steps_for(200, 0.1, None) == 20
    assert warmup_steps_for(200, 0.1, 7) == 7
    with pytest.raises(ValueError):
        cosine_with_floor(10, 1, peak_lr=1e-4, min_lr=1e-3)
