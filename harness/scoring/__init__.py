"""Scorers: pure functions from a generated answer (and the item's reference) to a score.

A scorer never runs a model: it reads text. Suites name one per task; an engine applies it
to every generated answer and keeps the score and its explanation in the item record
(inspect-ai shows them in its log). Each scorer is documented and unit-tested on answers
with known scores.
"""

from __future__ import annotations

from harness.scoring.base import ItemScore, Scorer, get_scorer, register_scorer

__all__ = ["ItemScore", "Scorer", "get_scorer", "register_scorer"]
