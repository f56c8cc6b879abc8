"""Evaluation suites: what to ask a model, and how item records become metrics.

A suite never touches a model. It prepares engine tasks (task YAMLs for lm-eval) from
local data, and turns the engine's item records into metrics with pure functions.
Derived suites (calibration) ask nothing: they read the records of the suites they
require, which are added to a run automatically.
"""

from __future__ import annotations

from harness.suites.base import Outcomes, Suite, SuiteOptions, SuiteScores, TaskSpec

from harness.errors import InputError


def registry() -> dict[str, Suite]:
    from harness.suites.calibration import Calibration
    from harness.suites.domain import Domain
    from harness.suites.fairness import Fairness
    from harness.suites.gsm8k import GSM8K
    from harness.suites.mmlu import MMLU
    from harness.suites.robustness import Robustness

    return {suite.name: suite for suite in (MMLU(), GSM8K(), Calibration(), Robustness(), Fairness(), Domain())}


def get_suites(names: list[str]) -> list[Suite]:
    """Suites by name, in the order given, each preceded by the suites it requires.

    An unknown name is a one-line error.
    """
    known = registry()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(f"unknown suite {unknown[0]!r}; known suites: {', '.join(sorted(known))}")
    ordered: list[Suite] = []

    def add(name: str) -> None:
        if any(s.name == name for s in ordered):
            return
        for required in known[name].requires:
            add(required)
        ordered.append(known[name])

    for name in names:
        add(name)
    return ordered


__all__ = ["Outcomes", "Suite", "SuiteOptions", "SuiteScores", "TaskSpec", "get_suites", "registry"]
