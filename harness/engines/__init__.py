"""Engines by name: the runner looks up the engine a suite declares here.

Adding an engine is adding a module to this folder and a line to ``ENGINES``; the
modules are imported only when a run needs them (they pull in heavy libraries).
"""

from __future__ import annotations

from importlib import import_module

from harness.engines.base import Engine, EngineOutput, EngineSettings
from harness.errors import HarnessError

ENGINES: dict[str, str] = {
    "lm-eval": "harness.engines.lm_eval_engine:LmEvalEngine",
    "inspect": "harness.engines.inspect_engine:InspectEngine",
}


def create_engine(name: str, settings: EngineSettings) -> Engine:
    """A new engine instance for one run."""
    try:
        module_name, _, attribute = ENGINES[name].partition(":")
    except KeyError:
        raise HarnessError(f"unknown engine {name!r}; known engines: {', '.join(sorted(ENGINES))}") from None
    factory = getattr(import_module(module_name), attribute)
    engine: Engine = factory(settings)
    return engine


__all__ = ["ENGINES", "Engine", "EngineOutput", "EngineSettings", "create_engine"]
