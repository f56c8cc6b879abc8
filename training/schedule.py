"""Learning-rate schedule: linear warmup, then cosine decay to a floor, with optional restarts.

The methodology asks for a cosine schedule with warmup and a minimum learning
rate. transformers' ``get_cosine_with_min_lr_schedule_with_warmup`` has no restarts and
``get_cosine_with_hard_restarts_schedule_with_warmup`` has no floor, so this is the one
function with both; it returns the multiplier of the peak rate for torch's ``LambdaLR``.
"""

from __future__ import annotations

import math
from collections.abc import Callable


def warmup_steps_for(total_steps: int, warmup_ratio: float | None, warmup_steps: int | None) -> int:
    """Warmup length from an explicit step count, else from a ratio of the total steps."""
    if warmup_steps is not None:
        return max(0, warmup_steps)
    return max(0, math.ceil((warmup_ratio or 0.0) * total_steps))


def cosine_with_floor(
    total_steps: int, warmup_steps: int, *, peak_lr: float, min_lr: float = 0.0, cycles: int = 1
) -> Callable[[int], float]:
    """``step -> multiplier of peak_lr`` for ``torch.optim.lr_scheduler.LambdaLR``.

    * steps ``0 .. warmup_steps``: linear from ``min_lr`` up to exactly ``peak_lr`` at
      ``step == warmup_steps`` (Goyal et al. 2017, gradual warmup);
    * after warmup: ``min_lr + (peak_lr - min_lr) * (1 + cos(pi * t)) / 2`` with ``t`` the
      progress through the current cycle (Loshchilov & Hutter 2017, SGDR; ``cycles > 1``
      restarts at the peak), never below ``min_lr``.
    """
    if total_steps < 1:
        raise ValueError("total_steps must be at least 1")
    if not 0 <= min_lr <= peak_lr or peak_lr <= 0:
        raise ValueError("need 0 <= min_lr <= peak_lr and peak_lr > 0")
    if cycles < 1:
        raise ValueError("cycles must be at least 1")
    floor = min_lr / peak_lr
    decay_steps = max(1, total_steps - warmup_steps)

    def multiplier(step: int) -> float:
        if step < warmup_steps:
            return floor + (1.0 - floor) * step / warmup_steps
        progress = min(1.0, (step - warmup_steps) / decay_steps)
        within = (progress * cycles) % 1.0 if progress < 1.0 else 1.0
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * within))

    return multiplier
