"""What ``harness run`` was asked: the model reference and the run settings, kept with the run."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from harness.errors import InputError
from harness.models.modelref import ModelRef

SPEC_FILE = "run-spec.json"
_MODEL_FIELDS = {f.name for f in fields(ModelRef)}


@dataclass
class RunSpec:
    """Everything a run was asked, so an interrupted run can resume and a finished one be found again."""

    model: ModelRef
    suites: list[str]
    data_dir: str | None = None
    limit: int | None = None
    num_fewshot: int | None = None
    batch_size: int = 8
    gen_kwargs: dict[str, Any] = field(default_factory=dict)
    skip_unavailable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunSpec:
        """A spec from its stored form; specs written before the model was nested keep the model's fields flat."""
        raw = dict(raw)
        model = raw.pop("model", None)
        if model is None:
            model = {k: raw.pop(k) for k in list(raw) if k in _MODEL_FIELDS}
        return cls(model=ModelRef(**model), **raw)

    def run_settings(self) -> dict[str, Any]:
        """The settings that decide what a run measures, without the model (for finding an equal run)."""
        out = self.to_dict()
        out.pop("model")
        out.pop("skip_unavailable")
        return out

    @classmethod
    def load(cls, run_dir: Path) -> RunSpec:
        return cls.from_dict(read_spec_file(run_dir)["spec"])


def read_spec_file(run_dir: Path) -> dict[str, Any]:
    path = run_dir / SPEC_FILE
    if not path.is_file():
        raise InputError(f"{run_dir}: not a run directory (no {SPEC_FILE})")
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(stored, dict) or not isinstance(stored.get("spec"), dict):
            raise KeyError("spec")
        RunSpec.from_dict(stored["spec"])  # the fields must make a spec
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: unreadable run spec ({exc})") from None
    return stored
