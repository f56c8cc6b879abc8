"""Dataset versions, Great Expectations checks and data rules in the gate, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import invoke, make_result, store_result

SUITE = """\
name: tiny-instructions
expectations:
  - type: expect_column_values_to_be_unique
    column: id
  - type: expect_column_values_to_be_in_set
    column: decision
    value_set: [evacuate_now, shelter_in_place]
  - type: expect_column_value_lengths_to_be_between
    column: output
    min_value: 5
    max_value: 60
  - type: expect_column_values_to_not_be_null
    column: output
"""


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def good_rows() -> list[dict]:
    return [
        {
            "id": f"x-{i}",
            "decision": "evacuate_now" if i % 2 else "shelter_in_place",
            "output": f"Do the safe thing {i}.",
        }
        for i in range(6)
    ]


def test_register_is_idempotent_and_refuses_new_content_under_an_old_version(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", good_rows())
    code, out, err = invoke(
        "data",
        "register",
        str(data),
        "--name",
        "tiny",
        "--version",
        "1.0.0",
        "--source",
        "sop:SOP-12:fire-officer-3",
        "--license",
        "CC-BY-4.0",
        "--json",
    )
    assert code == 0, err
    record = json.loads(out)
    assert record["created"] and record["rows"] == 6 and record["contributors"] == ["fire-officer-3"]
    assert record["sources"] == [{"type": "sop", "id": "SOP-12", "expert": "fire-officer-3"}]
    code, out, _ = invoke("data", "register", str(data), "--name", "tiny", "--version", "1.0.0", "--json")
    assert code == 0 and json.loads(out)["created"] is False
    changed = write_jsonl(tmp_path / "d2.jsonl", good_rows()[:5])
    code, _, err = invoke("data", "register", str(changed), "--name", "tiny", "--version", "1.0.0")
    assert code == 2 and "already registered with other content" in err
    code, out, _ = invoke(
        "data",
        "register",
        str(changed),
        "--name",
        "tiny",
        "--parent",
        "tiny@1.0.0",
        "--transform",
        "dropped one row",
        "--json",
    )
    assert code == 0 and json.loads(out)["version"] == "1.1.0"


def test_a_tampered_file_fails_verify(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", good_rows())
    assert invoke("data", "register", str(data), "--name", "tiny")[0] == 0
    code, out, _ = invoke("data", "verify", "tiny@1.0.0", str(data))
    assert code == 0 and out.startswith("OK")
    data.write_text(data.read_text().replace("safe", "unsafe", 1))
    code, _, err = invoke("data", "verify", "tiny@1.0.0", str(data))
    assert code == 1 and "MISMATCH" in err


def test_lineage_prints_ancestors_and_descendants(tmp_path: Path) -> None:
    rows = good_rows()
    invoke("data", "register", str(write_jsonl(tmp_path / "a.jsonl", rows)), "--name", "tiny")
    invoke(
        "data",
        "register",
        str(write_jsonl(tmp_path / "b.jsonl", rows[:4])),
        "--name",
        "tiny",
        "--parent",
        "tiny@1.0.0",
        "--transform",
        "dedup",
    )
    invoke(
        "data",
        "register",
        str(write_jsonl(tmp_path / "c.jsonl", rows[:3])),
        "--name",
        "tiny-clean",
        "--parent",
        "tiny@1.1.0",
        "--transform",
        "conflicts resolved",
    )
    code, out, _ = invoke("data", "lineage", "tiny@1.1.0")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("tiny@1.0.0") and "tiny@1.1.0" in lines[1] and "(this version)" in lines[1]
    assert lines[2].startswith("    tiny-clean@1.0.0") and "conflicts resolved" in lines[2]
    code, out, _ = invoke("data", "list")
    assert code == 0 and "tiny-clean@1.0.0" in out


def test_broken_expectations_name_the_expectation_and_rows_and_fail_the_gate(tmp_path: Path) -> None:
    rows = good_rows()
    rows[2]["decision"] = "panic"
    rows[4]["id"] = "x-1"
    rows[5]["output"] = None
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    invoke("data", "register", str(data), "--name", "tiny")
    code, out, err = invoke("data", "validate", str(data), "--expectations", str(suite), "--dataset", "tiny@1.0.0")
    assert code == 1, err
    assert "FAIL  expect_column_values_to_be_in_set [decision]: 1 unexpected" in out
    assert "lines 3" in out and "'panic'" in out  # jsonl line 3 holds the bad label
    assert "FAIL  expect_column_values_to_be_unique [id]" in out and "lines 2, 5" in out
    assert "FAIL  expect_column_values_to_not_be_null [output]" in out
    assert "PASS  expect_column_value_lengths_to_be_between [output]" in out

    code, out, _ = invoke("data", "show", "tiny@1.0.0")
    provenance = json.loads(out)
    assert provenance["validation"]["passed"] == 1 and provenance["dataset"]["sha256"]
    names = {m["name"]: m for m in provenance["metrics"]}
    assert names["data.tiny.expectations_passed"]["value"] == pytest.approx(0.25)

    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "name: data\nrules:\n  - id: clean-data\n    metric: data.*.expectations_passed\n    min: 1.0\n"
        "    article: EU AI Act Art. 10(2)-(3)\n    why: training data must pass its checks\n"
    )
    run = store_result(tmp_path, make_result("r1"))
    code, out, _ = invoke("gate", str(run), "--policy", str(policy), "--dataset", "tiny@1.0.0", "--json")
    assert code == 1
    verdict = json.loads(out)
    assert verdict["datasets"] == ["tiny@1.0.0"]
    (outcome,) = verdict["outcomes"]
    assert outcome["rule_id"] == "clean-data[tiny@1.0.0]" and outcome["metric"] == "data.tiny.expectations_passed"
    assert outcome["outcome"] == "fail"
    code, out, _ = invoke("gate", str(run), "--policy", str(policy), "--json")
    assert code == 1 and json.loads(out)["outcomes"][0]["outcome"] == "not-measured"


def test_clean_data_passes_its_suite(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    code, out, err = invoke(
        "data", "validate", str(write_jsonl(tmp_path / "d.jsonl", good_rows())), "--expectations", str(suite)
    )
    assert code == 0, err + out
    assert "4 of 4 expectations passed on 6 rows" in out


@pytest.mark.parametrize(
    ("suite_text", "message"),
    [
        (
            "name: x\nexpectations:\n  - type: expect_the_moon\n    column: id\n",
            ":3: expectations[0].type: 'expect_the_moon'",
        ),
        (
            "name: x\nexpectations:\n  - type: expect_column_values_to_be_in_set\n    column: id\n    value_set: 5\n",
            ":3: expectations[0] (expect_column_values_to_be_in_set)",
        ),
        ("name: x\nexpectations: []\n", "non-empty 'expectations' list"),
    ],
)
def test_a_bad_expectation_suite_is_one_line_with_file_and_line(tmp_path: Path, suite_text: str, message: str) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(suite_text)
    code, _, err = invoke(
        "data", "validate", str(write_jsonl(tmp_path / "d.jsonl", good_rows())), "--expectations", str(suite)
    )
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.jsonl", b"", "is empty"),
        ("bad.jsonl", b'{"id": 1}\n{"id": \n', "bad.jsonl:2: not valid JSON"),
        ("latin.csv", b"id,text\n1,caf\xe9\n", "not UTF-8"),
        ("data.txt", b"x", "unknown data format"),
    ],
)
def test_bad_data_files_are_one_line_errors(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, _, err = invoke("data", "register", str(path), "--name", "bad")
    assert code == 2 and message in err and "Traceback" not in err


def test_bad_references_and_sources_are_refused(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", good_rows())
    assert "TYPE:ID" in invoke("data", "register", str(data), "--name", "t", "--source", "nonsense")[2]
    assert "not one of" in invoke("data", "register", str(data), "--name", "t", "--source", "rumour:1")[2]
    assert "NAME@X.Y.Z" in invoke("data", "verify", "t-1.0", str(data))[2]
    assert "not registered" in invoke("data", "verify", "t@1.0.0", str(data))[2]
    assert invoke("data", "register", str(data), "--name", "t")[0] == 0
    assert "needs --transform" in invoke("data", "register", str(data), "--name", "t", "--parent", "t@1.0.0")[2]


def test_csv_and_parquet_validate_like_jsonl(tmp_path: Path) -> None:
    import pandas as pd

    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    frame = pd.DataFrame(good_rows())
    frame.loc[1, "decision"] = "panic"
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    code, out, _ = invoke("data", "validate", str(tmp_path / "d.csv"), "--expectations", str(suite))
    assert code == 1 and "lines 3" in out  # header + second data row
    code, out, _ = invoke("data", "validate", str(tmp_path / "d.parquet"), "--expectations", str(suite))
    assert code == 1 and "FAIL  expect_column_values_to_be_in_set [decision]: 1 unexpected" in out


def test_two_versions_of_one_dataset_are_refused_by_the_gate(tmp_path: Path) -> None:
    rows = good_rows()
    invoke("data", "register", str(write_jsonl(tmp_path / "a.jsonl", rows)), "--name", "tiny")
    invoke("data", "register", str(write_jsonl(tmp_path / "b.jsonl", rows[:3])), "--name", "tiny")
    run = store_result(tmp_path, make_result("r2"))
    code, _, err = invoke("gate", str(run), "--policy", "demo", "--dataset", "tiny@1.0.0", "--dataset", "tiny@1.1.0")
    assert code == 2 and "one version per dataset" in err
