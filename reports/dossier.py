"""The dossier: EU AI Act technical documentation built from stored evidence alone.

Reads a run (results, items, verdict, comparison with its baseline), the provenance of
the datasets named, the provider's input, the risk criteria and catalogue, and the audit
log; writes ``dossier.html``, an archival ``dossier.pdf`` (PDF/A-3b with the evidence
attached), ``dossier.json`` (the machine-readable summary ``dossier diff`` reads) and
``README.md`` (the Hugging Face model-card form). Nothing is re-evaluated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from markupsafe import Markup

from harness import __version__
from harness.errors import InputError
from harness.files.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from harness.files.hashing import sha256_file, sha256_text
from harness.reports.context import ReportContext
from harness.reports.provider import PLACEHOLDER_FIELDS, ProviderInput, load_provider_input
from harness.reports.render import (
    jinja_environment,
    load_verdict,
    report_context,
    stylesheet,
    templates_dir,
    verdict_comparison,
)
from harness.reports.risk import RiskCatalogue, RiskCriteria, RiskRow, build_register, load_catalogue, load_criteria
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
from harness.schema.verdict import VERDICT_FILE, RuleOutcome
from harness.store.audit import ChainCheck
from harness.store.runs import RunStore

DOSSIER_JSON = "dossier.json"
FAILURE_EXAMPLES = 5
TRAINING_RECORD = "training-record.json"

# Which provider fields each kind of dossier needs (the rest are not asked for).
MODEL_KIND_FIELDS = (
    "system_name",
    "provider",
    "intended_purpose",
    "forms_of_release",
    "instructions_for_use",
    "foreseeable_misuse",
    "design_choices",
    "data_selection_rationale",
    "limitations_narrative",
    "metric_rationale",
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


@dataclass(frozen=True)
class Placeholder:
    id: str
    field: str
    label: str


@dataclass(frozen=True)
class DatasetEvidence:
    """A dataset version's provenance as read once from the store, and where it was written."""

    ref: str
    provenance: dict[str, Any]
    path: Path


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
    signoffs: list[dict[str, Any]]
    audit: ChainCheck
    failure_examples: list[FailureExample]
    manifest: list[ManifestEntry]
    run_dir: Path
    title: str
    css: Markup
    generated_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def result(self) -> RunResult:
        return self.report.result

    @property
    def comparison(self) -> RunComparison | None:
        return self.report.comparison

    @property
    def name(self) -> str:
        """The released name: the provider's, the trained adapter's registry name, or the model folder's."""
        return (
            self.provider.system_name
            or (self.training or {}).get("name")
            or Path(self.result.model.adapter or self.result.model.base).name
        )

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
    def evidence(self) -> dict[str, Metric | None]:
        return {point: self.metrics.get(name) for point, name in ANNEX_EVIDENCE.items()}

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
            ("evaluation", "Evaluation report (Art. 15)"),
            ("bias-audit", "Bias audit (Art. 10(2)(f))"),
            ("data", "Data provenance log (Art. 10)"),
            ("risk", "Risk register (Art. 9)"),
            ("changes", "Change log against the baseline (Annex IV 6)"),
            ("signoffs", "Sign-offs (Annex IV 2(g), Art. 14)"),
            ("environment", "Environment and reproducibility (Art. 12)"),
            ("manifest", "Integrity manifest"),
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
            "audit": self.audit,
            "failure_examples": self.failure_examples,
            "manifest": self.manifest,
            "toc": self.toc,
            "benchmark_data": self.benchmark_data(),
            "evidence": self.evidence,
            "title": self.title,
            "css": self.css,
            "generated_at": self.generated_at,
        }


def _placeholders(kind: str, provider: ProviderInput, risk_rows: list[RiskRow], signed: bool) -> list[Placeholder]:
    fields = MODEL_KIND_FIELDS if kind == "model" else tuple(PLACEHOLDER_FIELDS)
    open_items = [
        Placeholder(id=f"ph-{name}", field=name, label=PLACEHOLDER_FIELDS[name])
        for name in fields
        if getattr(provider, name) in (None, "", [])
    ]
    for row in risk_rows:
        if row.residual_severity is None or row.residual_likelihood is None or row.accepted is None:
            open_items.append(
                Placeholder(
                    id=f"ph-risk-{row.scenario.id}",
                    field=f"risks.{row.scenario.id}",
                    label=f"Treatment, residual risk and acceptance: {row.scenario.title} (Art. 9(5))",
                )
            )
    if not signed:
        open_items.append(
            Placeholder(
                id="ph-signoff",
                field="signoff",
                label="Dated sign-off of the test report by the responsible person (Annex IV 2(g)): harness signoff",
            )
        )
    return open_items


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
) -> DossierContext:
    """Everything the dossier shows, gathered from stored evidence.

    ``comparison`` is the paired comparison the change log shows; without one, the
    comparison the verdict was judged with (if any).
    """
    from harness.comparison import comparison_path
    from harness.data.registry import provenance, provenance_path
    from harness.reports.charts import risk_heat_map_svg, training_curves_svg
    from harness.schema.results import read_items
    from harness.store.audit import verify_chain

    results_path = resolve_results_path(run_ref)
    run_dir = results_path.parent
    result = load_results(results_path)
    verdict = load_verdict(run_dir)
    if comparison is None:
        comparison = verdict_comparison(run_dir, verdict)
    report = report_context(result, verdict, comparison)
    provider = load_provider_input(provider_path)
    kind = kind or provider.kind or "system"
    items = read_items(run_dir / ITEMS_FILE) if (run_dir / ITEMS_FILE).is_file() else []

    data_records = []
    metrics = result.metric_map()
    names = [ref.split("@")[0] for ref in datasets]
    if len(set(names)) != len(names):
        raise InputError(f"give one version per dataset: {', '.join(datasets)} name one dataset twice")
    for ref in datasets:
        evidence = provenance(store, ref)  # one read of the store: kept as provenance.json and shown
        path = atomic_write_json(provenance_path(ref), evidence)
        data_records.append(DatasetEvidence(ref=ref, provenance=evidence, path=path))
        metrics |= {m["name"]: Metric.model_validate(m) for m in evidence["metrics"]}

    criteria, criteria_file = load_criteria(criteria_path)
    catalogue, catalogue_file = load_catalogue(catalogue_path)
    risk_rows = build_register(criteria, catalogue, metrics, result.run_id, provider.risks)
    signoffs = [r["entry"] for r in store.audit_rows(result.run_id) if r["action"] == "signoff"]
    placeholders = _placeholders(
        kind, provider, risk_rows, signed=any(s.get("decision") == "approve" for s in signoffs)
    )

    charts = {"heat_map": Markup(risk_heat_map_svg(risk_rows, criteria))}
    training = None
    if (run_dir / TRAINING_RECORD).is_file():
        training = json.loads((run_dir / TRAINING_RECORD).read_text(encoding="utf-8"))
        charts["training"] = Markup(training_curves_svg(training.get("curves", [])))
    outcome_by_metric: dict[str, RuleOutcome] = {}
    for o in verdict.outcomes if verdict else []:
        outcome_by_metric.setdefault(o.metric, o)
    artefacts = {
        RESULTS_FILE: results_path,
        ITEMS_FILE: run_dir / ITEMS_FILE,
        VERDICT_FILE: run_dir / VERDICT_FILE,
        TRAINING_RECORD: run_dir / TRAINING_RECORD,
        "policy": Path(verdict.policy_path) if verdict and verdict.policy_path else Path("/nonexistent"),
        "risk criteria": criteria_file,
        "risk catalogue": catalogue_file,
    }
    if comparison is not None:
        stored = comparison_path(run_dir, comparison.reference_run)
        if stored is not None:
            artefacts[comparison_file_name(comparison.reference_run)] = stored
    if (
        verdict
        and verdict.policy_path
        and Path(verdict.policy_path).is_file()
        and sha256_file(Path(verdict.policy_path)) != verdict.policy_sha256
    ):
        artefacts["policy (CHANGED since the verdict)"] = artefacts.pop("policy")
    if provider_path:
        artefacts["provider input"] = Path(provider_path)
    for d in data_records:
        artefacts[f"provenance {d.ref}"] = d.path
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
        audit=verify_chain(store),
        failure_examples=failure_examples(run_dir, items),
        manifest=_manifest(artefacts),
        run_dir=run_dir,
        title="",
        css=stylesheet("report.css", "dossier.css"),
    )
    context.title = f"{'Technical documentation' if kind == 'system' else 'Model documentation'}: {context.name}"
    return context


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
) -> DossierPaths:
    """Write dossier.html, dossier.pdf (PDF/A-3b), dossier.json and README.md into ``out_dir``."""
    from harness.reports.render import html_to_pdf, local_fetcher

    context = build_context(
        run_ref, store=store, datasets=datasets or [], provider_path=provider_path, kind=kind, comparison=comparison
    )
    html = jinja_environment().get_template("dossier.html.j2").render(**context.template_vars())
    html_path = atomic_write_text(out_dir / "dossier.html", html)
    result = context.result
    fetcher = local_fetcher(templates_dir())
    pdf_path = None
    if pdf:
        attachments: dict[str, Path | bytes] = {}
        for entry in context.manifest:
            path = Path(entry.path)
            if entry.name == ITEMS_FILE:
                digest = {"file": ITEMS_FILE, "sha256": entry.sha256, "bytes": entry.bytes}
                attachments["items-digest.json"] = json.dumps(digest, indent=2).encode()
            elif entry.name.startswith("provenance "):
                attachments[f"provenance-{entry.name.split(' ', 1)[1].replace('@', '-')}.json"] = path
            elif path.suffix == ".json":
                attachments[path.name] = path
        attachments["manifest.json"] = json.dumps([e.__dict__ for e in context.manifest], indent=2).encode()
        pdf_bytes, _ = html_to_pdf(
            html,
            title=context.title,
            metadata={"fingerprint": result.model.fingerprint, "run_id": result.run_id, "date": context.generated_at},
            attachments=attachments,
            pdf_variant="pdf/a-3b",
            fetcher=fetcher,
        )
        pdf_path = atomic_write_bytes(out_dir / "dossier.pdf", pdf_bytes)
    summary = dossier_summary(context, html_path, pdf_path)
    json_path = atomic_write_json(out_dir / DOSSIER_JSON, summary)
    readme = atomic_write_text(out_dir / "README.md", huggingface_readme(context))
    store.record_dossier(
        {
            "run_id": result.run_id,
            "kind": context.kind,
            "created_at": context.generated_at,
            "pdf": str(pdf_path.resolve()) if pdf_path else None,
            "pdf_sha256": sha256_file(pdf_path) if pdf_path else None,
            "html": str(html_path.resolve()),
            "html_sha256": sha256_file(html_path),
        }
    )
    return DossierPaths(
        html=html_path,
        pdf=pdf_path,
        json=json_path,
        readme=readme,
        placeholders=[p.label for p in context.placeholders],
        requested_urls=fetcher.requested,
    )


def dossier_summary(context: DossierContext, html_path: Path, pdf_path: Path | None) -> dict[str, Any]:
    result = context.result
    verdict = context.report.verdict
    return {
        "schema_version": "1",
        "kind": context.kind,
        "generated_at": context.generated_at,
        "run_id": result.run_id,
        "run_dir": str(context.run_dir),
        "model": result.model.model_dump(mode="json"),
        "verdict": verdict.verdict if verdict else None,
        "policy": verdict.policy if verdict else None,
        "baseline_run_id": verdict.baseline_run_id if verdict else None,
        "metrics": [m.model_dump(mode="json") for m in context.all_metrics],
        "datasets": [{"ref": d.ref, "sha256": d.provenance["dataset"]["sha256"]} for d in context.datasets],
        "risks": [
            {
                "id": r.scenario.id,
                "initial": [r.initial_severity, r.initial_likelihood],
                "zone": r.initial_zone,
                "residual": [r.residual_severity, r.residual_likelihood],
                "residual_zone": r.residual_zone,
            }
            for r in context.risk_rows
        ],
        "criteria_version": context.criteria.version,
        "placeholders": [p.label for p in context.placeholders],
        "manifest": [e.__dict__ for e in context.manifest],
        "html_sha256": sha256_file(html_path),
        "pdf_sha256": sha256_file(pdf_path) if pdf_path else None,
    }


# Hub datasets of the benchmarks whose standard data harness reads; other suites are named harness/<suite>.
HF_DATASETS = {"mmlu": "cais/mmlu", "gsm8k": "openai/gsm8k"}


def huggingface_readme(context: DossierContext) -> str:
    """The model card in the Hugging Face README form: YAML front matter, then a short card."""
    import yaml

    result = context.result
    provider = context.provider
    results = []
    for section in context.report.sections:
        rows = [m for m in section.summary if m.value is not None and m.unit == "proportion"]
        if not rows:
            continue
        generative = "generate_until" in section.status.settings.get("task_outputs", [])
        results.append(
            {
                "task": {"type": "text-generation" if generative else "multiple-choice", "name": section.name},
                "dataset": {"name": section.name, "type": HF_DATASETS.get(section.name, f"harness/{section.name}")},
                "metrics": [
                    {"type": m.name.removeprefix(f"{section.name}."), "value": round(m.value or 0.0, 4), "name": m.name}
                    for m in rows
                ],
                "source": {"name": f"harness {__version__} run {result.run_id}"},
            }
        )
    front = {
        "license": provider.license or "other",
        "base_model": result.model.base,
        "datasets": [d.ref for d in context.datasets],
        "tags": ["harness", "eu-ai-act", "peft" if result.model.adapter else "transformers"],
        "model-index": [{"name": context.name, "results": results}],
    }
    lines = [
        "---",
        yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
        f"# {context.name}",
        "",
    ]
    lines.append(provider.intended_purpose or "_Intended purpose: human input required (see the dossier)._")
    lines += ["", "## Evaluation", "", "| metric | value | 95% interval | n |", "| --- | --- | --- | --- |"]
    for m in context.summary_metrics:
        if m.value is None:
            continue
        interval = f"{m.ci_low:.4f} to {m.ci_high:.4f}" if m.ci_low is not None and m.ci_high is not None else "-"
        lines.append(f"| `{m.name}` | {m.value:.4f} | {interval} | {m.n} |")
    lines += [
        "",
        f"Model fingerprint `{result.model.fingerprint}`. Intervals, sample sizes and the full evidence are in the "
        "dossier and `dossier.json`; those, not this card, are the source of truth.",
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


def diff_dossiers(old_ref: str | Path, new_ref: str | Path, *, alpha: float = 0.05) -> dict[str, Any]:
    """What changed between two releases: identity, verdict, datasets, risks, and metric deltas with significance."""
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
                "old": before["value"],
                "new": m["value"],
                "change": m["value"] - before["value"],
                "ci": [c.ci_low, c.ci_high] if c else None,
                "p_value": c.p_value if c else None,
                "test": c.test if c else None,
                "significant": c.significant if c else None,
            }
        )
    removed = sorted(set(old_metrics) - {m["name"] for m in new["metrics"]})
    old_risks = {r["id"]: r for r in old["risks"]}
    risk_changes = [
        {"id": r["id"], "old_zone": old_risks.get(r["id"], {}).get("zone"), "new_zone": r["zone"]}
        for r in new["risks"]
        if old_risks.get(r["id"], {}).get("zone") != r["zone"]
    ]
    return {
        "old": {
            "run_id": old["run_id"],
            "fingerprint": old["model"]["fingerprint"],
            "verdict": old["verdict"],
            "generated_at": old["generated_at"],
        },
        "new": {
            "run_id": new["run_id"],
            "fingerprint": new["model"]["fingerprint"],
            "verdict": new["verdict"],
            "generated_at": new["generated_at"],
        },
        "model_changed": old["model"]["fingerprint"] != new["model"]["fingerprint"],
        "datasets_added": sorted({d["ref"] for d in new["datasets"]} - {d["ref"] for d in old["datasets"]}),
        "datasets_removed": sorted({d["ref"] for d in old["datasets"]} - {d["ref"] for d in new["datasets"]}),
        "metric_deltas": deltas,
        "metrics_removed": removed,
        "risk_zone_changes": risk_changes,
        "tested": bool(paired),
        "alpha": alpha,
        "digest": sha256_text(json.dumps([old.get("pdf_sha256"), new.get("pdf_sha256")])),
    }
