"""The dossier's Annex IV point 9 section: the Art. 72 monitoring plan, and the results of harness monitor when given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from markupsafe import escape

from harness.errors import InputError, PolicyError
from harness.files.hashing import sha256_file
from harness.monitoring.analysis import analyse
from harness.monitoring.logs import read_logs
from harness.monitoring.plan import changelog_entries, monitoring_plan
from harness.monitoring.policy import load_monitoring_policy
from harness.monitoring.render import write_monitoring
from harness.monitoring.results import load_monitoring_results
from harness.monitoring.sample import SampleSpec, write_sample_logs
from harness.reports.dossier import render_dossier
from harness.reports.monitoring_section import load_monitoring_section, plan_from_policy
from harness.store import RunStore
from tests.helpers import invoke, make_result, store_result

RUN_ID = "20261122T000000Z-abcdef12"
BASELINE = {"domain.accuracy": (950, 1000), "mmlu.accuracy": (70, 100)}


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    return store_result(tmp_path / "runs", make_result(RUN_ID, BASELINE))


def monitored(tmp_path: Path, run_dir: Path, *, incident: bool = True) -> Path:
    """monitoring.json of generated logs judged against the run at ``run_dir`` (an error burst at request 900)."""
    spec = SampleSpec(requests=1200, seed=3, incident_at=900 if incident else None)
    truth = write_sample_logs(tmp_path / "logs.jsonl", spec)
    policy, path = load_monitoring_policy("monitoring")
    report = analyse(
        read_logs([truth.path]), policy=policy, policy_path=path, baseline_run=make_result(RUN_ID, BASELINE)
    )
    out = tmp_path / "monitoring"
    write_monitoring(report, out, html=False, pdf=False)
    return out


def test_the_plan_read_by_the_dossier_matches_the_plan_harness_monitor_applies() -> None:
    section = plan_from_policy("monitoring")
    policy, path = load_monitoring_policy("monitoring")
    applied = monitoring_plan(policy, path)
    assert [(i.id, i.threshold, i.action, i.owner, i.article) for i in section.indicators] == [
        (i["id"], i["threshold"], i["action"], i["owner"], i["article"]) for i in applied["indicators"]
    ]
    assert [(p.phase, p.traffic, p.duration, list(p.criteria)) for p in section.phases] == [
        (p["phase"], p["traffic"], p["duration"], p["criteria"]) for p in applied["canary"]
    ]
    assert section.roles == applied["roles"] and section.policy_sha256 == applied["policy"]["sha256"]
    assert {i.id for i in section.rollback_triggers} == {"error-rate", "complaints"}


def test_dossier_without_monitoring_results_prints_the_art_72_plan_of_the_shipped_policy(
    run_dir: Path, tmp_path: Path
) -> None:
    paths = render_dossier(run_dir, tmp_path / "d", store=RunStore(), pdf=False)
    html = paths.html.read_text(encoding="utf-8")
    plan = html[html.index("Annex IV point 9") :]
    for text in (
        "monitoring policy <strong>monitoring</strong>",
        "realised accuracy",
        "fall below the baseline &gt; 0.1, significant",
        "error rate &gt; 0.05",
        "complaints in a window &gt; 10",
        "canary at 5% of traffic for 24h (error rate &lt; 0.01; latency p95 &lt; 2000 ms)",
        "rollback decision",
        "EU AI Act Art. 72(2)",
        "No monitoring results were given",
    ):
        assert text in plan, text


def test_dossier_of_a_monitored_model_contains_the_plan_and_the_monitoring_results(
    run_dir: Path, tmp_path: Path
) -> None:
    folder = monitored(tmp_path, run_dir)
    results = load_monitoring_results(folder)
    assert results.rollback.triggered
    code, out, err = invoke(
        "dossier", "build", str(run_dir), "--out", str(tmp_path / "d"), "--monitoring", str(folder), "--no-pdf"
    )
    assert code == 0, err
    html = (tmp_path / "d" / "dossier.html").read_text(encoding="utf-8")
    section = html[html.index("Annex IV point 9") :]
    assert "Monitoring results" in section and "a rollback trigger fired" in section
    stream = results.streams[0]
    assert f">{stream.model}</code>" in section and stream.begins[:16].replace("T", " ") in section
    assert "error-rate x" in section and str(escape(results.rollback.reasons[0])) in section
    assert f"baseline run <code>{RUN_ID}</code>" in section and "not this document" not in section
    # the results file is evidence: in the manifest with its digest; its rows join the change log on model and run
    summary = json.loads((tmp_path / "d" / "dossier.json").read_text(encoding="utf-8"))
    entry = next(e for e in summary["manifest"] if e["name"] == "monitoring results")
    assert entry["sha256"] == sha256_file(folder / "monitoring.json")
    assert [(r["model"], r["baseline_run_id"], r["rollback"]) for r in summary["monitoring"]] == [
        (stream.model, RUN_ID, True)
    ]


def test_dossier_section_results_join_the_change_log_as_harness_monitor_writes_them(
    run_dir: Path, tmp_path: Path
) -> None:
    folder = monitored(tmp_path, run_dir, incident=False)
    section = load_monitoring_section(folder, run_id=RUN_ID)
    assert section.results is not None and not section.results.rollback
    rows = section.results.changelog()
    expected = changelog_entries(load_monitoring_results(folder), folder)
    keys = ("model", "baseline_run_id", "period", "requests", "windows", "alerts", "rollback", "monitoring_sha256")
    assert [{k: r[k] for k in keys} for r in rows] == [{k: r[k] for k in keys} for r in expected]


def test_results_judged_against_another_run_say_so(run_dir: Path, tmp_path: Path) -> None:
    folder = monitored(tmp_path, run_dir)
    section = load_monitoring_section(folder, run_id="another-run")
    assert section.notes == (
        f"The monitoring results were judged against baseline run {RUN_ID}, not this document's run another-run.",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"kind": "harness-run"}', "not harness monitoring results"),
        ('{"kind": "harness-monitoring", "schema_version": "9"}', "schema_version '9' is not supported"),
        ('{"kind": "harness-monitoring", "schema_version": "1"}', "does not match the monitoring schema"),
    ],
)
def test_a_bad_monitoring_file_is_one_input_error_naming_it(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "monitoring.json"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as caught:
        load_monitoring_section(bad)
    assert str(bad) in str(caught.value)


def test_dossier_build_with_a_bad_monitoring_file_exits_2_with_one_line(run_dir: Path, tmp_path: Path) -> None:
    code, out, err = invoke(
        "dossier",
        "build",
        str(run_dir),
        "--out",
        str(tmp_path / "d"),
        "--monitoring",
        str(tmp_path / "nope"),
        "--no-pdf",
    )
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no monitoring results" in err


def test_a_gate_policy_is_not_read_as_a_monitoring_plan() -> None:
    with pytest.raises(PolicyError, match="monitoring policy"):
        plan_from_policy("eu-ai-act-high-risk")


@pytest.mark.slow
def test_dossier_pdf_prints_the_monitoring_results_and_attaches_them(run_dir: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    folder = monitored(tmp_path, run_dir)
    paths = render_dossier(run_dir, tmp_path / "d", store=RunStore(), monitoring=folder)
    assert paths.pdf is not None
    reader = PdfReader(paths.pdf)
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Monitoring results" in text and "Post-market monitoring plan (Art. 72)" in text
    assert "monitoring.json" in reader.attachments
    assert reader.attachments["monitoring.json"][0] == (folder / "monitoring.json").read_bytes()
