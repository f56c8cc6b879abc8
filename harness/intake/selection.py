"""``harness select``: choose a base model from measured candidates, and say only what the evidence supports.

A candidate is a model directory or a stored run; either names a model by its fingerprint,
and every finished run of that fingerprint in the run store (plus the run given) is its
benchmark evidence. Each candidate gets an intake (:func:`harness.intake.scorecard.run_intake`)
when its model files are at hand.

The decision matrix has the selection policy's criteria as rows and the candidates as
columns; a cell holds the measured value (with its 95% interval for benchmarks) and the
outcome the intake policy gives it. Points: pass 1, warn 0.5, anything else 0; a candidate's
score is the weighted share of points. A candidate that fails a required criterion, was not
measured on it, or needs a person's decision on it is not eligible.

Benchmarks are also compared pair by pair on the items both candidates answered
(:func:`harness.comparison.compare_runs`: McNemar's exact test for accuracies, a paired
bootstrap for MC2), with Holm's adjustment over every test of the record. "A is better than
B" is written only when that adjusted test is significant; otherwise the record says no
significant difference was found, with the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from harness import __version__
from harness.errors import InputError, PolicyError
from harness.intake.policy import IntakePolicy, Minimum, SelectionPolicy, load_intake_policy, load_selection_policy
from harness.intake.record import (
    CandidateSummary,
    Cell,
    CriterionRow,
    IntakeRecord,
    IntakeRow,
    ModelIdentity,
    Outcome,
    PairwiseFinding,
    PolicyIdentity,
    SelectionRecord,
    Status,
)
from harness.intake.scorecard import judge_minimum, model_name, run_intake
from harness.schema.results import ITEMS_FILE, RESULTS_FILE, ItemRecord, RunResult, load_results, read_items
from harness.stats import holm_adjusted

if TYPE_CHECKING:
    from harness.schema.comparison import RunComparison
    from harness.store.runs import RunStore

POINTS: dict[str, float] = {"pass": 1.0, "warn": 0.5}
OUTCOME_WORDS = {"warn": " (warns)", "fail": " (fails)", "review": " (a person must decide)", "not-measured": ""}
PASSING = ("pass", "warn")
TIE = 1e-9


@dataclass
class Evidence:
    """A stored run of a candidate: its results, its item records (if kept) and its folder."""

    result: RunResult
    items: list[ItemRecord] | None
    run_dir: Path


@dataclass
class Candidate:
    label: str
    model: ModelIdentity
    intake: IntakeRecord | None
    runs: list[Evidence] = field(default_factory=list)
    intake_problem: str | None = None

    def run_for(self, metric: str) -> Evidence | None:
        """The newest run that measured ``metric``."""
        found = [e for e in self.runs if (m := e.result.metric(metric)) is not None and m.value is not None]
        return max(found, key=lambda e: e.result.created_at) if found else None


# --------------------------------------------------------------------------- candidates
def load_evidence(run_dir: Path) -> Evidence:
    result = load_results(run_dir)
    items_path = run_dir / ITEMS_FILE
    return Evidence(result, read_items(items_path) if items_path.is_file() else None, run_dir)


def resolve_candidate(ref: str, store: RunStore | None, minimums: str | Path) -> Candidate:
    """A model directory (config.json) or a stored run (folder, results.json or run id) as a candidate."""
    from harness.models.modelref import ModelRef

    path = Path(ref)
    runs: list[Evidence] = []
    if path.is_dir() and (path / "config.json").is_file():
        base, adapter = str(path), None
        fingerprint = ModelRef(base).fingerprint()
    else:
        run_dir = _run_dir(ref, store)
        given = load_evidence(run_dir)
        runs.append(given)
        base, adapter, fingerprint = given.result.model.base, given.result.model.adapter, given.result.model.fingerprint
    if store is not None:
        known = {e.result.run_id for e in runs}
        for row in store.runs():
            ours = row.fingerprint == fingerprint and row.status == "finished" and row.run_id not in known
            if ours and (Path(row.path) / RESULTS_FILE).is_file():
                runs.append(load_evidence(Path(row.path)))
    intake, problem = None, None
    if Path(base).is_dir():
        try:
            if ModelRef(base, adapter=adapter).fingerprint() == fingerprint:
                intake = run_intake(base, adapter=adapter, policy=minimums, runs=[e.result for e in runs])
            else:
                problem = f"{base} has changed since it was measured (its fingerprint differs)"
        except InputError as exc:
            problem = str(exc)
    else:
        problem = f"the model files ({base}) are not at hand: intake rows not measured"
    identity = ModelIdentity(name=model_name(base), base=base, adapter=adapter, fingerprint=fingerprint)
    return Candidate(label=identity.name, model=identity, intake=intake, runs=runs, intake_problem=problem)


def _run_dir(ref: str, store: RunStore | None) -> Path:
    path = Path(ref)
    if path.is_file() and path.name == RESULTS_FILE:
        return path.parent
    if path.is_dir() and (path / RESULTS_FILE).is_file():
        return path
    if path.exists():
        raise InputError(f"{ref}: neither a model directory (config.json) nor a run (results.json)")
    row = store.find_run(ref) if store is not None else None
    if row is None:
        raise InputError(f"{ref}: no such model directory, run directory or run id")
    return Path(row.path)


def unique_labels(candidates: list[Candidate]) -> None:
    """Give candidates with the same name distinct labels (name and fingerprint prefix)."""
    names = [c.label for c in candidates]
    for candidate in candidates:
        if names.count(candidate.label) > 1:
            candidate.label = f"{candidate.label}@{(candidate.model.fingerprint or '')[7:15]}"
    labels = [c.label for c in candidates]
    if len(set(labels)) != len(labels):
        raise InputError("two candidates are the same model (same fingerprint): give each model once")


# --------------------------------------------------------------------------- matrix
def check_criteria(policy: SelectionPolicy, minimums: IntakePolicy, path: str) -> dict[str, Minimum]:
    """Every criterion must name a row or a benchmark minimum of the intake policy; returns the minimums by metric."""
    rows = {c.row_id: c for c in minimums.checks}
    by_metric = {b.metric: b for b in minimums.benchmarks}
    for criterion in policy.criteria:
        if criterion.row is not None:
            check = rows.get(criterion.row)
            if check is None:
                raise PolicyError(
                    f"{path}: criterion {criterion.id}: row {criterion.row!r} is not a check of {minimums.name} "
                    f"(its rows: {', '.join(rows)})"
                )
            info_only = check.check in ("parameters", "memory") and check.max is None
            if info_only and criterion.weight > 0:
                raise PolicyError(
                    f"{path}: criterion {criterion.id}: {criterion.row} has no threshold in {minimums.name}, "
                    "so it earns no points: give it weight 0 or give the check a max"
                )
        elif criterion.metric not in by_metric:
            raise PolicyError(
                f"{path}: criterion {criterion.id}: {minimums.name} has no benchmark minimum for {criterion.metric}"
            )
    return by_metric


def cell_of(row: IntakeRow | None, missing: str) -> Cell:
    if row is None:
        return Cell(value=missing, outcome="not-measured", points=0.0)
    return Cell(
        value=row.value,
        measured=row.measured,
        ci_low=row.ci_low,
        ci_high=row.ci_high,
        n=row.n,
        outcome=row.outcome,
        points=POINTS.get(row.outcome, 0.0),
    )


def decision_matrix(
    policy: SelectionPolicy, minimums: IntakePolicy, by_metric: dict[str, Minimum], candidates: list[Candidate]
) -> list[CriterionRow]:
    checks = {c.row_id: c for c in minimums.checks}
    matrix = []
    for criterion in policy.criteria:
        cells: dict[str, Cell] = {}
        if criterion.row is not None:
            check = checks[criterion.row]
            label = criterion.label or check.label or criterion.row
            threshold = ""
            for candidate in candidates:
                row = candidate.intake.row(criterion.row) if candidate.intake else None
                threshold = threshold or (row.threshold if row else "")
                cells[candidate.label] = cell_of(row, "not measured: " + (candidate.intake_problem or "no intake"))
        else:
            assert criterion.metric is not None
            minimum = by_metric[criterion.metric]
            label = criterion.label or minimum.label
            threshold = f"> {minimum.above:.0%}"
            for candidate in candidates:
                cells[candidate.label] = cell_of(judge_minimum(minimum, [e.result for e in candidate.runs]), "")
        matrix.append(
            CriterionRow(
                id=criterion.id,
                label=label,
                weight=criterion.weight,
                required=criterion.required,
                source=criterion.source,
                threshold=threshold,
                cells=cells,
            )
        )
    return matrix


def score_of(matrix: list[CriterionRow], label: str) -> float:
    """Weighted share of points: sum of weight x points over the sum of weights (criteria weighing more than 0)."""
    weighted = [(r.weight, r.cells[label].points) for r in matrix if r.weight > 0]
    total = sum(w for w, _ in weighted)
    return sum(w * p for w, p in weighted) / total if total else 0.0


def blocking_of(matrix: list[CriterionRow], label: str) -> list[str]:
    """The required criteria a candidate does not meet, each with its value and outcome."""
    out = []
    for row in matrix:
        cell = row.cells[label]
        if row.required and cell.outcome not in PASSING:
            reason = {"review": "a person must decide", "not-measured": "not measured"}.get(cell.outcome, cell.outcome)
            out.append(f"{row.label}: {cell.value} ({reason})")
    return out


# --------------------------------------------------------------------------- paired comparisons
def pairwise_findings(
    candidates: list[Candidate], metrics: list[tuple[str, str]], alpha: float
) -> list[PairwiseFinding]:
    """Each pair of candidates on each benchmark metric both measured, paired by item; Holm over all tests."""
    from harness.comparison import compare_runs

    cache: dict[tuple[str, str], RunComparison] = {}
    findings: list[PairwiseFinding] = []
    for i, first in enumerate(candidates):
        for second in candidates[i + 1 :]:
            for metric, _label in metrics:
                a, b = first.run_for(metric), second.run_for(metric)
                if a is None or b is None:
                    continue
                if a.items is None or b.items is None:
                    lacking = a if a.items is None else b
                    findings.append(
                        _unpaired(metric, first, second, a, b, f"run {lacking.result.run_id} kept no item records")
                    )
                    continue
                key = (a.result.run_id, b.result.run_id)
                if key not in cache:
                    cache[key] = compare_runs(a.result, a.items, b.result, b.items, alpha=alpha)
                row = next((c for c in cache[key].comparisons if c.metric == metric and c.paired), None)
                if row is None or row.n == 0:
                    findings.append(_unpaired(metric, first, second, a, b, "no items in common"))
                    continue
                findings.append(
                    PairwiseFinding(
                        metric=metric,
                        first=first.label,
                        second=second.label,
                        n=row.n,
                        first_value=row.reference,
                        second_value=row.candidate,
                        difference=row.change,
                        ci_low=row.ci_low,
                        ci_high=row.ci_high,
                        test=row.test,
                        p_value=row.p_value,
                        statement="",
                    )
                )
    tested = [i for i, f in enumerate(findings) if f.p_value is not None]
    adjusted = holm_adjusted([findings[i].p_value or 0.0 for i in tested])
    for i, p_adjusted in zip(tested, adjusted, strict=True):
        findings[i] = findings[i].model_copy(update={"p_adjusted": p_adjusted, "significant": p_adjusted < alpha})
    labels = dict(metrics)
    return [f.model_copy(update={"statement": statement(f, labels.get(f.metric, f.metric), alpha)}) for f in findings]


def _unpaired(metric: str, first: Candidate, second: Candidate, a: Evidence, b: Evidence, why: str) -> PairwiseFinding:
    va, vb = a.result.metric(metric), b.result.metric(metric)
    return PairwiseFinding(
        metric=metric,
        first=first.label,
        second=second.label,
        n=0,
        first_value=va.value if va else None,
        second_value=vb.value if vb else None,
        difference=None,
        statement=f"not compared: {why}",
    )


def statement(finding: PairwiseFinding, label: str, alpha: float) -> str:
    """What the record may say about one paired comparison: a winner only when significant."""
    if finding.p_value is None or finding.first_value is None or finding.second_value is None:
        return finding.statement
    numbers = (
        f"{finding.first_value:.1%} vs {finding.second_value:.1%} on {finding.n} shared items "
        f"({finding.test} p={finding.p_value:.3g}, Holm-adjusted {finding.p_adjusted:.3g}, alpha {alpha:g})"
    )
    if finding.significant and finding.difference is not None and finding.difference != 0:
        better, worse = (finding.second, finding.first) if finding.difference > 0 else (finding.first, finding.second)
        return f"{better} is better than {worse} on {label}: {numbers}"
    return f"no significant difference between {finding.first} and {finding.second} on {label}: {numbers}"


def significant_between(findings: list[PairwiseFinding], winner: str, loser: str) -> list[PairwiseFinding]:
    """Findings where ``winner`` is significantly better than ``loser``."""
    out = []
    for f in findings:
        if not f.significant or f.difference is None or {f.first, f.second} != {winner, loser}:
            continue
        better = f.second if f.difference > 0 else f.first
        if better == winner:
            out.append(f)
    return out


# --------------------------------------------------------------------------- the decision
def select(
    refs: list[str],
    *,
    policy: str | Path = "selection",
    store: RunStore | None = None,
) -> tuple[SelectionRecord, list[Candidate]]:
    """Resolve the candidates, build the matrix and the paired comparisons, and decide."""
    if len(refs) < 1:
        raise InputError("select needs at least one candidate (a model directory or a stored run)")
    selection, selection_id = load_selection_policy(policy)
    minimums, minimums_id = load_intake_policy(selection.minimums)
    by_metric = check_criteria(selection, minimums, selection_id.path)
    candidates = [resolve_candidate(ref, store, selection.minimums) for ref in refs]
    unique_labels(candidates)
    matrix = decision_matrix(selection, minimums, by_metric, candidates)
    metrics = [(c.metric, by_metric[c.metric].label) for c in selection.criteria if c.metric is not None]
    findings = pairwise_findings(candidates, metrics, selection.alpha)
    record = decide(selection, selection_id, minimums_id, candidates, matrix, findings)
    return record, candidates


def decide(
    selection: SelectionPolicy,
    selection_id: PolicyIdentity,
    minimums_id: PolicyIdentity,
    candidates: list[Candidate],
    matrix: list[CriterionRow],
    findings: list[PairwiseFinding],
) -> SelectionRecord:
    scores = {c.label: score_of(matrix, c.label) for c in candidates}
    blocking = {c.label: blocking_of(matrix, c.label) for c in candidates}
    eligible = sorted((c.label for c in candidates if not blocking[c.label]), key=lambda lab: (-scores[lab], lab))
    rationale: list[str] = []
    chosen: str | None = None
    status: Status
    if not eligible:
        status = "none-eligible"
        decision = "No candidate is chosen: none meets every required criterion of the policy."
        for c in candidates:
            rationale.append(f"{c.label} is not eligible: " + "; ".join(blocking[c.label]))
        rationale += [f.statement for f in findings]
    elif len(eligible) == 1:
        status, chosen = "decided", eligible[0]
        decision = f"{chosen} is chosen: it is the only candidate meeting every required criterion."
        rationale.append(f"{chosen} scores {scores[chosen]:.0%} of the weighted points.")
        rationale += [
            f"{c.label} is not eligible: " + "; ".join(blocking[c.label]) for c in candidates if c.label != chosen
        ]
        rationale += [f.statement for f in findings if chosen in (f.first, f.second)]
    else:
        top, runner = eligible[0], eligible[1]
        wins = significant_between(findings, top, runner)
        losses = significant_between(findings, runner, top)
        if scores[top] - scores[runner] > TIE:
            status, chosen = "decided", top
            decision = (
                f"{top} is chosen: of the eligible candidates it scores the most weighted points "
                f"({scores[top]:.0%} against {runner}'s {scores[runner]:.0%})."
            )
            rationale += _criteria_differences(matrix, top, runner, findings)
        elif wins and not losses:
            status, chosen = "decided", top
            decision = (
                f"{top} is chosen: {top} and {runner} score the same weighted points ({scores[top]:.0%}), "
                f"and {top} is significantly better on the items both answered."
            )
        else:
            status = "undecided"
            decision = (
                f"No candidate is chosen: {top} and {runner} score the same weighted points ({scores[top]:.0%}) "
                "and no significant difference separates them on the benchmarks they share; a person must choose."
            )
        rationale += [f.statement for f in findings if {f.first, f.second} == {top, runner}]
        rationale += [
            f"{c.label} is not eligible: " + "; ".join(blocking[c.label]) for c in candidates if blocking[c.label]
        ]
    summaries = [_summary(c, matrix, scores[c.label], blocking[c.label], findings) for c in candidates]
    return SelectionRecord(
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        harness_version=__version__,
        policy=selection_id,
        minimums=minimums_id,
        alpha=selection.alpha,
        status=status,
        chosen=chosen,
        title=selection.title,
        context=selection.context,
        decision=decision,
        rationale=rationale,
        candidates=summaries,
        matrix=matrix,
        comparisons=findings,
        consequences=consequences(matrix, chosen, candidates),
        validation_metrics=validation_metrics(matrix, chosen, selection),
    )


def _criteria_differences(
    matrix: list[CriterionRow], top: str, runner: str, findings: list[PairwiseFinding]
) -> list[str]:
    """Criteria on which the chosen candidate earns more points than the runner-up, said within the evidence."""
    out = []
    for row in matrix:
        a, b = row.cells[top], row.cells[runner]
        if row.weight <= 0 or a.points <= b.points:
            continue
        text = f"{row.label}: {top} {a.value} ({a.outcome}), {runner} {b.value} ({b.outcome})"
        if row.source.startswith("benchmark."):
            metric = row.source.removeprefix("benchmark.")
            paired = [f for f in findings if f.metric == metric and {f.first, f.second} == {top, runner}]
            if paired and not paired[0].significant:
                text += (
                    "; the paired difference itself is not significant, only the outcomes against the minimum differ"
                )
        out.append(text)
    return out


def _summary(
    candidate: Candidate, matrix: list[CriterionRow], score: float, blocking: list[str], findings: list[PairwiseFinding]
) -> CandidateSummary:
    pros, cons = [], []
    for row in matrix:
        if row.weight <= 0:
            continue
        cell = row.cells[candidate.label]
        text = f"{row.label}: {cell.value}"
        if cell.outcome == "pass":
            pros.append(text)
        elif cell.outcome in OUTCOME_WORDS:
            cons.append(text + OUTCOME_WORDS[cell.outcome])
    for f in findings:
        if f.significant and candidate.label in (f.first, f.second) and f.difference:
            better = f.second if f.difference > 0 else f.first
            (pros if better == candidate.label else cons).append(f.statement)
    return CandidateSummary(
        label=candidate.label,
        model=candidate.model,
        intake_verdict=candidate.intake.verdict if candidate.intake else None,
        intake_file=f"intake-{safe_name(candidate.label)}.json" if candidate.intake else None,
        runs=[e.result.run_id for e in candidate.runs],
        score=round(score, 6),
        eligible=not blocking,
        blocking=blocking,
        pros=pros,
        cons=cons,
    )


def consequences(matrix: list[CriterionRow], chosen: str | None, candidates: list[Candidate]) -> dict[str, list[str]]:
    """What adopting the chosen model brings: its passes, its warnings and failures, what is still unmeasured."""
    if chosen is None:
        return {
            "positive": [],
            "negative": ["No base model is adopted: fine-tuning waits until a candidate is chosen."],
            "neutral": ["What each candidate lacks is listed under the alternatives considered."],
        }
    positive, negative, neutral = [], [], []
    for row in matrix:
        cell = row.cells[chosen]
        text = f"{row.label}: {cell.value}"
        if cell.outcome == "pass" and row.weight > 0:
            positive.append(text)
        elif cell.outcome in ("warn", "fail"):
            negative.append(f"{text} ({cell.outcome}; threshold {row.threshold})")
        elif cell.outcome == "review":
            negative.append(f"{text}: a person must decide before fine-tuning starts")
        elif cell.outcome == "not-measured":
            neutral.append(f"{row.label}: not measured yet")
        elif cell.outcome == "info":
            neutral.append(text)
    return {"positive": positive, "negative": negative, "neutral": neutral}


def validation_metrics(
    matrix: list[CriterionRow], chosen: str | None, selection: SelectionPolicy
) -> list[dict[str, object]]:
    """The benchmarks to re-measure after fine-tuning, with the chosen model's values as the baseline."""
    if chosen is None:
        return []
    out: list[dict[str, object]] = []
    for row in matrix:
        if not row.source.startswith("benchmark."):
            continue
        cell = row.cells[chosen]
        value = (
            cell.measured if isinstance(cell.measured, (int, float)) and not isinstance(cell.measured, bool) else None
        )
        limit = None if value is None else value * (1 - selection.forgetting_limit)
        out.append(
            {
                "metric": row.source.removeprefix("benchmark."),
                "label": row.label,
                "baseline": value,
                "ci_low": cell.ci_low,
                "ci_high": cell.ci_high,
                "n": cell.n,
                "minimum": row.threshold,
                "max_relative_drop": selection.forgetting_limit,
                "track": (
                    f"keep {row.threshold} and above {limit:.1%} (at most {selection.forgetting_limit:.0%} below "
                    f"the base model's {value:.1%}, the methodology's forgetting limit)"
                    if value is not None and limit is not None
                    else f"measure it ({row.threshold}) before and after fine-tuning"
                ),
            }
        )
    return out


def safe_name(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)


def outcome_mark(outcome: Outcome) -> str:
    return {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "review": "REVIEW", "not-measured": "NOT MEASURED"}.get(
        outcome, "INFO"
    )
