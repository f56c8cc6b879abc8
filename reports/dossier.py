"""The dossier: EU AI Act technical documentation built from stored evidence alone.

Reads a run (results, items, verdict, comparison with its baseline), the provenance of
the datasets named, the provider's input, the risk criteria and catalogue, and the audit
log; writes ``dossier.html``, an archival ``dossier.pdf`` (PDF/A-3b with the evidence
attached), ``dossier.json`` (the machine-readable summary ``dossier diff`` reads) and
``README.md`` (the Hugging Face model-card form). Nothing is re-evaluated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.reports.provider import PLACEHOLDER_FIELDS, ProviderInput, load_provider_input
from harness.reports.render import (
    is_summary_metric,
    jinja_environment,
    load_comparison,
    load_verdict,
    templates_dir,
)
from harness.reports.risk import build_register, load_catalogue, load_criteria
from harness.suites.forgetting import COMPARISON_FILE

from harness import __version__
from harness.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from harness.errors import InputError
from harness.hashing import sha256_file, sha256_text
from harness.judging import VERDICT_FILE
from harness.results import ITEMS_FILE, RESULTS_FILE, Metric, RunResult, load_results, resolve_results_path
from harness.store import RunStore

DOSSIER_JSON = "dossier.json"
FAILURE_EXAMPLES = 5

# Which provider fields each kind of dossier needs (the rest are not asked for).
MODEL_KIND_FIELDS = (
    "system_name", "provider", "intended_purpose", "forms_of_release", "instructions_for_use", "foreseeable_misuse",
    "design_choices", "data_selection_rationale", "limitations_narrative", "metric_rationale",
)


@dataclass
class DossierPaths:
    html: Path
    pdf: Path | None
    json: Path
    readme: Path
    placeholders: list[str]
    requested_urls: list[str]


def _placeholders(kind: str, provider: ProviderInput, risk_rows: list[Any], signed: bool) -> list[dict[str, str]]:
    fields = MODEL_KIND_FIELDS if kind == "model" else tuple(PLACEHOLDER_FIELDS)
    open_items = [
        {"id": f"ph-{name}", "field": name, "label": PLACEHOLDER_FIELDS[name]}
        for name in fields
        if getattr(provider, name) in (None, "", [])
    ]
    for row in risk_rows:
        if row.residual_severity is None or row.residual_likelihood is None or row.accepted is None:
            open_items.append(
                {"id": f"ph-risk-{row.scenario.id}", "field": f"risks.{row.scenario.id}",
                 "label": f"Treatment, residual risk and acceptance: {row.scenario.title} (Art. 9(5))"}
            )
    if not signed:
        open_items.append(
            {"id": "ph-signoff", "field": "signoff",
             "label": "Dated sign-off of the test report by the responsible person (Annex IV 2(g)): harness signoff"}
        )
    return open_items


def failure_examples(run_dir: Path, items: list[Any], limit: int = FAILURE_EXAMPLES) -> list[dict[str, Any]]:
    """The most confident wrong multiple-choice answers, with their question text from lm-eval's samples."""
    wrong = sorted(
        (r for r in items if r.loglikelihoods and not r.correct and r.confidence is not None and r.variant == "clean"),
        key=lambda r: -(r.confidence or 0.0),
    )[:limit]
    if not wrong:
        return []
    texts: dict[str, dict[str, Any]] = {}
    for path in sorted((run_dir / "lm_eval").glob("*/samples_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            sample = json.loads(line)
            texts.setdefault(sample.get("prompt_hash", ""), sample.get("doc") or {})
    out = []
    for record in wrong:
        doc = texts.get(record.prompt_hash, {})
        choices = doc.get("choices") or record.extra.get("choice_texts") or []
        out.append(
            {
                "item_id": record.item_id,
                "question": str(doc.get("question", "(question text not kept in this run)")),
                "chosen": str(choices[record.prediction]) if choices and isinstance(record.prediction, int) else str(record.prediction),
                "gold": str(choices[record.target]) if choices and isinstance(record.target, int) else str(record.target),
                "confidence": record.confidence,
            }
        )
    return out


def _manifest(files: dict[str, Path]) -> list[dict[str, Any]]:
    return [
        {"name": name, "path": str(path), "sha256": sha256_file(path), "bytes": path.stat().st_size}
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
    criteria_path: str | Path = "risk-criteria",
    catalogue_path: str | Path = "risks",
) -> dict[str, Any]:
    """Everything the dossier template reads, gathered from stored evidence."""
    from harness.reports.charts import interval_bars_svg, risk_heat_map_svg
    from harness.reports.render import report_context
    from markupsafe import Markup

    from harness.data.registry import provenance, provenance_path
    from harness.results import read_items

    results_path = resolve_results_path(run_ref)
    run_dir = results_path.parent
    result = load_results(results_path)
    verdict = load_verdict(run_dir)
    comparison = load_comparison(run_dir)
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
        data_records.append({"ref": ref, "provenance": evidence, "path": path})
        metrics |= {m["name"]: Metric.model_validate(m) for m in evidence["metrics"]}

    criteria, criteria_file = load_criteria(criteria_path)
    catalogue, catalogue_file = load_catalogue(catalogue_path)
    risk_rows = build_register(criteria, catalogue, metrics, result.run_id, provider.risks)
    from harness.audit import verify_chain

    signoffs = [r["entry"] for r in store.audit_rows(result.run_id) if r["action"] == "signoff"]
    chain = verify_chain(store)
    placeholders = _placeholders(kind, provider, risk_rows, signed=any(s.get("decision") == "approve" for s in signoffs))

    base = report_context(result, verdict, comparison)
    charts = dict(base["charts"])
    charts["heat_map"] = Markup(risk_heat_map_svg(risk_rows, criteria))
    robustness = result.details.get("robustness")
    if robustness:
        rows = [("clean", *_triple(metrics.get("robustness.accuracy.clean")))]
        rows += [(p["perturbation"], *_triple(metrics.get(f"robustness.accuracy.{p['perturbation']}"))) for p in robustness["perturbations"]]
        charts["robustness"] = Markup(interval_bars_svg(rows, title="Accuracy under each perturbation (95% CI)", reference=rows[0][1]))
    fairness = result.details.get("fairness")
    if fairness:
        rows = []
        for a in fairness["attributes"]:
            for g in a["groups"]:
                rows.append((f"{a['attribute']}: {g['group']}", *_triple(metrics.get(f"fairness.accuracy.{a['attribute']}.{g['group']}"))))
        overall = metrics.get("fairness.accuracy")
        charts["fairness"] = Markup(interval_bars_svg(rows, title="Accuracy per group (95% CI); dashed: all groups",
                                                      reference=overall.value if overall else None))

    training = None
    record_path = run_dir / "training-record.json"
    if record_path.is_file():
        from harness.reports.charts import training_curves_svg

        training = json.loads(record_path.read_text(encoding="utf-8"))
        charts["training"] = Markup(training_curves_svg(training.get("curves", [])))
    outcome_by_metric: dict[str, Any] = {}
    for o in verdict.outcomes if verdict else []:
        outcome_by_metric.setdefault(o.metric, o)
    artefacts = {
        RESULTS_FILE: results_path,
        ITEMS_FILE: run_dir / ITEMS_FILE,
        VERDICT_FILE: run_dir / VERDICT_FILE,
        COMPARISON_FILE: run_dir / COMPARISON_FILE,
        "training-record.json": run_dir / "training-record.json",
        "policy": Path(verdict.policy_path) if verdict and verdict.policy_path else Path("/nonexistent"),
        "risk criteria": criteria_file,
        "risk catalogue": catalogue_file,
    }
    if verdict and verdict.policy_path and Path(verdict.policy_path).is_file() and sha256_file(Path(verdict.policy_path)) != verdict.policy_sha256:
        artefacts["policy (CHANGED since the verdict)"] = artefacts.pop("policy")
    if provider_path:
        artefacts["provider input"] = Path(provider_path)
    for d in data_records:
        artefacts[f"provenance {d['ref']}"] = d["path"]
    sections = _sections(kind)
    judged = set(outcome_by_metric)
    evaluation_metrics = [
        m for m in sorted(metrics.values(), key=lambda m: m.name)
        if m.name in judged or is_summary_metric(m.name) or m.name.startswith("data.")
    ]
    return base | {
        "kind": kind,
        "provider": provider,
        "placeholders": placeholders,
        "field_labels": PLACEHOLDER_FIELDS,
        "metrics": metrics,
        "all_metrics": sorted(metrics.values(), key=lambda m: m.name),
        "summary_metrics": [m for m in sorted(metrics.values(), key=lambda m: m.name) if is_summary_metric(m.name) or m.name.startswith("data.")],
        "outcome_by_metric": outcome_by_metric,
        "training": training,
        "evaluation_metrics": evaluation_metrics,
        "benchmark_data": benchmark_data_by_suite(result),
        "datasets": data_records,
        "criteria": criteria,
        "catalogue": catalogue,
        "risk_rows": risk_rows,
        "charts": charts,
        "signoffs": signoffs,
        "audit": chain,
        "failure_examples": failure_examples(run_dir, items),
        "manifest": _manifest(artefacts),
        "sections": sections,
        "run_dir": str(run_dir),
        "title": f"{'Technical documentation' if kind == 'system' else 'Model documentation'}: "
                 f"{provider.system_name or (training or {}).get('name') or Path(result.model.adapter or result.model.base).name}",
        "css": Markup((templates_dir() / "report.css").read_text(encoding="utf-8") + (templates_dir() / "dossier.css").read_text(encoding="utf-8")),
    }


def benchmark_data_by_suite(result: RunResult) -> list[dict[str, Any]]:
    """Per suite: how many data files, their rows, and SHA-256 over their digests in order."""
    out: dict[str, dict[str, Any]] = {}
    for use in result.datasets:
        entry = out.setdefault(use.suite, {"suite": use.suite, "files": 0, "rows": 0, "digests": []})
        entry["files"] += 1
        entry["rows"] += use.rows or 0
        entry["digests"].append(use.sha256 or use.source)
    return [
        {"suite": e["suite"], "files": e["files"], "rows": e["rows"], "digest": sha256_text("\n".join(e["digests"]))}
        for e in out.values()
    ]


def _triple(metric: Any) -> tuple[float, float | None, float | None]:
    if metric is None or metric.value is None:
        return (0.0, None, None)
    return (metric.value, metric.ci_low, metric.ci_high)


def _sections(kind: str) -> list[tuple[str, str]]:
    technical = (
        [("annex-iv", "Technical documentation (Annex IV)")]
        if kind == "system"
        else [("annex-xi", "Documentation for authorities (Annex XI)"), ("annex-xii", "Information for downstream providers (Annex XII)")]
    )
    return [
        ("placeholders", "Open human input"),
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


def render_dossier(
    run_ref: str | Path,
    out_dir: Path,
    *,
    store: RunStore,
    datasets: list[str] | None = None,
    provider_path: str | Path | None = None,
    kind: str | None = None,
    pdf: bool = True,
) -> DossierPaths:
    """Write dossier.html, dossier.pdf (PDF/A-3b), dossier.json and README.md into ``out_dir``."""
    from harness.reports.render import _local_fetcher_class, html_to_pdf

    context = build_context(run_ref, store=store, datasets=datasets or [], provider_path=provider_path, kind=kind)
    context["generated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    html = jinja_environment().get_template("dossier.html.j2").render(**context)
    html_path = atomic_write_text(out_dir / "dossier.html", html)
    result: RunResult = context["result"]
    fetcher = _local_fetcher_class()(templates_dir())
    pdf_path = None
    if pdf:
        attachments: dict[str, Path | bytes] = {}
        for entry in context["manifest"]:
            path = Path(entry["path"])
            if entry["name"] == ITEMS_FILE:
                digest = {"file": ITEMS_FILE, "sha256": entry["sha256"], "bytes": entry["bytes"]}
                attachments["items-digest.json"] = json.dumps(digest, indent=2).encode()
            elif entry["name"].startswith("provenance "):
                attachments[f"provenance-{entry['name'].split(' ', 1)[1].replace('@', '-')}.json"] = path
            elif path.suffix == ".json":
                attachments[path.name] = path
        attachments["manifest.json"] = json.dumps(context["manifest"], indent=2).encode()
        pdf_bytes, _ = html_to_pdf(
            html,
            title=context["title"],
            metadata={"fingerprint": result.model.fingerprint, "run_id": result.run_id, "date": context["generated_at"]},
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
            "run_id": result.run_id, "kind": context["kind"], "created_at": context["generated_at"],
            "pdf": str(pdf_path.resolve()) if pdf_path else None, "pdf_sha256": sha256_file(pdf_path) if pdf_path else None,
            "html": str(html_path.resolve()), "html_sha256": sha256_file(html_path),
        }
    )
    return DossierPaths(html=html_path, pdf=pdf_path, json=json_path, readme=readme,
                        placeholders=[p["label"] for p in context["placeholders"]], requested_urls=fetcher.requested)


def dossier_summary(context: dict[str, Any], html_path: Path, pdf_path: Path | None) -> dict[str, Any]:
    result: RunResult = context["result"]
    verdict = context["verdict"]
    return {
        "schema_version": "1",
        "kind": context["kind"],
        "generated_at": context["generated_at"],
        "run_id": result.run_id,
        "run_dir": context["run_dir"],
        "model": result.model.model_dump(mode="json"),
        "verdict": verdict.verdict if verdict else None,
        "policy": verdict.policy if verdict else None,
        "baseline_run_id": verdict.baseline_run_id if verdict else None,
        "metrics": [m.model_dump(mode="json") for m in context["all_metrics"]],
        "datasets": [{"ref": d["ref"], "sha256": d["provenance"]["dataset"]["sha256"]} for d in context["datasets"]],
        "risks": [
            {"id": r.scenario.id, "initial": [r.initial_severity, r.initial_likelihood], "zone": r.initial_zone,
             "residual": [r.residual_severity, r.residual_likelihood], "residual_zone": r.residual_zone}
            for r in context["risk_rows"]
        ],
        "criteria_version": context["criteria"].version,
        "placeholders": [p["label"] for p in context["placeholders"]],
        "manifest": context["manifest"],
        "html_sha256": sha256_file(html_path),
        "pdf_sha256": sha256_file(pdf_path) if pdf_path else None,
    }


def huggingface_readme(context: dict[str, Any]) -> str:
    """The model card in the Hugging Face README form: YAML front matter, then a short card."""
    import yaml

    result: RunResult = context["result"]
    provider: ProviderInput = context["provider"]
    name = provider.system_name or (context.get("training") or {}).get("name") or Path(result.model.adapter or result.model.base).name
    results = []
    for suite, task_type in (("mmlu", "multiple-choice"), ("gsm8k", "text-generation"), ("fairness", "multiple-choice"),
                             ("robustness", "multiple-choice")):
        rows = [m for m in context["all_metrics"] if m.name.startswith(f"{suite}.") and is_summary_metric(m.name) and m.value is not None]
        if rows:
            results.append({
                "task": {"type": task_type, "name": suite},
                "dataset": {"name": suite, "type": {"mmlu": "cais/mmlu", "gsm8k": "openai/gsm8k"}.get(suite, f"harness/{suite}")},
                "metrics": [{"type": m.name.split(".", 1)[1], "value": round(m.value, 4), "name": m.name} for m in rows],
                "source": {"name": f"harness {__version__} run {result.run_id}"},
            })
    front = {
        "license": provider.license or "other",
        "base_model": result.model.base,
        "datasets": [d["ref"] for d in context["datasets"]],
        "tags": ["harness", "eu-ai-act", "peft" if result.model.adapter else "transformers"],
        "model-index": [{"name": name, "results": results}],
    }
    lines = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip(), "---", "", f"# {name}", ""]
    lines.append(provider.intended_purpose or "_Intended purpose: human input required (see the dossier)._")
    lines += ["", "## Evaluation", "", "| metric | value | 95% interval | n |", "| --- | --- | --- | --- |"]
    for m in context["summary_metrics"]:
        if m.value is None:
            continue
        interval = f"{m.ci_low:.4f} to {m.ci_high:.4f}" if m.ci_low is not None else "-"
        lines.append(f"| `{m.name}` | {m.value:.4f} | {interval} | {m.n} |")
    lines += ["", f"Model fingerprint `{result.model.fingerprint}`. Intervals, sample sizes and the full evidence are in the "
              "dossier and `dossier.json`; those, not this card, are the source of truth.", ""]
    return "\n".join(lines)


def load_summary(ref: str | Path) -> dict[str, Any]:
    path = Path(ref)
    if path.is_dir():
        path = path / DOSSIER_JSON
    if not path.is_file():
        raise InputError(f"{ref}: no dossier here (expected a dossier folder or its {DOSSIER_JSON})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def diff_dossiers(old_ref: str | Path, new_ref: str | Path, *, alpha: float = 0.05) -> dict[str, Any]:
    """What changed between two releases: identity, verdict, datasets, risks, and metric deltas with significance."""
    from harness.suites.forgetting import compare_run_dirs

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
        deltas.append({
            "metric": m["name"], "old": before["value"], "new": m["value"], "change": m["value"] - before["value"],
            "ci": [c.ci_low, c.ci_high] if c else None, "p_value": c.p_value if c else None,
            "test": c.test if c else None, "significant": c.significant if c else None,
        })
    removed = sorted(set(old_metrics) - {m["name"] for m in new["metrics"]})
    old_risks = {r["id"]: r for r in old["risks"]}
    risk_changes = [
        {"id": r["id"], "old_zone": old_risks.get(r["id"], {}).get("zone"), "new_zone": r["zone"]}
        for r in new["risks"]
        if old_risks.get(r["id"], {}).get("zone") != r["zone"]
    ]
    return {
        "old": {"run_id": old["run_id"], "fingerprint": old["model"]["fingerprint"], "verdict": old["verdict"], "generated_at": old["generated_at"]},
        "new": {"run_id": new["run_id"], "fingerprint": new["model"]["fingerprint"], "verdict": new["verdict"], "generated_at": new["generated_at"]},
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
