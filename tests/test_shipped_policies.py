"""Every policy harness ships loads, and every rule of it judges a run that measured its metric."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
import yaml

from harness.gate.evaluate import evaluate_policy
from harness.gate.policy import load_policy
from harness.schema.results import proportion_metric
from tests.helpers import make_result

SHIPPED = sorted(
    p.stem
    for p in Path(str(files("harness.policies"))).glob("*.yaml")
    if "rules" in (yaml.safe_load(p.read_text(encoding="utf-8")) or {})
)


def test_the_shipped_policies_are_the_known_ones_and_the_gate_lists_exactly_them() -> None:
    from harness.gate.policy import shipped_policy_names

    expected = ["baseline-minimums", "demo", "distillation", "eu-ai-act-high-risk", "lora-release", "quick-check"]
    assert SHIPPED == expected == shipped_policy_names()


@pytest.mark.parametrize("name", SHIPPED)
def test_every_rule_of_a_shipped_policy_judges_a_run_that_measured_its_metric(name: str) -> None:
    policy, path = load_policy(name)
    assert path.name == f"{name}.yaml" and policy.rules
    names = {rule.metric.replace("data.*.", "data.sample.") for rule in policy.rules}
    measured = dict.fromkeys(names, (60, 100))
    run = make_result("candidate", measured)
    baseline = make_result("baseline", dict.fromkeys(names, (60, 100)))
    data_metrics = [proportion_metric(m, 60, 100) for m in names if m.startswith("data.sample.")]
    verdict = evaluate_policy(policy, run, baseline, datasets={"sample@1.0.0": data_metrics} if data_metrics else None)
    assert len(verdict.outcomes) == len(policy.rules)
    for outcome in verdict.outcomes:
        assert outcome.outcome != "not-measured", f"{name}: {outcome.rule_id}: {outcome.evidence}"
        assert outcome.article.startswith("EU AI Act") and outcome.why


def test_the_risk_catalogue_and_criteria_are_not_offered_as_policies() -> None:
    from harness.errors import PolicyError
    from harness.gate.policy import shipped_policy_names

    for name in ("risks", "risk-criteria"):
        with pytest.raises(PolicyError) as refused:
            load_policy(name)
        listed = str(refused.value).split("shipped name: ")[1].rstrip(")").split(", ")
        assert listed == shipped_policy_names()


def test_a_folder_named_like_a_shipped_policy_does_not_hide_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`harness select --out selection` or `harness monitor --out monitoring/` leave folders named like the shipped
    policies in the working directory; the bare name still means the shipped file, a path to the folder does not."""
    from harness.errors import PolicyError
    from harness.files.shipped import is_policy_file
    from harness.files.yaml_files import shipped_or_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()
    assert shipped_or_path("demo", "", PolicyError, "policy", accepts=is_policy_file).name == "demo.yaml"
    with pytest.raises(PolicyError, match="is a folder"):
        shipped_or_path("./demo", "", PolicyError, "policy", accepts=is_policy_file)
    with pytest.raises(PolicyError, match="is a folder"):
        shipped_or_path(str(tmp_path / "demo"), "", PolicyError, "policy", accepts=is_policy_file)
