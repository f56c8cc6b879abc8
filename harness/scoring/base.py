"""What a scorer is, and the registry engines look scorers up in by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError


@dataclass(frozen=True)
class ItemScore:
    """One answer's score: ``correct`` for the item's headline, ``value`` per aspect, and why."""

    correct: bool
    explanation: str
    answer: str | None = None  # what the scorer read as the answer (the extracted part)
    values: Mapping[str, float | bool | None] = field(default_factory=dict)


Scorer = Callable[[str, Mapping[str, Any]], ItemScore]
"""``scorer(generated_text, item)``: ``item`` is the item's data (reference, metadata)."""

_SCORERS: dict[str, Scorer] = {}


def register_scorer(name: str) -> Callable[[Scorer], Scorer]:
    def add(function: Scorer) -> Scorer:
        _SCORERS[name] = function
        return function

    return add


def get_scorer(name: str) -> Scorer:
    _discover()
    try:
        return _SCORERS[name]
    except KeyError:
        raise HarnessError(f"unknown scorer {name!r}; known scorers: {', '.join(sorted(_SCORERS))}") from None


_discovered = False


def _discover() -> None:
    """Import every scorer module of this package once, so each registers its scorers."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    import pkgutil
    from importlib import import_module

    import harness.scoring

    for module in pkgutil.iter_modules(harness.scoring.__path__):
        if module.name != "base":
            import_module(f"harness.scoring.{module.name}")
