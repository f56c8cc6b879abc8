"""A dossier a regulator can use: every Annex row, honest risk evidence, its own attachments rebuild it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from harness.reports.dossier import render_dossier
from harness.schema.results import Metric, proportion_metric
from harness.store import RunStore
from tests.helpers import invoke, make_result, store_result

INJECTION = '<script>alert(1)</script> <img src="http://x">'
SYSTEM_ROWS = [f"1({c})" for c in "abcdefgh"] + [f"2({c})" for c in "abcdefgh"]
MODEL_ROWS = (
    [f"Annex XI section 1, point {p}" for p in (1, 2)]
    + [f"<dt>1({c})" for c in "abcdef"]
    + [f"<dt>2({c})" for c in "abcde"]
    + ["<dt>1 Evaluation strategies", "<dt>2 Adversarial testing", "<dt>3 System architecture"]
    + ["Annex XII point 1", "Annex XII point 2"]
)


def described(name: str, k: int, n: int, **kind: object) -> Metric:
    return proportion_metric(name, k, n).model_copy(update={"suite": name.split(".")[0]} | kind)


def emergency_run(folder: Path, run_id: str = "20261122T000000Z-run00001", base: str = "models/tiny") -> Path:
    """A stored run with the project's own emergency-response evidence beside general benchmarks."""
    result = make_result(run_id, {"mmlu.accuracy": (70, 100), "gsm8k.exact_match": (3, 4)}, base=base)
    result.metrics += [
        described("domain.accuracy", 30, 40, direction="higher", unit="proportion", chance=0.25),
        described("fairness.flip_rate", 2, 200, direction="lower"),
        described("robustness.consistency.mild_mix", 90, 100, direction="higher", scope="perturbation"),
        described("behaviour.expected_behaviour.typo", 20, 24, direction="higher", scope="subject", slice="typo"),
        described("calibration.selective_accuracy_at_10", 9, 10, direction="higher"),
    ]
    result.suites += ["domain", "calibration"]
    result.suite_status["calibration"] = result.suite_status["mmlu"].model_copy(
        update={"settings": {"sources": ["mmlu"]}}
    )
    return store_result(folder, result)


def section(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end)]


def test_system_dossier_has_a_row_for_every_annex_iv_point_and_a_section_per_article(tmp_path: Path) -> None:
    paths = render_dossier(emergency_run(tmp_path / "runs"), tmp_path / "d", store=RunStore(), pdf=False)
    html = paths.html.read_text(encoding="utf-8")
    annex = section(html, '<section id="annex-iv">', '<section id="instructions">')
    for row in SYSTEM_ROWS:
        assert f"<dt>{row} " in annex, row
    for point in range(3, 10):
        assert f"Annex IV point {point}:" in annex
    for article in ("(Art. 12)", "(Art. 13)", "(Art. 17)", "(Art. 53(1)(c)-(d))", "Input specification"):
        assert article in html, article


def test_model_dossier_has_every_annex_xi_and_xii_item(tmp_path: Path) -> None:
    paths = render_dossier(emergency_run(tmp_path / "runs"), tmp_path / "d", store=RunStore(), kind="model", pdf=False)
    html = paths.html.read_text(encoding="utf-8")
    for row in MODEL_ROWS:
        assert row in html, row
    xii = section(html, '<section id="annex-xii">', '<section id="instructions">')
    for row in [f"<dt>1({c})" for c in "abcdefgh"] + [f"<dt>2({c})" for c in "abc"]:
        assert row in xii, row


def test_every_empty_human_field_is_a_numbered_placeholder_listed_on_the_cover_never_a_dash(tmp_path: Path) -> None:
    paths = render_dossier(emergency_run(tmp_path / "runs"), tmp_path / "d", store=RunStore(), pdf=False)
    html = paths.html.read_text(encoding="utf-8")
    cover = section(html, '<section class="cover">', '<nav class="toc">')
    body = html[html.index('<nav class="toc">') :]
    summary = json.loads(paths.json.read_text())
    numbers = [p["number"] for p in summary["placeholders"]]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) == len(paths.placeholders)
    for p in summary["placeholders"]:
        assert f'<li value="{p["number"]}">' in cover
        assert f"[{p['number']}] Human input required" in html
    assert "[1] Human input required: Name of the AI system or model" in body
    assert not re.search(r"<dd>\s*-\s*</dd>|<td>\s*-\s*</td>|: -[ <]", html)


def test_model_is_named_by_name_and_fingerprint_never_by_its_temporary_path(tmp_path: Path) -> None:
    temp = str(tmp_path / "tmp-x9" / "tiny-model")
    run = emergency_run(tmp_path / "runs", base=temp)
    paths = render_dossier(run, tmp_path / "d", store=RunStore(), pdf=False)
    html = paths.html.read_text(encoding="utf-8")
    before_environment = html[: html.index('<section id="environment">')]
    assert temp not in before_environment and "tiny-model" in before_environment
    assert "sha256:" in before_environment
    readme = paths.readme.read_text(encoding="utf-8")
    assert temp not in readme and yaml.safe_load(readme.split("---")[1])["base_model"] == "tiny-model"


def test_reproduce_is_the_complete_command(tmp_path: Path) -> None:
    from harness.models.modelref import ModelRef
    from harness.runner.spec import SPEC_FILE, RunSpec

    run = emergency_run(tmp_path / "runs")
    spec = RunSpec(
        model=ModelRef("models/tiny", adapter="adapters/lora", dtype="bfloat16"),
        suites=["mmlu", "gsm8k"],
        data_dir="/data/bench",
        limit=4,
        num_fewshot=5,
        gen_kwargs={"max_gen_toks": 64},
    )
    (run / SPEC_FILE).write_text(json.dumps({"spec": spec.to_dict()}), encoding="utf-8")
    paths = render_dossier(run, tmp_path / "d", store=RunStore(), pdf=False)
    command = json.loads(paths.json.read_text())["reproduce"]
    assert command == (
        "harness run models/tiny --adapter adapters/lora --dtype bfloat16 --device cpu --suites mmlu,gsm8k "
        "--limit 4 --num-fewshot 5 --max-gen-toks 64 --data-dir /data/bench"
    )


def test_architecture_and_parameter_count_come_from_the_safetensors_headers(tmp_path: Path) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    from harness.models.architecture import model_architecture

    base = tmp_path / "model"
    base.mkdir()
    config = {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "num_hidden_layers": 2,
        "hidden_size": 8,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 512,
        "vocab_size": 16,
    }
    (base / "config.json").write_text(json.dumps(config))
    save_file(
        {"embed": np.zeros((16, 8), np.float32), "proj": np.zeros((8, 8), np.float16)}, base / "model.safetensors"
    )
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(
        json.dumps({"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj"]})
    )
    save_file(
        {"a": np.zeros((2, 8), np.float32), "b": np.zeros((8, 2), np.float32)}, adapter / "adapter_model.safetensors"
    )
    arch = model_architecture(base, adapter)
    assert (arch.parameters, arch.tensors, arch.dtypes) == (192, 2, {"F32": 128, "F16": 64})
    assert (arch.layers, arch.hidden_size, arch.context_length, arch.vocab_size, arch.model_type) == (
        2,
        8,
        512,
        16,
        "llama",
    )
    assert arch.attention == "grouped-query attention, 4 query heads, 2 key/value heads"
    assert arch.adapter is not None and (arch.adapter.trainable_parameters, arch.adapter.rank) == (32, 2)


def test_the_dossier_shows_the_architecture_the_run_recorded_and_its_context_window_as_input_spec(
    tmp_path: Path,
) -> None:
    from harness.schema.results import load_results, write_results

    run = emergency_run(tmp_path / "runs")
    result = load_results(run)
    architecture = {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "parameters": 139584,
        "stored_dtype": "F32",
        "layers": 2,
        "hidden_size": 64,
        "attention": "grouped-query attention, 4 query heads, 2 key/value heads",
        "context_length": 4096,
        "vocab_size": 512,
        "adapter": None,
    }
    result.environment = result.environment.model_copy(update={"architecture": architecture})
    write_results(run, result)
    paths = render_dossier(run, tmp_path / "d", store=RunStore(), pdf=False)
    html = paths.html.read_text(encoding="utf-8")
    assert "139,584 parameters stored as F32; 2 layers, hidden size 64" in html
    assert "Context window: 4,096 tokens" in html
    assert json.loads(paths.json.read_text())["architecture"]["parameters"] == 139584
    bare = render_dossier(
        emergency_run(tmp_path / "other", "20261122T000000Z-bare0001"), tmp_path / "b", store=RunStore(), pdf=False
    )
    assert "not recorded: this run&#39;s results carry no architecture" in bare.html.read_text(encoding="utf-8")


def test_risk_likelihood_comes_from_the_scenarios_own_items_and_a_small_n_is_insufficient(tmp_path: Path) -> None:
    paths = render_dossier(emergency_run(tmp_path / "runs"), tmp_path / "d", store=RunStore(), pdf=False)
    risks = {r["id"]: r for r in json.loads(paths.json.read_text())["risks"]}
    evacuation = risks["confident-wrong-evacuation-advice"]
    assert (evacuation["metric"], evacuation["basis"], evacuation["status"]) == (
        "domain.accuracy",
        "scenario",
        "measured",
    )
    arithmetic = risks["arithmetic-error-in-resource-estimate"]  # GSM8K, n = 4
    assert (arithmetic["status"], arithmetic["basis"], arithmetic["initial"]) == ("insufficient", "proxy", [4, None])
    noisy = risks["silent-failure-on-noisy-input"]  # 24 typo prompts are too few: the proxy on 100 items
    assert (noisy["metric"], noisy["basis"]) == ("robustness.consistency.mild_mix", "proxy")
    assert risks["harmful-request-assisted"]["status"] == "not-measured"
    html = paths.html.read_text(encoding="utf-8")
    register = section(html, '<section id="risk">', '<section id="changes">')
    assert ">proxy</span>" in register and ">insufficient evidence</span>" in register
    heat_map = register[register.index("<svg") : register.index("</svg>")]
    placed = [r for r in json.loads(paths.json.read_text())["risks"] if r["status"] == "measured"]
    assert heat_map.count('r="7" fill="#333"') == len(placed)


def test_an_unacceptable_residual_risk_blocks_release_until_a_signed_justification(tmp_path: Path) -> None:
    run = emergency_run(tmp_path / "runs")
    provider = tmp_path / "provider.yaml"
    residual = {
        "treatment": "Duty officer confirms.",
        "residual_severity": 5,
        "residual_likelihood": 4,
        "accepted": True,
    }
    provider.write_text(yaml.safe_dump({"risks": {"confident-wrong-evacuation-advice": residual}}))
    paths = render_dossier(run, tmp_path / "d1", store=RunStore(), provider_path=provider, pdf=False)
    summary = json.loads(paths.json.read_text())
    assert paths.release == summary["release"]["status"] == "not releasable"
    assert any("unacceptable zone" in r for r in summary["release"]["reasons"])
    html = paths.html.read_text(encoding="utf-8")
    assert "NOT RELEASABLE" in section(html, '<section class="cover">', "<nav")
    assert "marked accepted, but no justification signed by a named person is recorded" in html
    assert any("Signed justification for keeping risk 1" in p for p in paths.placeholders)

    residual |= {"justification": "No alternative source of advice at night.", "signed_by": "M. K., head of ops"}
    provider.write_text(yaml.safe_dump({"risks": {"confident-wrong-evacuation-advice": residual}}))
    paths = render_dossier(run, tmp_path / "d2", store=RunStore(), provider_path=provider, pdf=False)
    summary = json.loads(paths.json.read_text())
    assert summary["release"]["status"] == "incomplete"  # other risks are still unjudged, none blocks
    assert "with a justification signed by M. K., head of ops" in paths.html.read_text(encoding="utf-8")


def test_a_provider_risk_id_not_in_the_catalogue_is_refused_with_its_line(tmp_path: Path) -> None:
    run = emergency_run(tmp_path / "runs")
    provider = tmp_path / "provider.yaml"
    provider.write_text("system_name: X\nrisks:\n  no-such-risk:\n    accepted: true\n")
    code, _, err = invoke("dossier", str(run), "--out", str(tmp_path / "d"), "--input", str(provider), "--no-pdf")
    assert code == 2 and "provider.yaml:3: risks.no-such-risk: no such risk in the risk catalogue" in err


def _dataset(store: RunStore, folder: Path, name: str, rows: int) -> str:
    from harness.data.registry import register_dataset

    path = folder / f"{name}.jsonl"
    path.write_text("".join(json.dumps({"id": f"{name}-{i}", "text": "x"}) + "\n" for i in range(rows)))
    record, _ = register_dataset(store, path, name=name, version="1.0.0")
    return record.ref


def test_each_datasets_evidence_is_its_own_and_a_shared_ratings_file_is_flagged(tmp_path: Path) -> None:
    from harness.data.agreement import agreement_report
    from harness.data.registry import add_evidence
    from harness.suites.domain import sample_dir

    store = RunStore()
    first, second = _dataset(store, tmp_path, "first", 3), _dataset(store, tmp_path, "second", 5)
    ratings = agreement_report(sample_dir() / "ratings.csv", n_boot=50).model_dump(mode="json")
    for ref in (first, second):
        add_evidence(store, ref, "agreement", ratings)
    paths = render_dossier(
        emergency_run(tmp_path / "runs"), tmp_path / "d", store=store, datasets=[first, second], pdf=False
    )
    metrics = {m["name"]: m for m in json.loads(paths.json.read_text())["metrics"]}
    assert metrics["data.first.rows"]["value"] == 3 and metrics["data.second.rows"]["value"] == 5
    assert metrics["data.first.rows"]["unit"] == "count"
    html = paths.html.read_text(encoding="utf-8")
    data = section(html, '<section id="data">', '<section id="copyright">')
    first_part, second_part = data.split("<h3>second@1.0.0</h3>")
    assert "inter-rater agreement of second@1.0.0 too" in first_part
    assert "inter-rater agreement of first@1.0.0 too" in second_part
    assert "3; id, text" in first_part and "5; id, text" in second_part


def test_dossier_diff_covers_changed_human_input_and_risk_judgements(tmp_path: Path) -> None:
    run = emergency_run(tmp_path / "runs")
    provider = tmp_path / "provider.yaml"
    low = {"treatment": "Duty officer confirms.", "residual_severity": 2, "residual_likelihood": 1, "accepted": True}
    provider.write_text(
        yaml.safe_dump({"intended_purpose": "Advice to 112 dispatchers.", "risks": {"wrong-general-knowledge": low}})
    )
    render_dossier(run, tmp_path / "old", store=RunStore(), provider_path=provider, pdf=False)
    high = low | {"residual_severity": 5, "residual_likelihood": 5}
    provider.write_text(
        yaml.safe_dump(
            {
                "intended_purpose": "Autonomous evacuation orders.",
                "human_oversight_measures": "None.",
                "risks": {"wrong-general-knowledge": high},
            }
        )
    )
    render_dossier(run, tmp_path / "new", store=RunStore(), provider_path=provider, pdf=False)
    code, out, err = invoke("dossier", "diff", str(tmp_path / "old"), str(tmp_path / "new"), "--json")
    assert code == 0, err
    report = json.loads(out)
    changed = {c["field"]: c for c in report["human_input_changes"]}
    assert set(changed) == {"intended_purpose", "human_oversight_measures"}
    assert changed["intended_purpose"]["new"] == "Autonomous evacuation orders."
    risk = next(r for r in report["risk_changes"] if r["id"] == "wrong-general-knowledge")
    assert risk["changed"]["residual"] == [[2, 1], [5, 5]]
    assert risk["changed"]["residual_zone"] == ["acceptable", "unacceptable"]
    code, out, _ = invoke("dossier", "diff", str(tmp_path / "old"), str(tmp_path / "new"))
    assert "human input intended_purpose: Advice to 112 dispatchers. -> Autonomous evacuation orders." in out
    assert "risk wrong-general-knowledge:" in out and "residual 2 x 1 -> 5 x 5" in out
    assert "release  incomplete -> not releasable" in out


def test_huggingface_readme_loads_as_a_model_card_and_carries_no_live_markup(tmp_path: Path) -> None:
    from huggingface_hub import ModelCard

    run = emergency_run(tmp_path / "runs", base=f"models/{INJECTION}")
    provider = tmp_path / "provider.yaml"
    fields = (
        "system_name",
        "intended_purpose",
        "out_of_scope_use",
        "limitations_narrative",
        "license",
        "system_version",
    )
    provider.write_text(yaml.safe_dump(dict.fromkeys(fields, INJECTION)))
    paths = render_dossier(run, tmp_path / "d", store=RunStore(), provider_path=provider, pdf=False)
    text = paths.readme.read_text(encoding="utf-8")
    assert "<script" not in text and "<img" not in text and "http://x" not in text.split("---")[1]
    card = ModelCard.load(paths.readme)
    results = card.data.eval_results
    assert results and all(r.task_type and r.dataset_type and r.dataset_name and r.metric_type for r in results)
    assert {r.metric_value for r in results if r.metric_type == "accuracy" and r.dataset_name == "mmlu"} == {0.7}


def _judged_run(tmp_path: Path, store: RunStore) -> tuple[Path, str]:
    from harness.gate.judging import judge_run
    from harness.schema.results import load_results

    base = make_result("20261121T000000Z-base0001", {"mmlu.accuracy": (72, 100), "gsm8k.exact_match": (40, 50)})
    base_dir = store_result(tmp_path / "runs", base)
    store.index_run(base, base_dir)
    run_dir = emergency_run(tmp_path / "runs")
    ref = _dataset(store, tmp_path, "instructions", 7)
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "name": "rebuild",
                "version": 1,
                "rules": [
                    {
                        "id": "mmlu-min",
                        "metric": "mmlu.accuracy",
                        "min": 0.6,
                        "severity": "block",
                        "article": "EU AI Act Art. 15(1)",
                        "why": "w",
                    },
                    {
                        "id": "mmlu-drop",
                        "metric": "mmlu.accuracy",
                        "max_drop": 0.05,
                        "severity": "block",
                        "article": "EU AI Act Art. 15(1)",
                        "why": "w",
                    },
                    {
                        "id": "domain-chance",
                        "metric": "domain.accuracy",
                        "above_chance": True,
                        "severity": "warn",
                        "article": "EU AI Act Art. 15(1)",
                        "why": "w",
                    },
                    {
                        "id": "rows",
                        "metric": "data.*.rows",
                        "min": 5,
                        "severity": "block",
                        "article": "EU AI Act Art. 10(3)",
                        "why": "w",
                    },
                ],
            }
        )
    )
    judge_run(policy, load_results(run_dir), run_dir, base, store, base_dir, [ref])
    return run_dir, ref


def test_the_pdf_attachments_alone_rebuild_the_verdict_and_the_risk_register(tmp_path: Path) -> None:
    from harness.gate.evaluate import evaluate_policy
    from harness.gate.policy import load_policy
    from harness.reports.provider import load_provider_input
    from harness.reports.risk import build_register, item_sources, load_catalogue, load_criteria
    from harness.schema.comparison import RunComparison
    from harness.schema.results import RunResult
    from harness.schema.verdict import Verdict

    store = RunStore()
    run_dir, ref = _judged_run(tmp_path, store)
    provider = tmp_path / "provider.yaml"
    residual = {"treatment": "t", "residual_severity": 3, "residual_likelihood": 2, "accepted": True}
    provider.write_text(yaml.safe_dump({"risks": {"wrong-general-knowledge": residual}}))
    paths = render_dossier(run_dir, tmp_path / "d", store=store, provider_path=provider)
    assert paths.pdf is not None
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    for name, contents in PdfReader(paths.pdf).attachments.items():
        (extracted / name).write_bytes(contents[0])
    names = {p.name for p in extracted.iterdir()}
    assert {
        "results.json",
        "baseline-results.json",
        "verdict.json",
        "policy.yaml",
        "risk-criteria.yaml",
        "risks.yaml",
    } <= names
    assert {"provider.yaml", "manifest.json", f"provenance-{ref.replace('@', '-')}.json"} <= names

    def read(name: str) -> dict:
        return json.loads((extracted / name).read_text(encoding="utf-8"))

    result = RunResult.model_validate(read("results.json"))
    baseline = RunResult.model_validate(read("baseline-results.json"))
    stored = Verdict.model_validate(read("verdict.json"))
    comparisons = list(extracted.glob("comparison-*.json"))
    comparison = RunComparison.model_validate_json(comparisons[0].read_text()) if comparisons else None
    provenance = read(f"provenance-{ref.replace('@', '-')}.json")
    datasets = {ref: [Metric.model_validate(m) for m in provenance["metrics"]]}
    policy, _ = load_policy(extracted / "policy.yaml")
    rebuilt = evaluate_policy(policy, result, baseline, comparison=comparison, datasets=datasets)
    assert rebuilt.verdict == stored.verdict
    keep = ("rule_id", "outcome", "blocking", "value", "n", "ci_low", "ci_high", "change", "p_value", "chance")
    assert [o.model_dump(include=set(keep)) for o in rebuilt.outcomes] == [
        o.model_dump(include=set(keep)) for o in stored.outcomes
    ]

    criteria, _ = load_criteria(extracted / "risk-criteria.yaml")
    catalogue, _ = load_catalogue(extracted / "risks.yaml")
    residuals = load_provider_input(extracted / "provider.yaml", catalogue_ids=[r.id for r in catalogue.risks]).risks
    metrics = result.metric_map() | {m.name: m for ms in datasets.values() for m in ms}
    register = build_register(criteria, catalogue, metrics, result.run_id, residuals, item_sources(result))
    shown = json.loads(paths.json.read_text())["risks"]
    assert [
        (r.scenario.id, [r.initial_severity, r.initial_likelihood], r.initial_zone, r.residual_zone) for r in register
    ] == [(r["id"], r["initial"], r["zone"], r["residual_zone"]) for r in shown]


def test_a_promoted_run_shows_its_registry_version(tmp_path: Path) -> None:
    from harness.store.audit import record_event

    run = emergency_run(tmp_path / "runs")
    store = RunStore()
    promotion = {
        "name": "fire-advisor",
        "version": "1.0.0",
        "why": "first release",
        "policy": "demo",
        "verdict": "pass",
    }
    record_event(store, "20261122T000000Z-run00001", "promotion", promotion)
    paths = render_dossier(run, tmp_path / "d", store=store, pdf=False)
    html = paths.html.read_text(encoding="utf-8")
    cover = html[: html.index('<nav class="toc">')]
    assert "version 1.0.0" in cover and "Version -" not in html
    assert json.loads(paths.json.read_text())["version"] == "1.0.0"
    assert not any(p.startswith("Version as released") for p in paths.placeholders)
    assert "version 1.0.0" in paths.readme.read_text(encoding="utf-8")


def test_the_training_record_gives_hardware_time_compute_and_an_energy_estimate_that_says_so(tmp_path: Path) -> None:
    from harness.training.trainer import energy_estimate

    energy = energy_estimate({"power_w": 20.0, "power_source": "an assumed 10 W per CPU thread used x 2 threads"}, 3600)
    assert energy["kwh"] == pytest.approx(0.02) and energy["estimate"] is True
    assert (
        energy["method"].startswith("estimate: 20 W (an assumed 10 W per CPU thread")
        and "not a measurement" in energy["method"]
    )
    run = emergency_run(tmp_path / "runs")
    hyper = {
        "lora": {"rank": 16, "alpha": 32, "dropout": 0.05, "target_modules": ["q_proj"]},
        "learning_rate": 0.01,
        "schedule": {"warmup_ratio": 0.1, "min_lr": 0.0004, "cycles": 0.5},
        "batch_size": 8,
        "gradient_accumulation": 1,
        "epochs": 3,
        "weight_decay": 0.0,
        "seed": 0,
        "early_stopping": {"patience": 3, "threshold": 0.001},
    }
    record = {
        "name": "fire-advisor",
        "base_model": "models/tiny",
        "base_fingerprint": "sha256:" + "cd" * 32,
        "adapter_fingerprint": "sha256:" + "ab" * 32,
        "config_sha256": "0" * 64,
        "datasets": [{"ref": "emergency-instructions@1.0.0", "sha256": "1" * 64, "weight": 1.0}],
        "examples": {"train": 160, "eval": 40},
        "hyperparameters": hyper,
        "steps": 60,
        "max_steps": 60,
        "stopped_early": False,
        "seconds": 3600.0,
        "curves": [],
        "hardware": {"description": "CPU Xeon, 2 threads used of 2", "power_w": 20.0},
        "tokens": {"train_set": 1000, "epochs": 3.0, "trained": 3000},
        "compute": {"flops": 2.5e12, "parameters": 139584, "method": "estimate: 6 x parameters x tokens processed"},
        "energy": energy,
    }
    (run / "training-record.json").write_text(json.dumps(record), encoding="utf-8")
    paths = render_dossier(run, tmp_path / "d", store=RunStore(), pdf=False)
    html = paths.html.read_text(encoding="utf-8")
    training = html[html.index("Training record (Annex IV 2(a)-(c))") :]
    assert "CPU Xeon, 2 threads used of 2" in training and "3,000 tokens processed" in training
    assert "about 2.50e+12 FLOP (estimate: 6 x parameters x tokens processed)" in training
    assert "0.02 kWh (estimate: 20 W" in training
    assert "Training: 60 optimiser steps in 3600 s on CPU Xeon" in html


def test_huggingface_readme_carries_the_generated_behaviour_suites_metrics(tmp_path: Path) -> None:
    from huggingface_hub import ModelCard

    result = make_result(
        "20261122T000000Z-gen00001",
        {"mmlu.accuracy": (70, 100), "behaviour.expected_behaviour": (20, 24), "structured.valid_json": (45, 50)},
    )
    paths = render_dossier(store_result(tmp_path / "runs", result), tmp_path / "d", store=RunStore(), pdf=False)
    readme = paths.readme.read_text(encoding="utf-8")
    values = {(r.dataset_name, r.metric_type): r.metric_value for r in ModelCard.load(paths.readme).data.eval_results}
    assert values[("behaviour", "expected_behaviour")] == round(20 / 24, 4)
    assert values[("structured", "valid_json")] == 0.9
    assert "| `behaviour.expected_behaviour` | 83.3% |" in readme and "| 24 |" in readme


def test_the_dossier_shows_a_generated_suites_failing_items_escaped(tmp_path: Path) -> None:
    result = make_result("20261122T000000Z-gen00002", {"safety.refusal_rate": (18, 24)})
    result.details["safety"] = {
        "failures": [{"id": "safety/s-3", "prompt": INJECTION, "answer": f"Sure: {INJECTION}", "why": "not refused"}]
    }
    paths = render_dossier(store_result(tmp_path / "runs", result), tmp_path / "d", store=RunStore(), pdf=False)
    html = paths.html.read_text(encoding="utf-8")
    failures = html[html.index("First 1 failed items") :]
    assert "Sure: &lt;script&gt;alert(1)&lt;/script&gt;" in failures and "not refused" in failures
    assert "<script>alert" not in html and '<img src="http' not in html
    rate = html[html.index('data-metric="safety.refusal_rate"') :]
    assert re.match(
        r'[^\n]*75\.0%</td><td class="num">5[0-9]\.[0-9]% to 8[0-9]\.[0-9]%</td><td class="num">24</td>', rate
    )
