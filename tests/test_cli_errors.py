"""Bad input: one line on stderr, exit code 2, no traceback, nothing lost."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ModelError
from tests.helpers import make_result, run_cli, store_result


def assert_one_line_error(args: list[str], expected: str) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("harness: error: ")
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert expected in result.stderr


def test_missing_model_directory(tmp_path: Path) -> None:
    assert_one_line_error(["run", str(tmp_path / "missing"), "--suites", "mmlu"], "does not exist")


def test_pickle_only_weights(tiny_model: Path, tmp_path: Path) -> None:
    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_model, pickled)
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    assert_one_line_error(["run", str(pickled), "--suites", "mmlu"], "--allow-pickle")


def test_corrupt_results_json(tmp_path: Path) -> None:
    run = store_result(tmp_path, make_result())
    (run / "results.json").write_text('{"schema_version": "1", "run_id": ')
    assert_one_line_error(["gate", str(run), "--policy", "demo"], "results.json:1: not valid JSON")
    (run / "results.json").write_text('{"schema_version": "1", "run_id": "x"}')
    assert_one_line_error(["report", str(run), "--out", str(tmp_path / "r")], "does not match the results schema")


def test_unknown_suite(tiny_model: Path) -> None:
    assert_one_line_error(["run", str(tiny_model), "--suites", "mmlu,hellaswag"], "unknown suite 'hellaswag'")


def test_negative_limit(tiny_model: Path) -> None:
    assert_one_line_error(["run", str(tiny_model), "--limit", "-3"], "--limit must be a positive number")


def test_data_dir_without_mmlu_files(tiny_model: Path, tmp_path: Path) -> None:
    (tmp_path / "data" / "mmlu" / "test").mkdir(parents=True)
    assert_one_line_error(
        [
            "run",
            str(tiny_model),
            "--suites",
            "mmlu",
            "--data-dir",
            str(tmp_path / "data"),
            "--out",
            str(tmp_path / "runs"),
        ],
        "no MMLU files",
    )


def test_missing_data_dir_and_offline_hub(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_DATA_DIR", raising=False)
    assert_one_line_error(
        ["run", str(tiny_model), "--suites", "gsm8k", "--out", str(tmp_path)], "GSM8K: no data directory"
    )
    assert_one_line_error(["run", str(tiny_model), "--data-dir", str(tmp_path / "nope")], "data directory")


def test_unknown_option_is_one_line_too() -> None:
    assert_one_line_error(["run", "--frobnicate"], "No such option")


def test_gate_on_unknown_run_id() -> None:
    assert_one_line_error(["gate", "20990101T000000Z-deadbeef", "--policy", "demo"], "no such run")


def test_debug_flag_shows_the_traceback(tmp_path: Path) -> None:
    plain = run_cli("run", str(tmp_path / "missing"))
    assert plain.exit_code == 2 and isinstance(plain.exception, SystemExit)  # one line, no traceback
    debugged = run_cli("--debug", "run", str(tmp_path / "missing"))
    assert isinstance(debugged.exception, ModelError), "--debug lets the error itself through, traceback and all"
    assert debugged.exc_info is not None and debugged.exc_info[2] is not None


def test_help_imports_no_heavy_library() -> None:
    probe = (
        "import sys; from click.testing import CliRunner; import harness.cli as c; "
        "r = CliRunner().invoke(c.main, ['--help']); assert r.exit_code == 0, r.output; "
        "print([m for m in ('torch', 'transformers', 'lm_eval', 'weasyprint', 'peft', 'datasets') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_group_without_a_command_prints_its_help_not_an_error_line() -> None:
    for args in ([], ["data"]):
        result = run_cli(*args)
        assert result.exit_code == 2
        assert result.stderr.startswith("Usage: "), result.stderr
        assert "harness: error:" not in result.stderr and result.stderr.count("\n") > 5


def test_help_documents_every_exit_code() -> None:
    result = run_cli("--help")
    assert result.exit_code == 0
    flat = " ".join(result.stdout.split())
    for code in ("0 pass or success", "1 gate failed", "2 usage or input error", "3 a bug in harness"):
        assert code in flat, code
