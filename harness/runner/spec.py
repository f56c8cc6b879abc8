"""What ``harness run`` was asked: the model reference and the run settings, kept with the run."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, InputError
from harness.models.endpoint import EndpointRef
from harness.models.modelref import ModelRef

SPEC_FILE = "run-spec.json"
_MODEL_FIELDS = {f.name for f in fields(ModelRef)}

# What --resume compares, in order: the spec field and the `harness run` option that sets it. The
# batch size is not compared: it changes how fast items are asked, not what is measured.
RESUME_OPTIONS: dict[str, str] = {
    "model.base": "BASE",
    "model.adapter": "--adapter",
    "model.revision": "--revision",
    "model.dtype": "--dtype",
    "model.device": "--device",
    "model.allow_pickle": "--allow-pickle",
    "model.trust_remote_code": "--trust-remote-code",
    "suites": "--suites",
    "limit": "--limit",
    "suite_limits": "--suite-limit",
    "num_fewshot": "--num-fewshot",
    "gen_kwargs": "--max-gen-toks",
    "data_dir": "--data-dir",
    "judge": "--judge",
    "allow_code_execution": "--allow-code-execution",
    "model.url": "--endpoint",
    "model.served_model": "--served-model",
    "model.tokenizer": "--tokenizer",
    "model.skip_tokenizer_check": "--skip-tokenizer-check",
    "model.generation_api": "--generation-api",
}
_PATH_FIELDS = {"model.base", "model.adapter", "model.tokenizer", "data_dir"}


@dataclass
class RunSpec:
    """Everything a run was asked, so an interrupted run can resume and a finished one be found again."""

    model: ModelRef | EndpointRef  # a model harness loads, or one served behind an OpenAI-compatible API
    suites: list[str]
    data_dir: str | None = None
    limit: int | None = None
    suite_limits: dict[str, int | None] = field(default_factory=dict)  # a suite's own limit (None: every item)
    num_fewshot: int | None = None
    batch_size: int = 8
    gen_kwargs: dict[str, Any] = field(default_factory=dict)
    skip_unavailable: bool = False
    judge: str | None = None  # a model grading generated answers, for suites that ask for one
    allow_code_execution: bool = False  # suites that run the model's code (sandboxed) may run

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def limit_for(self, suite: str) -> int | None:
        """The item limit of one suite: its own (``--suite-limit``) where given, else ``--limit``."""
        return self.suite_limits.get(suite, self.limit)

    def check_limits(self) -> None:
        """Refuse a limit below one item, or a suite limit for a suite the run does not ask for."""
        if self.limit is not None and self.limit < 1:
            raise InputError(f"--limit must be a positive number of items, got {self.limit}")
        for suite, limit in self.suite_limits.items():
            if suite not in self.suites:
                raise InputError(f"--suite-limit {suite}: not one of the run's suites ({', '.join(self.suites)})")
            if limit is not None and limit < 1:
                raise InputError(f"--suite-limit {suite}={limit}: give a positive number of items or 'all'")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunSpec:
        """A spec from its stored form; specs written before the model was nested keep the model's fields flat."""
        raw = dict(raw)
        model = raw.pop("model", None)
        if model is None:
            model = {k: raw.pop(k) for k in list(raw) if k in _MODEL_FIELDS}
        if isinstance(model, dict) and "url" in model:
            return cls(model=EndpointRef(**model), **raw)
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
    except HarnessError as exc:
        raise InputError(f"{path}: {exc}") from None
    return stored


def check_resume(stored: RunSpec, given: RunSpec, options: Collection[str] | None = None) -> None:
    """Refuse to resume a run with settings other than those it started with, naming each difference.

    ``options``: the `harness run` options (labels of :data:`RESUME_OPTIONS`, e.g. ``--suites``,
    ``BASE``) the user gave explicitly; only those are compared [default: all]. Raises
    :class:`InputError`: ``--resume: the run was started with --suites mmlu,gsm8k, not gsm8k``.
    """
    differences = resume_differences(stored, given, options)
    if differences:
        raise InputError(
            "--resume: the run was started "
            + "; ".join(differences)
            + " (leave these options out to continue it, or start a new run)"
        )


def resumed_spec(run_dir: Path, given: RunSpec, options: Collection[str] | None = None) -> RunSpec:
    """The spec to continue ``run_dir`` with: the one it started with, after :func:`check_resume` of
    ``given`` (the options the user typed) against it; only the batch size (and for an endpoint,
    the client's concurrency, retries and timeout) may change."""
    stored = RunSpec.load(run_dir)
    check_resume(stored, given, options)
    model = stored.model
    if isinstance(model, EndpointRef) and isinstance(given.model, EndpointRef):
        model = model.with_client_settings(given.model)
    return replace(stored, batch_size=given.batch_size, model=model)


def resume_differences(stored: RunSpec, given: RunSpec, options: Collection[str] | None = None) -> list[str]:
    """Each compared setting in which ``given`` differs from ``stored``, as "with --limit 2, not 1"."""
    out = []
    for name, label in RESUME_OPTIONS.items():
        if options is not None and label not in options:
            continue
        old, new = _field(stored, name), _field(given, name)
        if _same(name, old, new):
            continue
        old_shown, new_shown = _shown(name, old), _shown(name, new)
        plain = not isinstance(old_shown, bool) and old_shown is not None and new_shown is not None
        other = str(new_shown) if plain and not isinstance(new_shown, bool) else _phrase(label, new_shown)
        out.append(f"{_phrase(label, old_shown)}, not {other}")
    return out


def _field(spec: RunSpec, name: str) -> object:
    if name.startswith("model."):  # a field the other kind of model lacks reads as None
        return getattr(spec.model, name.removeprefix("model."), None)
    return getattr(spec, name)


def _same(name: str, old: object, new: object) -> bool:
    if old == new:
        return True
    if name == "suites" and isinstance(old, list) and isinstance(new, list):
        return set(old) == set(new)  # the order of --suites does not change what is measured
    if name in ("gen_kwargs", "suite_limits"):
        return (old or {}) == (new or {})
    if name in _PATH_FIELDS and isinstance(old, str) and isinstance(new, str):
        a, b = Path(old).expanduser(), Path(new).expanduser()
        return a.exists() and b.exists() and a.resolve() == b.resolve()
    return False


def _shown(name: str, value: object) -> object:
    """A setting as the user typed it: suites comma-separated, decoding as --max-gen-toks."""
    if name == "suites" and isinstance(value, list):
        return ",".join(str(v) for v in value)
    if name == "suite_limits" and isinstance(value, dict):
        return format_suite_limits(value) or None
    if name == "gen_kwargs" and isinstance(value, dict):
        if not value:
            return None
        if set(value) == {"max_gen_toks"}:
            return value["max_gen_toks"]
        return json.dumps(value, sort_keys=True)
    return value


def _phrase(label: str, value: object) -> str:
    if value is None or value is False:
        return f"without {label}"
    if value is True:
        return f"with {label}"
    if label == "BASE":
        return f"with model {value}"
    return f"with {label} {value}"


def format_suite_limits(limits: dict[str, int | None]) -> str:
    """Suite limits as typed: ``structured=all,mmlu=2``."""
    return ",".join(f"{suite}={'all' if n is None else n}" for suite, n in sorted(limits.items()))
