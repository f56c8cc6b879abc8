"""Gate policies: YAML rules, each bound to a metric and to the article it serves.

An invalid policy is reported with its file, line and field, e.g.
``policies/x.yaml:12: rules[2].severity: Input should be 'block' or 'warn'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.errors import PolicyError
from harness.files.shipped import is_policy_file
from harness.files.shipped import shipped_policy_names as shipped_policy_names  # re-exported
from harness.files.yaml_files import read_yaml, shipped_or_path, validate_yaml


class Rule(BaseModel):
    """One requirement: a metric, a bound, a severity and the article it serves."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: str | None = None
    metric: str = Field(min_length=1)
    min: float | None = Field(default=None, description="pass when value >= min")
    max: float | None = Field(default=None, description="pass when value <= max")
    max_drop: float | None = Field(default=None, ge=0, description="largest allowed fall against the baseline run")
    above_chance: bool | None = Field(
        default=None,
        description="pass only when the metric's 95% interval lies above its chance level (the lower bound exceeds it)",
    )
    relative: bool = Field(default=False, description="max_drop as a fraction of the baseline value")
    test: Literal["difference", "non-inferiority"] = Field(
        default="difference",
        description="max_drop only. difference: fail when the drop exceeds the tolerance and is significant; "
        "non-inferiority: pass only when the 95% interval of the change rules out a drop beyond the tolerance",
    )
    warn_until: float | None = Field(
        default=None,
        description="a band beyond min/max that only warns, e.g. max 0.10 with warn_until 0.15: "
        "above 0.10 warns, above 0.15 fails",
    )
    severity: Literal["block", "warn"] = "block"
    article: str = Field(min_length=1, description='e.g. "EU AI Act Art. 15(1)"')
    why: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_bound(self) -> Rule:
        if self.above_chance is False:
            raise ValueError("above_chance: false asks nothing; write above_chance: true or leave it out")
        bounds = [b for b in ("min", "max", "max_drop", "above_chance") if getattr(self, b) is not None]
        if len(bounds) != 1:
            raise ValueError(
                f"give exactly one of min, max, max_drop, above_chance (got {', '.join(bounds) or 'none'})"
            )
        if self.relative and self.max_drop is None:
            raise ValueError("relative applies to max_drop only")
        if self.test != "difference" and self.max_drop is None:
            raise ValueError("test applies to max_drop only")
        if self.warn_until is not None:
            if self.max is not None and self.warn_until <= self.max:
                raise ValueError("warn_until must lie above max")
            if self.min is not None and self.warn_until >= self.min:
                raise ValueError("warn_until must lie below min")
            if self.max_drop is not None or self.above_chance:
                raise ValueError("warn_until applies to min and max rules")
        return self

    @property
    def rule_id(self) -> str:
        return self.id or f"{self.metric}:{self.kind}"

    @property
    def kind(self) -> str:
        if self.above_chance:
            return "above_chance"
        return "min" if self.min is not None else "max" if self.max is not None else "max_drop"

    def tolerance(self, baseline_value: float) -> float:
        """The largest allowed fall in the metric's own units: max_drop, times the baseline value when relative."""
        assert self.max_drop is not None
        return self.max_drop * abs(baseline_value) if self.relative else self.max_drop

    def describe_bound(self) -> str:
        band = f" (warn to {self.warn_until:g})" if self.warn_until is not None else ""
        if self.above_chance:
            return "95% CI above chance"
        if self.min is not None:
            return f">= {self.min:g}{band}"
        if self.max is not None:
            return f"<= {self.max:g}{band}"
        assert self.max_drop is not None
        bound = f"drop <= {self.max_drop:.0%} of baseline" if self.relative else f"drop <= {self.max_drop:g}"
        return f"{bound}, non-inferiority" if self.test == "non-inferiority" else bound


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1)
    version: str | int = 1
    description: str | None = None
    alpha: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="significance level of the max_drop rules' difference tests (each a single pre-declared test)",
    )
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Policy:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.rule_id in seen:
                raise ValueError(f"two rules share the id {rule.rule_id!r}; give them distinct ids")
            seen.add(rule.rule_id)
        return self


def load_policy(path: str | Path) -> tuple[Policy, Path]:
    """Parse and validate a policy file; every problem names file, line and field."""
    policy_path = resolve_policy_path(path)
    root, data = read_yaml(policy_path, PolicyError)
    if not isinstance(data, dict):
        raise PolicyError(f"{policy_path}:1: a policy is a mapping with name, rules, ...")
    policy = validate_yaml(
        Policy, data, path=policy_path, root=root, error=PolicyError, what="policy", format_loc=_format_loc
    )
    return policy, policy_path


def resolve_policy_path(path: str | Path) -> Path:
    """A path as given, or the name of a policy shipped with harness (:func:`shipped_policy_names`)."""
    return shipped_or_path(path, "", PolicyError, "policy", accepts=is_policy_file)


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
