"""Seeded sample production logs of an emergency-response advisor, with injected drift and incidents.

The requests are the project's own synthetic situations (``suites/data/emergency/
instructions.jsonl``: 200 items, 8 decision categories); no hub data. Each request gets
an answer whose decision is the expert's with the version's accuracy and another
category otherwise (the answer text is then the expert answer of an item with that
decision), a confidence (higher when right), a latency (log-normal, median 800 ms), a
small error rate, reviewer feedback (a verdict or the gold decision) and sometimes a
user rating and a complaint.

Injected events, each from a request onward:

- drift: the accuracy falls by ``accuracy_drop`` (10 points) and/or the confidence rises
  by ``confidence_shift`` (0.10 on average, each value moved toward 1);
- incident: ``incident_requests`` requests with a 30% error rate, three times the
  latency and more complaints.

With ``ab`` two versions share the traffic 50/50, the candidate ``ab_difference`` more
accurate; with ``canary`` the candidate gets 5% of the traffic for ``canary_hours`` and
50% after. In both the incumbent serves alone for the first ``lead_hours`` (the logs
begin before the split). Drift and incidents then hit the candidate only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np

from harness.errors import InputError
from harness.files.atomic import atomic_write_text
from harness.monitoring.windows import parse_duration

INCUMBENT = "er-advisor-1.4.0"
CANDIDATE = "er-advisor-1.5.0"
START = datetime(2026, 3, 2, 6, 0, tzinfo=timezone.utc)
DriftKind = Literal["both", "accuracy", "confidence"]


@dataclass(frozen=True)
class SampleSpec:
    """What to generate; every default is what the demo and the tests use."""

    requests: int = 3000
    seed: int = 0
    start: datetime = START
    rate_per_hour: float = 200.0
    accuracy: float = 0.95
    feedback_rate: float = 1.0
    rating_rate: float = 0.5
    error_rate: float = 0.003
    drift_at: int | None = None
    drift_kind: DriftKind = "both"
    accuracy_drop: float = 0.10
    confidence_shift: float = 0.10
    incident_at: int | None = None
    incident_requests: int = 150
    incident_error_rate: float = 0.30
    ab: bool = False
    ab_difference: float = 0.05
    canary: bool = False
    canary_hours: float = 24.0
    lead_hours: float = 2.0
    models: tuple[str, str] = (INCUMBENT, CANDIDATE)

    def __post_init__(self) -> None:
        if self.requests < 1:
            raise InputError(f"requests must be a positive number, got {self.requests}")
        for name in ("accuracy", "feedback_rate", "rating_rate", "error_rate", "incident_error_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise InputError(f"{name} must lie in [0, 1], got {value}")
        if self.ab and self.canary:
            raise InputError("choose one of an A/B split and a canary rollout, not both")
        for name in ("drift_at", "incident_at"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < self.requests:
                raise InputError(f"{name} must be a request number in 0..{self.requests - 1}, got {value}")
        if self.accuracy - self.accuracy_drop < 0 or self.accuracy + max(0.0, self.ab_difference) > 1:
            raise InputError("the accuracy minus the drift's drop, and plus the A/B difference, must stay in [0, 1]")


@dataclass
class SampleTruth:
    """What was injected, so a test or a reader can check what monitoring found."""

    path: Path
    requests: int
    models: list[str]
    drift_at: int | None
    drift_time: str | None
    incident_at: int | None
    incident_time: str | None
    accuracy: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "requests": self.requests,
            "models": self.models,
            "drift_at": self.drift_at,
            "drift_time": self.drift_time,
            "incident_at": self.incident_at,
            "incident_time": self.incident_time,
            "accuracy": self.accuracy,
        }


def sample_items() -> list[dict[str, Any]]:
    """The project's emergency-response situations (instruction format), read from the suites' data."""
    from harness.suites.domain import sample_dir

    path = sample_dir() / "instructions.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def onset(text: str, spec: SampleSpec) -> int:
    """A request number from ``--drift-at``/``--incident-at``: ``1200``, an offset like ``6h``, or an ISO time."""
    value = str(text).strip()
    if value.isdigit():
        return int(value)
    try:
        seconds = parse_duration(value, "an onset")
    except InputError:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(
                f"an onset is a request number (1200), an offset after the first request (6h) or an ISO time, got {text!r}"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        seconds = (moment - spec.start).total_seconds()
    return max(0, int(seconds * spec.rate_per_hour / 3600))


def _times(rng: np.random.Generator, spec: SampleSpec) -> np.ndarray:
    gaps = rng.exponential(3600.0 / spec.rate_per_hour, spec.requests)
    return np.asarray(np.cumsum(gaps) - gaps[0])


def _is_candidate(rng: np.random.Generator, spec: SampleSpec, seconds: np.ndarray) -> np.ndarray:
    """Which requests the candidate answers: none in the first ``lead_hours`` (the incumbent alone), then the split."""
    draw = rng.random(spec.requests)
    started = seconds >= spec.lead_hours * 3600
    if spec.ab:
        return started & (draw < 0.5)
    if spec.canary:
        share = np.where(seconds < (spec.lead_hours + spec.canary_hours) * 3600, 0.05, 0.5)
        return started & (draw < share)
    return np.zeros(spec.requests, dtype=bool)


def generate(spec: SampleSpec) -> Iterator[dict[str, Any]]:
    """The log records, in time order (see the module docstring)."""
    rng = np.random.default_rng(spec.seed)
    items = sample_items()
    decisions = sorted({item["decision"] for item in items})
    by_decision = {d: [i for i, item in enumerate(items) if item["decision"] == d] for d in decisions}
    n = spec.requests
    seconds = _times(rng, spec)
    candidate = _is_candidate(rng, spec, seconds)
    affected = candidate if (spec.ab or spec.canary) else np.ones(n, dtype=bool)
    index = np.arange(n)
    drifted = np.zeros(n, dtype=bool) if spec.drift_at is None else (index >= spec.drift_at) & affected
    incident = np.zeros(n, dtype=bool)
    if spec.incident_at is not None:
        incident = (index >= spec.incident_at) & (index < spec.incident_at + spec.incident_requests) & affected
    accuracy = np.full(n, spec.accuracy)
    if spec.ab:
        accuracy[candidate] += spec.ab_difference
    if spec.drift_kind in ("both", "accuracy"):
        accuracy[drifted] -= spec.accuracy_drop
    accuracy = np.clip(accuracy, 0.0, 1.0)
    item = rng.integers(0, len(items), n)
    correct = rng.random(n) < accuracy
    wrong_offset = rng.integers(1, len(decisions), n)
    confidence = np.where(correct, rng.beta(12.0, 1.8, n), rng.beta(4.0, 2.5, n))
    if spec.drift_kind in ("both", "confidence"):
        mean = spec.accuracy * 12.0 / 13.8 + (1 - spec.accuracy) * 4.0 / 6.5
        pull = min(1.0, spec.confidence_shift / max(1e-9, 1 - mean))
        confidence = np.where(drifted, confidence + pull * (1 - confidence), confidence)
    latency = rng.lognormal(np.log(800.0), 0.35, n) * np.where(incident, 3.0, 1.0)
    failed = rng.random(n) < np.where(incident, spec.incident_error_rate, spec.error_rate)
    gets_feedback = rng.random(n) < spec.feedback_rate
    as_verdict = rng.random(n) < 0.6
    gets_rating = rng.random(n) < spec.rating_rate
    good_rating = rng.choice([3, 4, 5], size=n, p=[0.1, 0.35, 0.55])
    poor_rating = rng.choice([1, 2, 3, 4], size=n, p=[0.15, 0.35, 0.35, 0.15])
    complaint_draw = rng.random(n)
    pick = rng.random(n)
    for i in range(n):
        situation = items[int(item[i])]
        gold = situation["decision"]
        record: dict[str, Any] = {
            "time": _iso(spec.start + timedelta(seconds=float(seconds[i]))),
            "model": spec.models[1] if candidate[i] else spec.models[0],
            "input": situation["input"],
        }
        if failed[i]:
            record |= {"output": "", "latency_ms": round(float(latency[i]), 1), "error": "upstream timeout"}
            if complaint_draw[i] < 0.1:
                record["feedback"] = {"complaint": True}
            yield record
            continue
        if correct[i]:
            decision, answer = gold, situation["output"]
        else:
            decision = decisions[(decisions.index(gold) + int(wrong_offset[i])) % len(decisions)]
            pool = by_decision[decision]
            answer = items[pool[int(pick[i] * len(pool))]]["output"]
        feedback: dict[str, Any] = {}
        if gets_feedback[i]:
            feedback = {"correct": bool(correct[i])} if as_verdict[i] else {"label": gold}
        if gets_rating[i]:
            feedback["rating"] = int(good_rating[i] if correct[i] else poor_rating[i])
        if complaint_draw[i] < (0.002 if correct[i] else 0.03) * (3.0 if incident[i] else 1.0):
            feedback["complaint"] = True
        record |= {
            "output": answer,
            "category": decision,
            "confidence": round(float(confidence[i]), 4),
            "latency_ms": round(float(latency[i]), 1),
            "error": False,
        }
        if feedback:
            record["feedback"] = feedback
        yield record


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def write_sample_logs(out: Path, spec: SampleSpec) -> SampleTruth:
    """Write the sample logs as JSONL to ``out`` (a file, or a folder that gets ``requests.jsonl``)."""
    path = out / "requests.jsonl" if out.is_dir() or out.suffix == "" else out
    lines = [json.dumps(record, ensure_ascii=False) for record in generate(spec)]
    atomic_write_text(path, "\n".join(lines) + "\n")
    models = [spec.models[0]] + ([spec.models[1]] if spec.ab or spec.canary else [])
    times = {
        name: json.loads(lines[at])["time"] if at is not None else None
        for name, at in (("drift", spec.drift_at), ("incident", spec.incident_at))
    }
    accuracy = {spec.models[0]: spec.accuracy}
    if spec.ab or spec.canary:
        accuracy[spec.models[1]] = spec.accuracy + (spec.ab_difference if spec.ab else 0.0)
    return SampleTruth(
        path=path,
        requests=spec.requests,
        models=models,
        drift_at=spec.drift_at,
        drift_time=times["drift"],
        incident_at=spec.incident_at,
        incident_time=times["incident"],
        accuracy=accuracy,
    )
