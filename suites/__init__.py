"""Evaluation suites: what to ask a model, and how item records become metrics.

A suite never touches a model. It describes engine-neutral tasks from local data, and
turns the engine's item records into metrics with pure functions. Every module of this
package is imported when the registry is first read, so a suite is added by writing
one module with a ``@register_suite`` class (see the README, "Add a suite").
"""

from __future__ import annotations

import pkgutil
from importlib import import_module

from harness.errors import InputError
from harness.suites.base import (
    DerivedSuite,
    MeasuredSuite,
    Outcomes,
    PreparedSuite,
    Suite,
    SuiteOptions,
    SuiteScores,
    register_suite,
    registered,
)

_discovered = False


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            import_module(f"{__name__}.{module.name}")
    _discovered = True


def registry() -> dict[str, Suite]:
    """Every known suite by name (built-in and registered), as fresh instances."""
    _discover()
    return {name: factory() for name, factory in sorted(registered().items())}


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


__all__ = [
    "DerivedSuite",
    "MeasuredSuite",
    "Outcomes",
    "PreparedSuite",
    "Suite",
    "SuiteOptions",
    "SuiteScores",
    "get_suites",
    "register_suite",
    "registry",
]
