"""Evaluation suites: what to ask a model, and how item records become metrics.

A suite never touches a model. It prepares engine tasks (task YAMLs for lm-eval) from
local data, and turns the engine's item records into metrics with pure functions.
"""

from __future__ import annotations

from harness.suites.base import Suite, SuiteOptions, TaskSpec

from harness.errors import InputError


def registry() -> dict[str, Suite]:
    from harness.suites.gsm8k import GSM8K
    from harness.suites.mmlu import MMLU

    return {suite.name: suite for suite in (MMLU(), GSM8K())}


def get_suites(names: list[str]) -> list[Suite]:
    """Suites by name, in the order given; an unknown name is a one-line error."""
    known = registry()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(f"unknown suite {unknown[0]!r}; known suites: {', '.join(sorted(known))}")
    return [known[n] for n in names]


__all__ = ["Suite", "SuiteOptions", "TaskSpec", "get_suites", "registry"]
