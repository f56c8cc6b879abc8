"""Agreement with an oracle's labels (the distillation case): the project's incident-triage rubric.

An oracle (a strong model) scored each incident report on four dimensions, 0-10; the rubric
(``suites/data/oracle/rubric.md``) turns them into an overall score, a tier and the filter's
decision. The model answers the same dimensions and tier in JSON; its overall score and
decision follow from its dimensions by the same rubric.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.scoring.base import ItemScore, register_scorer
from harness.scoring.structured import lenient_json_object, strict_json_object

DIMENSIONS = ("life_safety", "spread_risk", "resource_need", "public_impact")
WEIGHTS = (0.4, 0.3, 0.15, 0.15)
TIERS = ("low", "medium", "high", "critical")


def weighted_overall(scores: Mapping[str, float]) -> float:
    """The rubric's weighted overall score, 0-10, before rounding."""
    return sum(w * float(scores[d]) for d, w in zip(DIMENSIONS, WEIGHTS, strict=True))


def overall_score(scores: Mapping[str, float]) -> float:
    """The rubric's weighted overall score, 0-10, rounded to one decimal."""
    return round(weighted_overall(scores), 1)


def tier_of(scores: Mapping[str, float]) -> str:
    """The rubric's tier: critical >= 7.5, high >= 5, medium >= 2.5, else low; life_safety >= 8 is at least high."""
    overall = overall_score(scores)
    tier = "critical" if overall >= 7.5 else "high" if overall >= 5.0 else "medium" if overall >= 2.5 else "low"
    if float(scores["life_safety"]) >= 8 and TIERS.index(tier) < TIERS.index("high"):
        tier = "high"
    return tier


def parse_answer(text: str) -> dict[str, float] | None:
    """The model's four dimension scores (numbers 0-10), or None when the answer does not give them all."""
    found = strict_json_object(text) or lenient_json_object(text)
    if found is None:
        return None
    try:
        scores = {d: float(found[d]) for d in DIMENSIONS}
    except (KeyError, TypeError, ValueError):
        return None
    return scores if all(0 <= v <= 10 for v in scores.values()) else None


@register_scorer("oracle")
def score_oracle(text: str, item: Mapping[str, Any]) -> ItemScore:
    """Correct when the model's filter decision (tier high or critical) agrees with the oracle's."""
    oracle = item["oracle"]
    scores = parse_answer(text)
    if scores is None:
        return ItemScore(False, "no usable JSON with the four dimension scores", None, {"parsed": False})
    tier = tier_of(scores)
    actionable = tier in ("high", "critical")
    values: dict[str, float | bool | None] = {
        "parsed": True,
        "tier": float(TIERS.index(tier)),
        "oracle_tier": float(TIERS.index(oracle["tier"])),
        "tier_agrees": tier == oracle["tier"],
        # both sides from their dimension scores, unrounded: a copy of the oracle's scores is an error of 0
        "overall_error": abs(weighted_overall(scores) - weighted_overall(oracle)),
        "dimension_error": sum(abs(scores[d] - float(oracle[d])) for d in DIMENSIONS) / len(DIMENSIONS),
    }
    agrees = actionable == bool(oracle["actionable"])
    return ItemScore(
        agrees, f"tier {tier} (oracle {oracle['tier']}); decision {'agrees' if agrees else 'differs'}", tier, values
    )
