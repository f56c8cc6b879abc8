"""The dossier: EU AI Act technical documentation built from stored evidence alone.

Reads a run (results, items, verdict, comparison with its baseline), the provenance of
the datasets named, the provider's input, the risk criteria and catalogue, the model's
files (architecture and parameter count, from headers only) and the audit log; writes
``dossier.html``, an archival ``dossier.pdf`` (PDF/A-3b with everything needed to
rebuild the verdict and the risk register attached), ``dossier.json`` (the
machine-readable summary ``dossier diff`` reads) and ``README.md`` (the Hugging Face
model-card form). Nothing is re-evaluated.

Every point of Annex IV (system dossier) or of Annexes XI and XII (model dossier) has
its row: filled from evidence where harness has it, else a numbered placeholder that the
cover lists. A rendering cannot carry its own hash, so it never shows itself as signed:
sign-offs bind to one rendering's SHA-256 in the audit log (``harness signoff``), and a
rendering lists the earlier renderings that were signed.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from markupsafe import Markup

from harness import __version__
from harness.errors import InputError
from harness.files.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from harness.files.hashing import sha256_file, sha256_text
from harness.reports.context import ReportContext, model_name
from harness.reports.monitoring_section import MonitoringSection, load_monitoring_section
from harness.reports.present import (
    format_change,
    format_interval,
    format_metric_value,
    markdown_code,
    markdown_text,
    plain_text,
)
from harness.reports.provider import PLACEHOLDER_FIELDS, ProviderInput, load_provider_input
from harness.reports.render import (
    jinja_environment,
    load_verdict,
    record_rendering,
    report_context,
    stylesheet,
    templates_dir,
    verdict_comparison,
)
from harness.reports.risk import (
    RiskCatalogue,
    RiskCriteria,
    RiskRow,
    build_register,
    item_sources,
    load_catalogue,
    load_criteria,
    release_blockers,
)
from harness.schema.comparison import RunComparison, comparison_file_name
from harness.schema.results import (
    BREAKDOWN_SCOPES,
    ITEMS_FILE,
    RESULTS_FILE,
    DatasetUse,
    ItemRecord,
    Metric,
    RunResult,
    load_results,
    resolve_results_path,
)
from harness.schema.verdict import VERDICT_FILE, RuleOutcome, Verdict
from harness.store.audit import ChainCheck
from harness.store.runs import RunStore

DOSSIER_JSON = "dossier.json"
FAILURE_EXAMPLES = 5
TRAINING_RECORD = "training-record.json"
BASELINE_RESULTS = "baseline-results.json"

# The human fields each kind of dossier asks for, in the order the cover lists them.
SYSTEM_FIELDS = tuple(PLACEHOLDER_FIELDS)  # a system dossier asks for every field
MODEL_FIELDS = (
    "system_name",
    "system_version",
    "provider",
    "contact",
    "intended_purpose",
    "intended_users",
    "out_of_scope_use",
    "acceptable_use_policy",
    "foreseeable_misuse",
    "release_date",
    "forms_of_release",
    "interaction_with_other_systems",
    "instructions_for_use",
    "design_choices",
    "data_selection_rationale",
    "limitations_narrative",
    "metric_rationale",
    "adversarial_testing",
    "copyright_policy",
    "training_content_summary",
    "license",
)
# The measured evidence each Annex point cites beside the provider's words.
ANNEX_EVIDENCE = {"oversight": "calibration.ece", "cybersecurity": "robustness.drop.max"}


@dataclass
class DossierPaths:
    html: Path
    pdf: Path | None
    json: Path
    readme: Path
    placeholders: list[str]
    requested_urls: list[str]
    release: str = ""


@dataclass(frozen=True)
class Placeholder:
    number: int
    id: str
    field: str
    label: str


@dataclass(frozen=True)
class DatasetEvidence:
    """A dataset version's provenance as read once from the store, and where it was written."""

    ref: str
    provenance: dict[str, Any]
    path: Path
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class FailureExample:
    item_id: str
    question: str
    chosen: str
    gold: str
    confidence: float | None


@dataclass(frozen=True)
class ManifestEntry:
    name: str
    path: str
    sha256: str
    bytes: int


@dataclass(frozen=True)
class BenchmarkData:
    suite: str
    files: int
    rows: int
    digest: str


@dataclass(frozen=True)
class SignOff:
    """A recorded sign-off, and whether it is for the rendering a reader holds."""

    created_at: str
    by: str
    role: str
    decision: str
    note: str | None
    sha256: str | None
    file: str | None
    known_rendering: bool  # the hash is one of this run's recorded renderings


@dataclass(frozen=True)
class Release:
    """Whether the documented system may be released, and why not."""

    status: str  # "not releasable" | "incomplete" | "ready for sign-off"
    reasons: list[str]  # what decides the status: the blockers, or (incomplete) what is open
    open: list[str] = field(default_factory=list)  # judgements still open, whatever the status

    @property
    def releasable(self) -> bool:
        return self.status == "ready for sign-off"


@dataclass(frozen=True)
class RegistryVersion:
    name: str
    version: str
    why: str | None
    promoted_at: str | None


@dataclass(frozen=True)
class IntakeEvidence:
    """A base model's intake as the run store keeps it (schema harness.intake, read as JSON: reports sit
    below harness.intake in the import layers): the verdict, the rows that did not pass, the licence."""

    id: int
    created_at: str
    verdict: str
    policy: str
    flagged: list[dict[str, Any]]  # rows whose outcome is fail, warn, review or not-measured
    licence: dict[str, Any]
    architecture: dict[str, Any]


@dataclass(frozen=True)
class SelectionEvidence:
    """The selection record that chose the base model (schema harness.selection, read as JSON)."""

    id: int
    created_at: str
    policy: str
    chosen: str
    decision: str
    alternatives: list[dict[str, Any]]  # the other candidates: label, score, eligible, blocking, cons


FLAGGED_OUTCOMES = ("fail", "warn", "review", "not-measured")


def intake_evidence(row: dict[str, Any] | None) -> IntakeEvidence | None:
    """The store's intake row (:meth:`RunStore.latest_intake`) as the dossier shows it."""
    if row is None:
        return None
    record = row["record"]
    rows = [r for r in record.get("rows", []) if r.get("outcome") in FLAGGED_OUTCOMES]
    return IntakeEvidence(
        id=int(row["id"]),
        created_at=str(row["created_at"]),
        verdict=str(row["verdict"]),
        policy=str((record.get("policy") or {}).get("name", "")),
        flagged=rows,
        licence=dict(record.get("licence") or {}),
        architecture=dict(record.get("architecture") or {}),
    )


def selection_evidence(row: dict[str, Any] | None) -> SelectionEvidence | None:
    """The store's selection row (:meth:`RunStore.selections`) as the dossier shows it."""
    if row is None:
        return None
    record = row["record"]
    chosen = str(record.get("chosen") or "")
    return SelectionEvidence(
        id=int(row["id"]),
        created_at=str(row["created_at"]),
        policy=str(row["policy"]),
        chosen=chosen,
        decision=str(record.get("decision", "")),
        alternatives=[c for c in record.get("candidates", []) if c.get("label") != chosen],
    )


@dataclass
class DossierContext:
    """Everything the dossier template, its JSON summary and the Hugging Face card read."""

    report: ReportContext
    kind: str
    provider: ProviderInput
    placeholders: list[Placeholder]
    metrics: dict[str, Metric]  # the run's metrics and the datasets' evidence
    outcome_by_metric: dict[str, RuleOutcome]
    training: dict[str, Any] | None
    datasets: list[DatasetEvidence]
    criteria: RiskCriteria
    catalogue: RiskCatalogue
    risk_rows: list[RiskRow]
    charts: dict[str, Markup]
    signoffs: list[SignOff]
    renderings: list[dict[str, Any]]
    audit: ChainCheck
    audit_head: str
    gate_history: list[dict[str, Any]]
    failure_examples: list[FailureExample]
    manifest: list[ManifestEntry]
    attachments: dict[str, Path | bytes]
    run_dir: Path
    architecture: dict[str, Any] | None  # harness.models.architecture.ModelArchitecture.to_dict(), as recorded
    architecture_note: str
    registry: RegistryVersion | None
    reproduce: str
    reproduce_note: str
    release: Release
    title: str
    css: Markup
    generated_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    monitoring: MonitoringSection | None = None  # the Art. 72 plan and, when given, the monitoring results
    intake: IntakeEvidence | None = None  # the base model's latest intake record in the store (harness intake)
    selection: SelectionEvidence | None = None  # the latest selection record that chose the base model (harness select)

    @property
    def result(self) -> RunResult:
        return self.report.result

    @property
    def comparison(self) -> RunComparison | None:
        return self.report.comparison

    @property
    def name(self) -> str:
        """The released name: the provider's, the trained adapter's registry name, or the model's own name."""
        return self.provider.system_name or (self.training or {}).get("name") or model_name(self.result.model)

    @property
    def version(self) -> str | None:
        """The provider's version, else the registry version the run was promoted as."""
        return self.provider.system_version or (self.registry.version if self.registry else None)

    @property
    def all_metrics(self) -> list[Metric]:
        return sorted(self.metrics.values(), key=lambda m: m.name)

    @property
    def summary_metrics(self) -> list[Metric]:
        """Whole-suite metrics and dataset evidence, by name."""
        return [m for m in self.all_metrics if not m.is_breakdown]

    @property
    def evaluation_metrics(self) -> list[Metric]:
        """Whole-suite metrics, and every metric a rule judged."""
        return [m for m in self.all_metrics if not m.is_breakdown or m.name in self.outcome_by_metric]

    @property
    def headline_metrics(self) -> list[Metric]:
        return [m for m in self.result.headline_metrics() if m.value is not None]

    @property
    def evidence(self) -> dict[str, Metric | None]:
        return {point: self.metrics.get(name) for point, name in ANNEX_EVIDENCE.items()}

    def unit_of(self, metric: str) -> str | None:
        """The unit of a run metric or of a dataset's evidence."""
        found = self.metrics.get(metric)
        return found.unit if found is not None else None

    @property
    def placeholder_numbers(self) -> dict[str, int]:
        return {p.field: p.number for p in self.placeholders}

    @property
    def degradations(self) -> list[str]:
        """Known circumstances that lower the declared accuracy, from the run's own evidence (Art. 13(3)(b)(ii))."""
        out = []
        m = self.metrics
        drops = [x for x in self.result.metrics if x.name.startswith("robustness.drop.") and x.value is not None]
        if drops:
            worst = max(drops, key=lambda x: x.value or 0.0)
            out.append(
                f"Perturbed input (typos, case, spacing): accuracy falls by up to {format_change(worst.value, 'proportion')} "
                f"under {worst.slice or worst.name.rsplit('.', 1)[-1]} (95% CI {format_change(worst.ci_low, 'proportion')} "
                f"to {format_change(worst.ci_high, 'proportion')})."
            )
        worst_group = m.get("fairness.worst_group_accuracy")
        gap = m.get("fairness.accuracy_gap")
        if worst_group is not None and worst_group.value is not None:
            fairness = self.report.section("fairness")
            who = fairness.details.get("worst_group") if fairness else None
            out.append(
                f"Who the person is: the worst group{f' ({who})' if who else ''} is answered at "
                f"{format_metric_value(worst_group)}"
                + (f", a gap of {format_metric_value(gap)} to the best" if gap is not None else "")
                + "."
            )
        calibration = self.report.section("calibration")
        if calibration is not None and calibration.details.get("direction") in ("overconfident", "underconfident"):
            out.append(
                f"Confidence: the model is {calibration.details['direction']} (mean confidence "
                f"{100 * calibration.details['mean_confidence']:.1f}% against accuracy "
                f"{100 * calibration.details['accuracy']:.1f}%); a shown confidence is not a probability of being right."
            )
        for name, status in self.result.suite_status.items():
            out += [f"{name}: {w}" for w in status.warnings]
        return out

    @property
    def decoding(self) -> list[str]:
        """How each completed suite asked the model: choice log-likelihoods or generation, shots, token cap."""
        choice: list[str] = []
        generated: list[str] = []
        for name, status in self.result.suite_status.items():
            if status.status != "completed":
                continue
            settings = status.settings
            shots = settings.get("num_fewshot")
            outputs = settings.get("task_outputs") or []
            if settings.get("decoding") or settings.get("max_tokens") or "generate_until" in outputs:
                cap = settings.get("max_tokens") or settings.get("max_gen_toks")
                generated.append(
                    f"{name} ({settings.get('decoding', 'greedy')}"
                    + (f", at most {cap} tokens" if cap else "")
                    + (f", {shots}-shot" if shots else "")
                    + ")"
                )
            elif "sources" in settings:
                continue  # derived from another suite's records: asks nothing
            else:
                choice.append(f"{name}" + (f" ({shots}-shot)" if shots else ""))
        out = []
        if choice:
            out.append("each choice scored by its log-likelihood, no generation: " + ", ".join(choice))
        if generated:
            out.append("answers generated: " + ", ".join(generated))
        return out

    @property
    def run_logs(self) -> list[tuple[str, str]]:
        """The run's own records (Art. 12): what each file is and how much it holds."""
        out = []
        for name, what in (
            (RESULTS_FILE, "metrics, environment and timings"),
            (ITEMS_FILE, "one record per evaluated item"),
            (SPEC_FILE, "what the run was asked"),
            (VERDICT_FILE, "the gate's verdict"),
            (TRAINING_RECORD, "the training record"),
        ):
            path = self.run_dir / name
            if path.is_file():
                lines = sum(1 for _ in path.open("rb")) if name == ITEMS_FILE else None
                out.append((name, f"{what}" + (f", {lines} lines" if lines is not None else "")))
        samples = list(self.run_dir.glob("*/*/samples_*.jsonl")) + list(self.run_dir.glob("**/*.eval"))
        if samples:
            out.append(
                ("engine logs", f"{len(samples)} files of the engines' own per-sample logs (lm-eval, inspect-ai)")
            )
        return out

    @property
    def toc(self) -> list[tuple[str, str]]:
        technical = (
            [("annex-iv", "Technical documentation (Annex IV)")]
            if self.kind == "system"
            else [
                ("annex-xi", "Documentation for authorities (Annex XI)"),
                ("annex-xii", "Information for downstream providers (Annex XII)"),
            ]
        )
        return [
            ("model-card", "Model card"),
            *technical,
            ("instructions", "Instructions for use and declared accuracy (Art. 13)"),
            ("evaluation", "Evaluation report (Art. 15)"),
            ("bias-audit", "Bias audit (Art. 10(2)(f))"),
            ("data", "Data provenance log (Art. 10)"),
            ("copyright", "Copyright policy and training content (Art. 53(1)(c)-(d))"),
            ("risk", "Risk register (Art. 9)"),
            ("changes", "Change log against the baseline (Annex IV 6)"),
            ("quality", "Quality management: gate history (Art. 17)"),
            ("signoffs", "Sign-offs (Annex IV 2(g), Art. 14)"),
            ("records", "Record-keeping (Art. 12)"),
            ("environment", "Environment and reproducibility"),
            ("manifest", "Integrity manifest and attachments"),
        ]

    def benchmark_data(self) -> list[BenchmarkData]:
        """Per suite: how many data files, their rows, and SHA-256 over their digests in order."""
        grouped: dict[str, list[DatasetUse]] = {}
        for use in self.result.datasets:
            grouped.setdefault(use.suite, []).append(use)
        return [
            BenchmarkData(
                suite=suite,
                files=len(uses),
                rows=sum(u.rows or 0 for u in uses),
                digest=sha256_text("\n".join(u.sha256 or u.source for u in uses)),
            )
            for suite, uses in grouped.items()
        ]

    def evidence_details(self, point: str) -> dict[str, Any]:
        """The suite details behind an Annex point's evidence metric (e.g. reliability bins for oversight)."""
        metric = self.evidence.get(point)
        section = self.report.section(metric.suite) if metric is not None and metric.suite else None
        return section.details if section is not None else {}

    def template_vars(self) -> dict[str, Any]:
        return self.report.template_vars() | {
            "oversight_details": self.evidence_details("oversight"),
            "doc": self,
            "kind": self.kind,
            "provider": self.provider,
            "placeholders": self.placeholders,
            "placeholder_numbers": self.placeholder_numbers,
            "field_labels": PLACEHOLDER_FIELDS,
            "metrics": self.metrics,
            "all_metrics": self.all_metrics,
            "summary_metrics": self.summary_metrics,
            "evaluation_metrics": self.evaluation_metrics,
            "outcome_by_metric": self.outcome_by_metric,
            "training": self.training,
            "datasets": self.datasets,
            "criteria": self.criteria,
            "catalogue": self.catalogue,
            "risk_rows": self.risk_rows,
            "charts": self.charts,
            "signoffs": self.signoffs,
            "renderings": self.renderings,
            "audit": self.audit,
            "gate_history": self.gate_history,
            "failure_examples": self.failure_examples,
            "manifest": self.manifest,
            "attachment_names": sorted(self.attachments),
            "toc": self.toc,
            "benchmark_data": self.benchmark_data(),
            "evidence": self.evidence,
            "architecture": self.architecture,
            "intake": self.intake,
            "selection": self.selection,
            "release": self.release,
            "unit_of": self.unit_of,
            "data_label": data_label,
            "title": self.title,
            "css": self.css,
            "generated_at": self.generated_at,
        }


def _placeholders(
    kind: str, provider: ProviderInput, risk_rows: list[RiskRow], registry: RegistryVersion | None
) -> list[Placeholder]:
    """Every open human item, numbered in the order the cover lists them."""
    fields = MODEL_FIELDS if kind == "model" else SYSTEM_FIELDS
    open_items: list[tuple[str, str, str]] = []
    for name in fields:
        if name == "system_version" and registry is not None:
            continue
        if getattr(provider, name) in (None, "", []):
            open_items.append((f"ph-{name}", name, PLACEHOLDER_FIELDS[name]))
    for row in risk_rows:
        if row.residual_open:
            open_items.append(
                (
                    f"ph-risk-{row.scenario.id}",
                    f"risks.{row.scenario.id}",
                    f"Treatment, residual risk and acceptance of risk {row.number}: {row.scenario.title} (Art. 9(5))",
                )
            )
        elif row.blocks_release:
            open_items.append(
                (
                    f"ph-justification-{row.scenario.id}",
                    f"risks.{row.scenario.id}.justification",
                    f"Signed justification for keeping risk {row.number} in the unacceptable zone, or a treatment "
                    f"that lowers it: {row.scenario.title} (Art. 9(5))",
                )
            )
    open_items.append(
        (
            "ph-signoff",
            "signoff",
            "Dated sign-off of this rendering by the responsible person (Annex IV 2(g)): harness signoff binds it "
            "to this file's SHA-256",
        )
    )
    return [Placeholder(number=i, id=pid, field=f, label=label) for i, (pid, f, label) in enumerate(open_items, 1)]


def release_assessment(verdict: Verdict | None, risk_rows: list[RiskRow]) -> Release:
    """Not releasable on a failed gate or an unjustified unacceptable residual risk; incomplete while
    judgements are open; otherwise ready for the responsible person's sign-off."""
    blocking = []
    if verdict is not None and verdict.verdict != "pass":
        failed = [o.rule_id for o in verdict.outcomes if o.blocking]
        blocking.append(f"the gate verdict is FAIL ({', '.join(failed)})")
    blocking += release_blockers(risk_rows)
    open_items = []
    if verdict is None:
        open_items.append("no gate verdict is recorded for this run (harness gate)")
    unjudged = [r for r in risk_rows if r.residual_open]
    if unjudged:
        open_items.append(
            f"{len(unjudged)} of {len(risk_rows)} risks have no residual judgement "
            f"(risks {', '.join(str(r.number) for r in unjudged)})"
        )
    insufficient = [r for r in risk_rows if r.status != "measured"]
    if insufficient:
        open_items.append(
            f"{len(insufficient)} risks have no likelihood from sufficient evidence "
            f"(risks {', '.join(str(r.number) for r in insufficient)})"
        )
    if blocking:
        return Release("not releasable", blocking, open_items)
    if open_items:
        return Release("incomplete", open_items, open_items)
    return Release("ready for sign-off", [])


def failure_examples(run_dir: Path, items: list[ItemRecord], limit: int = FAILURE_EXAMPLES) -> list[FailureExample]:
    """The most confident wrong multiple-choice answers, with their question text.

    The question comes from the record itself, or, for runs whose records do not keep
    it, from the engine's raw samples kept in the run directory.
    """
    wrong = sorted(
        (r for r in items if r.loglikelihoods and not r.correct and r.confidence is not None and r.variant == "clean"),
        key=lambda r: -(r.confidence or 0.0),
    )[:limit]
    if not wrong:
        return []
    texts: dict[str, dict[str, Any]] = {}
    if any("question" not in r.extra for r in wrong):
        for path in sorted(run_dir.glob("*/*/samples_*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                sample = json.loads(line)
                texts.setdefault(sample.get("prompt_hash", ""), sample.get("doc") or {})
    out = []
    for record in wrong:
        doc = texts.get(record.prompt_hash, {})
        question = record.extra.get("question") or doc.get("question") or "(question text not kept in this run)"
        choices = record.extra.get("choice_texts") or doc.get("choices") or []
        out.append(
            FailureExample(
                item_id=record.item_id,
                question=str(question),
                chosen=str(choices[record.prediction])
                if choices and isinstance(record.prediction, int)
                else str(record.prediction),
                gold=str(choices[record.target]) if choices and isinstance(record.target, int) else str(record.target),
                confidence=record.confidence,
            )
        )
    return out


def _manifest(files: dict[str, Path]) -> list[ManifestEntry]:
    return [
        ManifestEntry(name=name, path=str(path), sha256=sha256_file(path), bytes=path.stat().st_size)
        for name, path in files.items()
        if path.is_file()
    ]


def recorded_architecture(result: RunResult, training: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str]:
    """The model's architecture as recorded when its files were at hand (reports never open a model): by the
    run (``environment.architecture``), else by the training that made it (``training-record.json``)."""
    extra = result.environment.model_extra or {}
    recorded = extra.get("architecture")
    if isinstance(recorded, dict):
        return recorded, "recorded by the run from config.json and the safetensors headers of the files it measured"
    if training and isinstance(training.get("architecture"), dict):
        same = training.get("adapter_fingerprint") == result.model.fingerprint
        return training["architecture"], (
            "recorded by the training from config.json and the safetensors headers"
            + ("; the trained adapter's fingerprint is the run's" if same else "; NOT the fingerprint of this run")
        )
    return None, (
        "not recorded: this run's results carry no architecture (environment.architecture) and no training "
        "record does, so the parameter count is not known to the dossier"
    )


SPEC_FILE = "run-spec.json"  # what harness run was asked, kept with the run (harness.runner.spec)
MODEL_FLAGS = ("base", "adapter", "revision", "dtype", "device", "allow_pickle", "trust_remote_code")


def reproduce_command(run_dir: Path, result: RunResult) -> tuple[str, str]:
    """The complete ``harness run`` command that asks the same questions of the same model, and a note on it.

    Read from the run's ``run-spec.json`` as stored (both its nested and its earlier flat form).
    """
    spec = _stored_spec(run_dir)
    if spec is None:
        model = result.model
        args = ["harness", "run", model.base]
        if model.adapter:
            args += ["--adapter", model.adapter]
        args += ["--dtype", model.dtype, "--suites", ",".join(result.suites)]
        note = "The run kept no readable run-spec.json: its item limit, few-shot count and token cap are not known."
        return " ".join(shlex.quote(a) for a in args), note
    m = spec["model"]
    args = ["harness", "run", str(m.get("base", result.model.base))]
    for key, flag in (("adapter", "--adapter"), ("revision", "--revision")):
        if m.get(key):
            args += [flag, str(m[key])]
    args += ["--dtype", str(m.get("dtype", result.model.dtype)), "--device", str(m.get("device", "cpu"))]
    args += ["--suites", ",".join(str(s) for s in spec.get("suites") or result.suites)]
    gen_kwargs = spec.get("gen_kwargs") or {}
    for value, flag in (
        (spec.get("limit"), "--limit"),
        (spec.get("num_fewshot"), "--num-fewshot"),
        (gen_kwargs.get("max_gen_toks") if isinstance(gen_kwargs, dict) else None, "--max-gen-toks"),
        (spec.get("data_dir"), "--data-dir"),
        (spec.get("judge"), "--judge"),
    ):
        if value is not None and value != "":
            args += [flag, str(value)]
    for on, flag in (
        (spec.get("allow_code_execution"), "--allow-code-execution"),
        (m.get("allow_pickle"), "--allow-pickle"),
        (m.get("trust_remote_code"), "--trust-remote-code"),
    ):
        if on:
            args.append(flag)
    note = (
        f"The model at these paths must have fingerprint {result.model.fingerprint}; the paths are where the files "
        "were when the run was made."
    )
    return " ".join(shlex.quote(a) for a in args), note


def _stored_spec(run_dir: Path) -> dict[str, Any] | None:
    """The run spec as stored, with the model's fields nested under ``model``; None when absent or unreadable."""
    try:
        stored = json.loads((run_dir / SPEC_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    spec = stored.get("spec") if isinstance(stored, dict) else None
    if not isinstance(spec, dict):
        return None
    if not isinstance(spec.get("model"), dict):
        spec = {k: v for k, v in spec.items() if k not in MODEL_FLAGS} | {
            "model": {k: spec[k] for k in MODEL_FLAGS if k in spec}
        }
    return spec


def _dataset_warnings(records: list[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
    """Evidence recorded for more than one dataset (the same ratings file as two datasets' agreement)."""
    by_source: dict[str, list[str]] = {}
    for ref, prov in records:
        agreement = prov.get("agreement") or {}
        source = agreement.get("source")
        if source:
            by_source.setdefault(str(source), []).append(ref)
    out: dict[str, list[str]] = {}
    for source, refs in by_source.items():
        if len(refs) > 1:
            for ref in refs:
                others = ", ".join(r for r in refs if r != ref)
                out.setdefault(ref, []).append(
                    f"the same ratings file ({Path(source).name}) is recorded as the inter-rater agreement of "
                    f"{others} too: one file can rate only one dataset, so this agreement cannot be taken as "
                    f"evidence for both (register each dataset's own ratings)"
                )
    return out


def _signoffs(rows: list[dict[str, Any]], renderings: list[dict[str, Any]]) -> list[SignOff]:
    known = {h for r in renderings for h in rendering_hashes(r)}
    out = []
    for row in rows:
        entry = row["entry"]
        sha = entry.get("dossier_sha256")
        out.append(
            SignOff(
                created_at=str(entry.get("created_at", row.get("created_at", ""))),
                by=str(entry.get("by", "")),
                role=str(entry.get("role", "")),
                decision=str(entry.get("decision", "")),
                note=entry.get("note"),
                sha256=sha,
                file=entry.get("dossier"),
                known_rendering=sha in known,
            )
        )
    return out


def _registry_version(rows: list[dict[str, Any]], training: dict[str, Any] | None) -> RegistryVersion | None:
    promotions = [r["entry"] for r in rows if r["action"] == "promotion"]
    if promotions:
        p = promotions[-1]
        return RegistryVersion(str(p.get("name")), str(p.get("version")), p.get("why"), p.get("created_at"))
    registry = (training or {}).get("registry")
    if isinstance(registry, dict) and registry.get("version"):
        return RegistryVersion(
            str(registry.get("name")), str(registry["version"]), registry.get("why"), registry.get("promoted_at")
        )
    return None


def _gate_history(store: RunStore, result: RunResult, training: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Gates, trainings, promotions and rejections of this model: its fingerprint, its run, or its registry name."""
    name = (training or {}).get("name")
    out = []
    for row in store.audit_rows():
        if row["action"] not in ("gate", "training", "promotion", "rejection"):
            continue
        entry = row["entry"]
        mine = (
            row["run_id"] == result.run_id
            or entry.get("fingerprint") == result.model.fingerprint
            or (name is not None and entry.get("name") == name)
        )
        if mine:
            out.append(
                {
                    "created_at": row["created_at"],
                    "run_id": row["run_id"],
                    "action": row["action"],
                    "policy": entry.get("policy"),
                    "verdict": entry.get("verdict"),
                    "version": entry.get("version"),
                    "baseline": entry.get("baseline_run_id") or entry.get("baseline_run"),
                    "this_model": entry.get("fingerprint") == result.model.fingerprint
                    or row["run_id"] == result.run_id,
                }
            )
    return out


# Readable names of a dataset's evidence, by the last part of its metric name (data.<name>.<part>).
DATA_LABELS = {
    "rows": "rows",
    "expectations_passed": "Great Expectations passed",
    "kappa": "Cohen's kappa, mean pairwise",
    "fleiss_kappa": "Fleiss' kappa",
    "krippendorff_alpha": "Krippendorff's alpha, nominal",
    "krippendorff_alpha_ordinal": "Krippendorff's alpha, ordinal",
    "icc2_1": "ICC(2,1)",
    "icc3_1": "ICC(3,1)",
    "disputed_share": "items disputed by the raters",
    "needs_third_expert_share": "items awaiting a third expert",
}


def data_label(name: str) -> str:
    """The readable name of an agreement coefficient or a dataset metric (``icc2_1`` -> ``ICC(2,1)``)."""
    part = name.rsplit(".", 1)[-1]
    return DATA_LABELS.get(part, part.replace("_", " "))


def _described_data_metric(metric: Metric) -> Metric:
    """Dataset evidence as it reads: a label, and row counts as counts (evidence is stored without either)."""
    update: dict[str, Any] = {"label": metric.label or data_label(metric.name)}
    if metric.name.endswith(".rows") and metric.unit == "score":
        update["unit"] = "count"
    return metric.model_copy(update=update)


def build_context(
    run_ref: str | Path,
    *,
    store: RunStore,
    datasets: list[str],
    provider_path: str | Path | None,
    kind: str | None,
    comparison: RunComparison | None = None,
    criteria_path: str | Path = "risk-criteria",
    catalogue_path: str | Path = "risks",
    monitoring: str | Path | None = None,
) -> DossierContext:
    """Everything the dossier shows, gathered from stored evidence.

    ``comparison`` is the paired comparison the change log shows; without one, the
    comparison the verdict was judged with (if any). Without ``datasets``, the dataset
    versions the verdict judged.
    """
    from harness.comparison import comparison_path
    from harness.data.registry import provenance, provenance_path
    from harness.reports.charts import risk_heat_map_svg, training_curves_svg
    from harness.schema.results import read_items
    from harness.store.audit import audit_head, verify_chain

    results_path = resolve_results_path(run_ref)
    run_dir = results_path.parent
    result = load_results(results_path)
    verdict = load_verdict(run_dir)
    if comparison is None:
        comparison = verdict_comparison(run_dir, verdict)
    report = report_context(result, verdict, comparison)
    criteria, criteria_file = load_criteria(criteria_path)
    catalogue, catalogue_file = load_catalogue(catalogue_path)
    provider = load_provider_input(provider_path, catalogue_ids=[r.id for r in catalogue.risks])
    kind = kind or provider.kind or "system"
    items = read_items(run_dir / ITEMS_FILE) if (run_dir / ITEMS_FILE).is_file() else []

    given = list(datasets)
    names = [ref.split("@")[0] for ref in given]
    if len(set(names)) != len(names):
        raise InputError(f"give one version per dataset: {', '.join(given)} name one dataset twice")
    for ref in verdict.datasets if verdict else []:
        if ref.split("@")[0] not in names:
            given.append(ref)
            names.append(ref.split("@")[0])
    metrics = result.metric_map()
    read = []
    for ref in given:
        evidence = provenance(store, ref)  # one read of the store: kept as provenance.json and shown
        read.append((ref, evidence))
    warnings = _dataset_warnings(read)
    data_records = []
    for ref, evidence in read:
        path = atomic_write_json(provenance_path(ref), evidence)
        data_records.append(
            DatasetEvidence(ref=ref, provenance=evidence, path=path, warnings=tuple(warnings.get(ref, [])))
        )
        metrics |= {m["name"]: _described_data_metric(Metric.model_validate(m)) for m in evidence["metrics"]}

    risk_rows = build_register(criteria, catalogue, metrics, result.run_id, provider.risks, item_sources(result))
    run_rows = store.audit_rows(result.run_id)
    renderings = recorded_renderings(store, result.run_id)
    signoffs = _signoffs([r for r in run_rows if r["action"] == "signoff"], renderings)

    training = None
    charts = {"heat_map": Markup(risk_heat_map_svg(risk_rows, criteria))}
    if (run_dir / TRAINING_RECORD).is_file():
        training = json.loads((run_dir / TRAINING_RECORD).read_text(encoding="utf-8"))
        charts["training"] = Markup(training_curves_svg(training.get("curves", [])))
    registry = _registry_version(run_rows, training)
    placeholders = _placeholders(kind, provider, risk_rows, registry)
    outcome_by_metric: dict[str, RuleOutcome] = {}
    for o in verdict.outcomes if verdict else []:
        outcome_by_metric.setdefault(o.metric, o)

    artefacts: dict[str, Path] = {
        RESULTS_FILE: results_path,
        ITEMS_FILE: run_dir / ITEMS_FILE,
        VERDICT_FILE: run_dir / VERDICT_FILE,
        TRAINING_RECORD: run_dir / TRAINING_RECORD,
        SPEC_FILE: run_dir / SPEC_FILE,
        "risk criteria": criteria_file,
        "risk catalogue": catalogue_file,
    }
    if verdict and verdict.policy_path:
        policy_file = Path(verdict.policy_path)
        changed = policy_file.is_file() and sha256_file(policy_file) != verdict.policy_sha256
        artefacts["policy (CHANGED since the verdict)" if changed else "policy"] = policy_file
    if comparison is not None:
        stored = comparison_path(run_dir, comparison.reference_run)
        if stored is not None:
            artefacts[comparison_file_name(comparison.reference_run)] = stored
    baseline_id = verdict.baseline_run_id if verdict and verdict.baseline_run_id else None
    baseline_id = baseline_id or (comparison.reference_run if comparison else None)
    if baseline_id:
        row = store.find_run(baseline_id)
        if row is not None and (Path(row.path) / RESULTS_FILE).is_file():
            artefacts["baseline results"] = Path(row.path) / RESULTS_FILE
    if provider_path:
        artefacts["provider input"] = Path(provider_path)
    for d in data_records:
        artefacts[f"provenance {d.ref}"] = d.path
    monitoring_section = load_monitoring_section(monitoring, run_id=result.run_id)
    if monitoring_section.results is not None:
        artefacts["monitoring results"] = monitoring_section.results.path
    manifest = _manifest(artefacts)
    architecture, architecture_note = recorded_architecture(result, training)
    base_fingerprint = str((training or {}).get("base_fingerprint") or result.model.fingerprint)
    intake = intake_evidence(store.latest_intake(base_fingerprint))
    chosen_by = store.selections(1, chose=base_fingerprint)
    if architecture is None and intake is not None and intake.architecture:
        architecture = intake.architecture
        architecture_note = (
            f"recorded by harness intake (intake record {intake.id}, {intake.created_at}) from the files of "
            "the same model (same fingerprint); the run itself carries no architecture"
        )
    reproduce, reproduce_note = reproduce_command(run_dir, result)
    context = DossierContext(
        report=report,
        kind=kind,
        provider=provider,
        placeholders=placeholders,
        metrics=metrics,
        outcome_by_metric=outcome_by_metric,
        training=training,
        datasets=data_records,
        criteria=criteria,
        catalogue=catalogue,
        risk_rows=risk_rows,
        charts=charts,
        signoffs=signoffs,
        renderings=renderings,
        audit=verify_chain(store),
        audit_head=audit_head(store),
        gate_history=_gate_history(store, result, training),
        failure_examples=failure_examples(run_dir, items),
        manifest=manifest,
        attachments=attachments_for(manifest),
        run_dir=run_dir,
        architecture=architecture,
        architecture_note=architecture_note,
        registry=registry,
        reproduce=reproduce,
        reproduce_note=reproduce_note,
        release=release_assessment(verdict, risk_rows),
        title="",
        css=stylesheet("report.css", "dossier.css"),
        monitoring=monitoring_section,
        intake=intake,
        selection=selection_evidence(chosen_by[0] if chosen_by else None),
    )
    context.title = f"{'Technical documentation' if kind == 'system' else 'Model documentation'}: {context.name}"
    return context


def attachments_for(manifest: list[ManifestEntry]) -> dict[str, Path | bytes]:
    """What the PDF carries: every artefact the verdict and the register are rebuilt from, by a stable name.

    ``items.jsonl`` (large) is carried as its digest; everything else whole: results,
    baseline results, verdict, comparison, run spec, training record, policy YAML, risk
    criteria and catalogue, provider input, each dataset's provenance.
    """
    attachments: dict[str, Path | bytes] = {}
    for entry in manifest:
        path = Path(entry.path)
        if entry.name == ITEMS_FILE:
            digest = {"file": ITEMS_FILE, "sha256": entry.sha256, "bytes": entry.bytes}
            attachments["items-digest.json"] = json.dumps(digest, indent=2).encode()
        elif entry.name.startswith("provenance "):
            attachments[f"provenance-{entry.name.split(' ', 1)[1].replace('@', '-')}.json"] = path
        elif entry.name == "baseline results":
            attachments[BASELINE_RESULTS] = path
        elif entry.name.startswith("policy"):
            attachments["policy.yaml"] = path
        elif entry.name == "risk criteria":
            attachments["risk-criteria.yaml"] = path
        elif entry.name == "risk catalogue":
            attachments["risks.yaml"] = path
        elif entry.name == "provider input":
            attachments["provider.yaml"] = path
        else:
            attachments[path.name] = path
    attachments["manifest.json"] = json.dumps([e.__dict__ for e in manifest], indent=2).encode()
    return attachments


def render_dossier(
    run_ref: str | Path,
    out_dir: Path,
    *,
    store: RunStore,
    datasets: list[str] | None = None,
    provider_path: str | Path | None = None,
    kind: str | None = None,
    comparison: RunComparison | None = None,
    pdf: bool = True,
    monitoring: str | Path | None = None,
) -> DossierPaths:
    """Write dossier.html, dossier.pdf (PDF/A-3b), dossier.json and README.md into ``out_dir``.

    The rendering is recorded in the store and appended to the audit log (``rendering``),
    after ``dossier.json`` has recorded the log's head as it was before.
    """
    from harness.reports.render import html_to_pdf, local_fetcher

    context = build_context(
        run_ref,
        store=store,
        datasets=datasets or [],
        provider_path=provider_path,
        kind=kind,
        comparison=comparison,
        monitoring=monitoring,
    )
    html = jinja_environment().get_template("dossier.html.j2").render(**context.template_vars())
    html_path = atomic_write_text(out_dir / "dossier.html", html)
    result = context.result
    fetcher = local_fetcher(templates_dir())
    pdf_path = None
    if pdf:
        pdf_bytes, _ = html_to_pdf(
            html,
            title=context.title,
            metadata={"fingerprint": result.model.fingerprint, "run_id": result.run_id, "date": context.generated_at},
            attachments=context.attachments,
            pdf_variant="pdf/a-3b",
            fetcher=fetcher,
        )
        pdf_path = atomic_write_bytes(out_dir / "dossier.pdf", pdf_bytes)
    summary = dossier_summary(context, html_path, pdf_path)
    json_path = atomic_write_json(out_dir / DOSSIER_JSON, summary)
    readme = atomic_write_text(out_dir / "README.md", huggingface_readme(context))
    row = {
        "run_id": result.run_id,
        "kind": context.kind,
        "created_at": context.generated_at,
        "pdf": str(pdf_path.resolve()) if pdf_path else None,
        "pdf_sha256": summary["pdf_sha256"],
        "html": str(html_path.resolve()),
        "html_sha256": summary["html_sha256"],
    }
    store.record_dossier(row)
    record_rendering(store, result.run_id, "dossier", html_path, pdf_path)
    return DossierPaths(
        html=html_path,
        pdf=pdf_path,
        json=json_path,
        readme=readme,
        placeholders=[p.label for p in context.placeholders],
        requested_urls=fetcher.requested,
        release=context.release.status,
    )


def dossier_summary(context: DossierContext, html_path: Path, pdf_path: Path | None) -> dict[str, Any]:
    """The machine-readable dossier: what ``dossier diff`` compares and ``harness audit verify`` reads."""
    result = context.result
    verdict = context.report.verdict
    return {
        "schema_version": "2",
        "kind": context.kind,
        "generated_at": context.generated_at,
        "run_id": result.run_id,
        "run_dir": str(context.run_dir),
        "name": context.name,
        "version": context.version,
        "model": result.model.model_dump(mode="json"),
        "architecture": context.architecture,
        "verdict": verdict.verdict if verdict else None,
        "policy": verdict.policy if verdict else None,
        "baseline_run_id": verdict.baseline_run_id if verdict else None,
        "release": {
            "status": context.release.status,
            "reasons": context.release.reasons,
            "open": context.release.open,
        },
        "metrics": [m.model_dump(mode="json") for m in context.all_metrics],
        "datasets": [{"ref": d.ref, "sha256": d.provenance["dataset"]["sha256"]} for d in context.datasets],
        "provider": context.provider.model_dump(mode="json", exclude={"risks"}),
        "risks": [
            {
                "id": r.scenario.id,
                "status": r.status,
                "basis": r.basis,
                "metric": r.metric_name,
                "n": r.n,
                "initial": [r.initial_severity, r.initial_likelihood],
                "zone": r.initial_zone,
                "treatment": r.treatment,
                "residual": [r.residual_severity, r.residual_likelihood],
                "residual_zone": r.residual_zone,
                "accepted": r.accepted,
                "rationale": r.rationale,
                "owner": r.owner,
                "justification": r.justification,
                "signed_by": r.justification_signed_by,
                "blocks_release": r.blocks_release,
            }
            for r in context.risk_rows
        ],
        "criteria_version": context.criteria.version,
        "catalogue_version": context.catalogue.version,
        "placeholders": [{"number": p.number, "field": p.field, "label": p.label} for p in context.placeholders],
        "signoffs": [s.__dict__ for s in context.signoffs],
        "manifest": [e.__dict__ for e in context.manifest],
        "attachments": sorted(context.attachments),
        "monitoring": context.monitoring.changelog() if context.monitoring else [],
        "reproduce": context.reproduce,
        "audit_head": context.audit_head,
        "html_sha256": sha256_file(html_path),
        "pdf_sha256": sha256_file(pdf_path) if pdf_path else None,
    }


# Hub datasets of the benchmarks whose standard data harness reads; other suites are named harness/<suite>.
HF_DATASETS = {"mmlu": "cais/mmlu", "gsm8k": "openai/gsm8k"}


def huggingface_front_matter(context: DossierContext) -> dict[str, Any]:
    """The card's YAML metadata: licence, base model, datasets and a model-index that huggingface_hub parses.

    Each model-index result has ``task.type``, ``dataset.type`` and ``dataset.name``, and
    ``metrics`` of ``type`` and ``value`` (the fields ``huggingface_hub`` requires); no
    ``source`` (the Hub requires a URL with it, and the evidence lives in the dossier).
    """
    result = context.result
    results = []
    for section in context.report.sections:
        rows = [m for m in section.summary if m.value is not None and m.unit == "proportion"]
        if not rows:
            continue
        generative = "generate_until" in section.status.settings.get("task_outputs", []) or (
            section.status.engine or ""
        ).startswith("inspect")
        results.append(
            {
                "task": {"type": "text-generation" if generative else "multiple-choice", "name": section.name},
                "dataset": {"name": section.name, "type": HF_DATASETS.get(section.name, f"harness/{section.name}")},
                "metrics": [
                    {
                        "type": m.name.removeprefix(f"{section.name}."),
                        "value": round(m.value or 0.0, 4),
                        "name": m.name,
                    }
                    for m in rows
                ],
            }
        )
    front: dict[str, Any] = {
        "license": plain_text(context.provider.license) if context.provider.license else "other",
        "base_model": plain_text(model_name(result.model)),
        "datasets": [d.ref for d in context.datasets],
        "tags": ["harness", "eu-ai-act", "peft" if result.model.adapter else "transformers"],
    }
    if results:
        front["model-index"] = [{"name": plain_text(context.name), "results": results}]
    return front


def huggingface_readme(context: DossierContext) -> str:
    """The model card in the Hugging Face README form: YAML front matter, then a short card.

    Every user-controlled text (provider fields, model names) is made inert for Markdown
    (:func:`~harness.reports.present.markdown_text`), as the HTML escapes it.
    """
    import yaml

    result = context.result
    provider = context.provider
    lines = [
        "---",
        yaml.safe_dump(huggingface_front_matter(context), sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
        f"# {markdown_text(context.name)}",
        "",
        f"Model: {markdown_text(model_name(result.model))}"
        + (" with a LoRA adapter" if result.model.adapter else "")
        + f", fingerprint {markdown_code(result.model.fingerprint)}"
        + (f", version {markdown_text(context.version)}" if context.version else "")
        + ".",
        "",
        "## Intended use",
        "",
        markdown_text(provider.intended_purpose)
        if provider.intended_purpose
        else "_Intended purpose: human input required (see the dossier)._",
        "",
    ]
    if provider.out_of_scope_use:
        lines += [f"Out of scope: {markdown_text(provider.out_of_scope_use)}", ""]
    if provider.limitations_narrative:
        lines += ["## Limitations", "", markdown_text(provider.limitations_narrative), ""]
    lines += ["## Evaluation", "", "| metric | value | 95% interval | n |", "| --- | --- | --- | --- |"]
    for m in context.summary_metrics:
        if m.value is None:
            continue
        lines.append(f"| {markdown_code(m.name)} | {format_metric_value(m)} | {format_interval(m)} | {m.n} |")
    lines += [
        "",
        f"Gate verdict: {context.report.verdict.verdict.upper() if context.report.verdict else 'none recorded'}. "
        f"Release status: {context.release.status}.",
        "",
        "Intervals, sample sizes and the full evidence are in the dossier and `dossier.json`; those, not this "
        f"card, are the source of truth (harness {__version__}, run {markdown_code(result.run_id)}).",
        "",
    ]
    return "\n".join(lines)


def load_summary(ref: str | Path) -> dict[str, Any]:
    path = Path(ref)
    if path.is_dir():
        path = path / DOSSIER_JSON
    if not path.is_file():
        raise InputError(f"{ref}: no dossier here (expected a dossier folder or its {DOSSIER_JSON})")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(summary, dict):
        raise InputError(f"{path}: not a dossier summary")
    return summary


RISK_JUDGEMENT_FIELDS = ("treatment", "residual", "residual_zone", "accepted", "rationale", "owner", "justification")


def _human_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Provider fields whose text changed between two dossiers (None when a dossier predates recording them)."""
    before, after = old.get("provider"), new.get("provider")
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    return [
        {"field": name, "old": before.get(name), "new": after.get(name)}
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]


def _risk_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Per risk: its zone, and the provider's treatment and residual judgement, where they changed."""
    old_risks = {r["id"]: r for r in old.get("risks", [])}
    out = []
    for r in new.get("risks", []):
        before = old_risks.get(r["id"], {})
        changed = {k: [before.get(k), r.get(k)] for k in ("zone", *RISK_JUDGEMENT_FIELDS) if before.get(k) != r.get(k)}
        if changed:
            out.append({"id": r["id"], "old_zone": before.get("zone"), "new_zone": r.get("zone"), "changed": changed})
    for rid in sorted(set(old_risks) - {r["id"] for r in new.get("risks", [])}):
        out.append({"id": rid, "old_zone": old_risks[rid].get("zone"), "new_zone": None, "changed": {"removed": True}})
    return out


def diff_dossiers(old_ref: str | Path, new_ref: str | Path, *, alpha: float = 0.05) -> dict[str, Any]:
    """What changed between two releases: identity, verdict, datasets, human input, risks, and metric
    deltas with significance."""
    from harness.comparison import compare_run_dirs

    old, new = load_summary(old_ref), load_summary(new_ref)
    paired: dict[str, Any] = {}
    try:
        comparison = compare_run_dirs(old["run_dir"], new["run_dir"], alpha=alpha)
        paired = {c.metric: c for c in comparison.comparisons if c.paired}
    except InputError:
        pass  # the runs are not at hand: metric deltas only, without tests
    old_metrics = {m["name"]: m for m in old["metrics"]}
    deltas = []
    for m in new["metrics"]:
        before = old_metrics.get(m["name"])
        if before is None or m["value"] is None or before["value"] is None:
            continue
        c = paired.get(m["name"])
        deltas.append(
            {
                "metric": m["name"],
                "breakdown": m.get("scope") in BREAKDOWN_SCOPES,
                "unit": m.get("unit"),
                "direction": m.get("direction"),
                "old": before["value"],
                "new": m["value"],
                "change": m["value"] - before["value"],
                "ci": [c.ci_low, c.ci_high] if c else None,
                "p_value": c.p_value if c else None,
                "p_adjusted": c.p_adjusted if c else None,
                "test": c.test if c else None,
                "significant": c.significant if c else None,
            }
        )
    removed = sorted(set(old_metrics) - {m["name"] for m in new["metrics"]})
    risk_changes = _risk_changes(old, new)
    human_recorded = isinstance(old.get("provider"), dict) and isinstance(new.get("provider"), dict)
    return {
        "old": _identity(old),
        "new": _identity(new),
        "model_changed": old["model"]["fingerprint"] != new["model"]["fingerprint"],
        "datasets_added": sorted({d["ref"] for d in new["datasets"]} - {d["ref"] for d in old["datasets"]}),
        "datasets_removed": sorted({d["ref"] for d in old["datasets"]} - {d["ref"] for d in new["datasets"]}),
        "human_input_changes": _human_changes(old, new),
        "human_input_compared": human_recorded,
        "risk_changes": risk_changes,
        "risk_zone_changes": [
            {"id": r["id"], "old_zone": r["old_zone"], "new_zone": r["new_zone"]}
            for r in risk_changes
            if r["old_zone"] != r["new_zone"]
        ],
        "release_changed": (old.get("release") or {}).get("status") != (new.get("release") or {}).get("status"),
        "metric_deltas": deltas,
        "metrics_removed": removed,
        "tested": bool(paired),
        "alpha": alpha,
        "digest": sha256_text(json.dumps([old.get("pdf_sha256"), new.get("pdf_sha256")])),
    }


def _identity(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": summary["run_id"],
        "fingerprint": summary["model"]["fingerprint"],
        "verdict": summary["verdict"],
        "release": (summary.get("release") or {}).get("status"),
        "generated_at": summary["generated_at"],
        "html_sha256": summary.get("html_sha256"),
        "pdf_sha256": summary.get("pdf_sha256"),
    }


def recorded_renderings(store: RunStore, run_id: str) -> list[dict[str, Any]]:
    """The dossier renderings harness recorded for a run, oldest first: audit ``rendering`` events, and the
    store's dossier rows written before renderings were audit events."""
    rows = store.audit_rows(run_id)
    out = [dict(r["entry"]) for r in rows if r["action"] == "rendering" and r["entry"].get("kind") == "dossier"]
    latest = store.latest_dossier(run_id)
    if latest is not None and not any(r.get("html_sha256") == latest["html_sha256"] for r in out):
        out.append(dict(latest))
    return out


def rendering_hashes(rendering: dict[str, Any]) -> set[str]:
    return {h for h in (rendering.get("pdf_sha256"), rendering.get("html_sha256")) if h}


def signature_status(store: RunStore, run_id: str, sha256: str) -> tuple[bool, str]:
    """Whether the rendering with this SHA-256 is signed: only when the run's latest sign-off is for exactly it.

    Returns (signed, one line saying why): a later sign-off of another rendering, or a
    newer rendering, leaves an earlier decision standing for its own file only.
    """
    signoffs = [r["entry"] for r in store.audit_rows(run_id) if r["action"] == "signoff"]
    if not signoffs:
        return False, "not signed: no rendering of this run has been signed"
    latest = signoffs[-1]
    if latest.get("dossier_sha256") == sha256:
        return True, (
            f"signed: {str(latest.get('decision', '')).upper()} by {latest.get('by')} ({latest.get('role')}), "
            f"{latest.get('created_at')}"
        )
    mine = [s for s in signoffs if s.get("dossier_sha256") == sha256]
    if mine:
        return False, (
            f"not signed: its sign-off ({str(mine[-1].get('decision', '')).upper()} by {mine[-1].get('by')}) was "
            "followed by a sign-off of another rendering"
        )
    return False, (
        f"not signed: the latest sign-off ({str(latest.get('decision', '')).upper()} by {latest.get('by')}) is for "
        f"rendering {str(latest.get('dossier_sha256', ''))[:16]}…"
    )
