import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.errors import PolicyError
from harness.gate.ci_exports import verdict_to_junit, verdict_to_markdown
from harness.gate.evaluate import evaluate_policy
from harness.gate.policy import Policy, load_policy
from tests.helpers import invoke, make_result, store_result

POLICY = """\
name: test
rules:
  - id: mmlu-min
    metric: mmlu.accuracy
    min: 0.60
    severity: block
    article: "EU AI Act Art. 15(1)"
    why: general knowledge
  - id: gsm8k-min
    metric: gsm8k.exact_match
    min: 0.90
    severity: warn
    article: "EU AI Act Art. 15(1)"
    why: arithmetic
"""


def write_policy(tmp_path: Path, text: str = POLICY) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def gate(args: list[str]) -> tuple[int, str, str]:
    return invoke("gate", *args)


def test_gate_passes_with_exit_0_when_blocking_rules_hold(tmp_path: Path) -> None:
    run = store_result(tmp_path, make_result())
    code, out, _ = gate([str(run), "--policy", str(write_policy(tmp_path))])
    assert code == 0
    assert "PASS" in out and "WARN" in out  # the warn rule fails without blocking


def test_gate_fails_with_exit_1_when_a_blocking_rule_fails(tmp_path: Path) -> None:
    run = store_result(tmp_path, make_result(metrics={"mmlu.accuracy": (50, 100), "gsm8k.exact_match": (45, 50)}))
    code, out, _ = gate([str(run), "--policy", str(write_policy(tmp_path))])
    assert code == 1
    assert "FAIL" in out and "mmlu-min" in out


def test_gate_fails_when_required_metric_missing(tmp_path: Path) -> None:
    run = store_result(tmp_path, make_result(metrics={"gsm8k.exact_match": (45, 50)}))
    code, out, _ = gate([str(run), "--policy", str(write_policy(tmp_path))])
    assert code == 1
    assert "NOT-MEASURED" in out


def test_missing_warn_metric_does_not_block() -> None:
    policy = Policy.model_validate(
        {
            "name": "p",
            "rules": [{"metric": "gsm8k.exact_match", "min": 0.5, "severity": "warn", "article": "a", "why": "w"}],
        }
    )
    verdict = evaluate_policy(policy, make_result(metrics={"mmlu.accuracy": (1, 2)}))
    assert verdict.exit_code == 0 and verdict.outcomes[0].outcome == "not-measured"


def test_malformed_policy_exits_2_naming_file_line_and_field(tmp_path: Path) -> None:
    run = store_result(tmp_path, make_result())
    bad = write_policy(tmp_path, POLICY.replace("severity: warn", "severity: maybe"))
    code, out, err = gate([str(run), "--policy", str(bad)])
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{bad}:12:" in err and "rules[1].severity" in err


def test_policy_with_two_bounds_or_bad_yaml_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"policy.yaml:3: rules\[0\]: give exactly one of"):
        load_policy(write_policy(tmp_path, POLICY.replace("    min: 0.60\n", "    min: 0.60\n    max: 0.9\n", 1)))
    with pytest.raises(PolicyError, match=r"policy.yaml:2: not valid YAML"):
        load_policy(write_policy(tmp_path, "name: x\n\tbad: 1\n"))


def test_max_drop_uses_the_baseline_and_requires_one() -> None:
    policy = Policy.model_validate(
        {
            "name": "p",
            "rules": [{"metric": "mmlu.accuracy", "max_drop": 0.05, "relative": True, "article": "a", "why": "w"}],
        }
    )
    base = make_result("base", {"mmlu.accuracy": (70, 100)})
    slight = make_result("tuned", {"mmlu.accuracy": (68, 100)})  # 2.9% relative drop
    large = make_result("tuned", {"mmlu.accuracy": (60, 100)})  # 14% relative drop
    assert evaluate_policy(policy, slight, base).exit_code == 0
    failed = evaluate_policy(policy, large, base)
    assert failed.exit_code == 1 and failed.outcomes[0].change == pytest.approx(-0.10)
    assert evaluate_policy(policy, slight, None).outcomes[0].outcome == "not-measured"


def test_junit_has_one_testcase_per_rule_and_marks_failures(tmp_path: Path) -> None:
    run = store_result(tmp_path, make_result(metrics={"mmlu.accuracy": (50, 100), "gsm8k.exact_match": (45, 50)}))
    junit = tmp_path / "gate.xml"
    summary = tmp_path / "gate.md"
    code, _, _ = gate(
        [str(run), "--policy", str(write_policy(tmp_path)), "--junit", str(junit), "--markdown", str(summary)]
    )
    assert code == 1
    root = ET.parse(junit).getroot()
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ["mmlu-min", "gsm8k-min"]
    assert cases[0].find("failure") is not None and cases[1].find("failure") is None
    assert root.find("testsuite").get("failures") == "1"
    text = summary.read_text()
    assert "FAILED" in text and "| FAIL | mmlu-min |" in text


def test_markdown_and_junit_are_pure_functions_of_the_verdict() -> None:
    policy, _ = load_policy("baseline-minimums")
    run = make_result(metrics={"mmlu.accuracy": (65, 100)})
    run.metrics[0] = run.metrics[0].model_copy(update={"chance": 0.25})  # as the MMLU suite declares it
    verdict = evaluate_policy(policy, run)
    assert verdict.verdict == "pass"
    assert "gsm8k-minimum" in verdict_to_markdown(verdict)
    assert ET.fromstring(verdict_to_junit(verdict).split("?>", 1)[1]).tag == "testsuites"


def test_shipped_policies_are_valid() -> None:
    for name in ("demo", "baseline-minimums"):
        policy, path = load_policy(name)
        assert path.is_file() and policy.rules
        assert all(rule.article.startswith("EU AI Act") for rule in policy.rules)


def test_gate_writes_verdict_and_records_it_in_the_store(tmp_path: Path) -> None:
    run = store_result(tmp_path, make_result())
    gate([str(run), "--policy", str(write_policy(tmp_path))])
    assert (run / "verdict.json").is_file()
    from harness.store import RunStore

    assert RunStore().verdicts("run-a")[0]["verdict"] == "pass"


def test_gating_under_a_second_policy_keeps_the_first_verdict_beside_the_latest(tmp_path: Path) -> None:
    run = store_result(tmp_path, make_result())
    first = write_policy(tmp_path)
    second = tmp_path / "second.yaml"
    second.write_text(POLICY.replace("name: test", "name: second").replace("min: 0.60", "min: 0.99"))
    assert gate([str(run), "--policy", str(first)])[0] == 0
    assert gate([str(run), "--policy", str(second)])[0] == 1
    from harness.gate.judging import list_verdicts

    assert json.loads((run / "verdict.json").read_text())["policy"] == "second"
    assert sorted(p.name for p in (run / "verdicts").iterdir()) == ["second--none.json", "test--none.json"]
    assert sorted((v.policy, v.verdict) for v in list_verdicts(run)) == [("second", "fail"), ("test", "pass")]
