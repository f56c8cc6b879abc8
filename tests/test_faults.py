"""Runs and the store under faults: kills, failures, mismatched --resume, early input checks, races."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.engines.base import EngineOutput
from harness.errors import HarnessError, InputError, PolicyError
from harness.models.modelref import LoadedModel, ModelRef
from harness.runner.execute import execute_run
from harness.runner.resolve import resolve_run
from harness.runner.spec import SPEC_FILE, RunSpec, check_resume
from harness.schema.results import ItemRecord
from harness.schema.tasks import TaskSpec
from harness.store import RunStore
from harness.suites import base as suite_base
from harness.suites import register_suite
from harness.suites.choice import MultipleChoiceSuite
from tests.helpers import invoke, make_result, store_result

REPO = Path(__file__).resolve().parent.parent
REPETITIONS = 10


# ---------------------------------------------------------------------------- a model-free engine


class ScriptedEngine:
    """Answers every item of a suite correctly, or fails on the suites named in ``fail_on``."""

    name = "lm-eval"
    needs_weights = False

    def __init__(self, fail_on: Sequence[str] = ()) -> None:
        self.fail_on = set(fail_on)
        self.asked: list[str] = []

    def version(self) -> str:
        return "scripted-1"

    def evaluate(
        self,
        model: LoadedModel | None,
        tasks: Sequence[TaskSpec],
        work_dir: Path,
        *,
        limit: int | None = None,
        documents: Mapping[str, Sequence[int]] | None = None,
    ) -> EngineOutput:
        records = []
        for task in tasks:
            self.asked.append(task.suite)
            if task.suite in self.fail_on:
                raise RuntimeError(f"the engine broke on {task.suite}")
            ids = task.item_ids or ()
            wanted = documents[task.name] if documents else range(len(ids))
            records += [
                ItemRecord(
                    suite=task.suite,
                    item_id=ids[i],
                    subject=task.suite,
                    prompt_hash=f"p{i}",
                    choices=[" A", " B", " C", " D"],
                    prediction=0,
                    target=0,
                    correct=True,
                )
                for i in wanted
            ]
        return EngineOutput(records=records, requests=len(records), model_calls=len(records))


@pytest.fixture()
def two_suites(tmp_path: Path) -> Iterator[list[str]]:
    """Two small multiple-choice suites, registered for the test and removed after it."""
    names = []
    for name in ("alpha", "beta"):
        data = tmp_path / f"{name}.jsonl"
        rows = [
            {"id": f"q{i}", "question": f"{name} {i}?", "choices": ["a", "b", "c", "d"], "answer": 0} for i in range(3)
        ]
        data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

        def data_file(self: Any, data: Path = data) -> Path:
            return data

        register_suite(
            type(
                name.title(),
                (MultipleChoiceSuite,),
                {"name": name, "headline": f"{name}.accuracy", "data_file": data_file},
            )
        )
        names.append(name)
    yield names
    for name in names:
        suite_base._REGISTERED.pop(name)


def spec_of(model: Path, suites: list[str], **settings: Any) -> RunSpec:
    return RunSpec(model=ModelRef(str(model)), suites=suites, **settings)


# ---------------------------------------------------------------------------- 1. a run with results is never lost


def test_a_running_row_whose_results_exist_is_completed_when_looked_up(tmp_path: Path) -> None:
    store = RunStore()
    result = make_result("20261122T000000Z-abcdef12")
    run_dir = tmp_path / "runs" / result.run_id
    run_dir.mkdir(parents=True)
    store.start_run(
        result.run_id,
        result.created_at,
        model_base="models/tiny",
        model_adapter=None,
        fingerprint=result.model.fingerprint,
        suites=result.suites,
        run_dir=run_dir,
    )
    row = store.find_run(result.run_id)
    assert row is not None and row.status == "running" and row.headline == {}
    store_result(tmp_path / "runs", result)  # results.json appears; the process dies before indexing it

    row = store.find_run(result.run_id)
    assert row is not None and row.status == "finished"
    assert set(row.headline) == {"mmlu.accuracy", "gsm8k.exact_match"} and row.headline["mmlu.accuracy"]["n"] == 100
    assert [r.status for r in store.runs()] == ["finished"]


def test_resolve_run_finds_a_run_by_id_folder_or_results_file_and_indexes_it_on_sight(tmp_path: Path) -> None:
    store = RunStore()
    result = make_result("20261122T000000Z-abcdef12")
    run_dir = store_result(tmp_path / "runs", result)
    store.start_run(
        result.run_id,
        result.created_at,
        model_base="m",
        model_adapter=None,
        fingerprint="f",
        suites=[],
        run_dir=run_dir,
    )
    assert resolve_run(store, run_dir / "results.json") == run_dir
    row = store.find_run(result.run_id)
    assert row is not None and row.status == "finished"
    assert resolve_run(store, result.run_id) == run_dir.resolve()
    with pytest.raises(InputError, match="no such run directory, results file or run id"):
        resolve_run(store, "20990101T000000Z-00000000")


@pytest.mark.slow
def test_a_run_killed_right_after_writing_results_is_listed_gated_and_rendered(
    tiny_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    killer = tmp_path / "kill_after_results.py"
    killer.write_text(
        textwrap.dedent(
            """
            import os, signal, sys
            import harness.runner.execute as execute
            from harness.cli import main

            write_results = execute.write_results

            def write_then_die(run_dir, result):
                write_results(run_dir, result)
                os.kill(os.getpid(), signal.SIGKILL)  # results.json is on disk; the store never hears of it

            execute.write_results = write_then_die
            main.main(args=sys.argv[1:], prog_name="harness")
            """
        ),
        encoding="utf-8",
    )
    env = os.environ | {"HARNESS_STORE": url}
    run = [str(tiny_model), "--suites", "gsm8k", "--limit", "1", "--max-gen-toks", "4", "--data-dir", str(data_dir)]
    killed = subprocess.run(
        [sys.executable, str(killer), "run", *run, "--out", str(tmp_path / "runs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "results.json").is_file()
    with sqlite3.connect(tmp_path / "runs.db") as conn:  # the store heard of the start, not of the results
        assert conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_dir.name,)).fetchall() == [("running",)]

    def harness(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "harness.cli", *args], env=env, capture_output=True, text=True, timeout=300, cwd=REPO
        )

    listed = harness("runs", "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = [r for r in json.loads(listed.stdout) if r["run_id"] == run_dir.name]
    assert row["status"] == "finished" and "gsm8k.exact_match" in row["headline"]

    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "name: floor\nrules:\n  - metric: gsm8k.exact_match\n    min: 0.0\n"
        "    article: EU AI Act Art. 15(1)\n    why: a test rule\n",
        encoding="utf-8",
    )
    gated = harness("gate", run_dir.name, "--policy", str(policy), "--json")
    assert gated.returncode == 0, gated.stderr
    assert json.loads(gated.stdout)["verdict"] == "pass" and (run_dir / "verdict.json").is_file()

    rendered = harness("report", run_dir.name, "--out", str(tmp_path / "report"), "--no-pdf")
    assert rendered.returncode == 0, rendered.stderr
    assert run_dir.name in (tmp_path / "report" / "report.html").read_text(encoding="utf-8")

    resumed = harness("run", *run, "--resume", str(run_dir))
    assert resumed.returncode == 2 and "finished already" in resumed.stderr


# ---------------------------------------------------------------------------- 2. --resume refuses other settings


def test_check_resume_names_each_setting_that_differs() -> None:
    stored = spec_of(Path("models/tiny"), ["mmlu", "gsm8k"], limit=2)
    with pytest.raises(InputError) as raised:
        check_resume(stored, spec_of(Path("models/tiny"), ["gsm8k"], limit=2))
    assert str(raised.value).startswith("--resume: the run was started with --suites mmlu,gsm8k, not gsm8k")

    other = RunSpec(
        model=ModelRef("models/other", adapter="adapters/lora", dtype="bfloat16"),
        suites=["gsm8k", "mmlu"],
        limit=None,
        num_fewshot=3,
        gen_kwargs={"max_gen_toks": 16},
        data_dir="/data",
    )
    message = str(pytest.raises(InputError, check_resume, stored, other).value)
    for expected in (
        "with model models/tiny, not models/other",
        "without --adapter, not with --adapter adapters/lora",
        "with --dtype float32, not bfloat16",
        "with --limit 2, not without --limit",
        "without --num-fewshot, not with --num-fewshot 3",
        "without --max-gen-toks, not with --max-gen-toks 16",
        "without --data-dir, not with --data-dir /data",
    ):
        assert expected in message
    assert "--suites" not in message  # the same suites in another order measure the same thing
    assert len(message.splitlines()) == 1


def test_check_resume_names_a_different_suite_limit() -> None:
    stored = RunSpec(model=ModelRef("models/tiny"), suites=["mmlu", "structured"], limit=2)
    given = replace(stored, suite_limits={"structured": None})
    with pytest.raises(InputError, match=r"without --suite-limit, not with --suite-limit structured=all"):
        check_resume(stored, given)
    check_resume(replace(stored, suite_limits={}), stored)


def test_check_resume_compares_only_the_options_given_and_ignores_the_batch_size() -> None:
    stored = spec_of(Path("models/tiny"), ["mmlu", "gsm8k"], limit=2, batch_size=8)
    given = spec_of(Path("models/tiny"), ["gsm8k"], limit=1, batch_size=2)
    check_resume(stored, given, options={"BASE"})
    with pytest.raises(InputError, match=r"with --limit 2, not 1") as raised:
        check_resume(stored, given, options={"BASE", "--limit"})
    assert "--suites" not in str(raised.value)
    check_resume(stored, spec_of(Path("models/tiny"), ["gsm8k", "mmlu"], limit=2, batch_size=1))


def test_resume_with_other_suites_or_model_is_refused_before_anything_runs(tiny_model: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "20261122T000000Z-abcdef12"
    run_dir.mkdir(parents=True)
    stored = spec_of(tiny_model, ["mmlu", "gsm8k"], limit=2)
    (run_dir / SPEC_FILE).write_text(
        json.dumps(
            {
                "run_id": run_dir.name,
                "created_at": "2026-11-22T00:00:00+00:00",
                "fingerprint": "x",
                "spec": stored.to_dict(),
            }
        ),
        encoding="utf-8",
    )
    engine = ScriptedEngine()
    common: dict[str, Any] = {
        "store": RunStore(),
        "cache_root": None,
        "resume_dir": run_dir,
        "engines": {"lm-eval": engine},
    }
    with pytest.raises(InputError, match=r"^--resume: the run was started with --suites mmlu,gsm8k, not gsm8k"):
        execute_run(spec_of(tiny_model, ["gsm8k"], limit=1), tmp_path, **common)
    with pytest.raises(InputError, match=r"with model .*tiny, not .*elsewhere.*without --adapter, not with --adapter"):
        execute_run(
            RunSpec(model=ModelRef(str(tmp_path / "elsewhere"), adapter="lora"), suites=["mmlu", "gsm8k"], limit=2),
            tmp_path,
            **common,
        )
    assert engine.asked == [] and sorted(p.name for p in run_dir.iterdir()) == [SPEC_FILE]


# ---------------------------------------------------------------------------- 4. failed runs leave no orphans


def test_a_run_that_fails_before_any_suite_finished_leaves_no_folder_and_no_row(
    tiny_model: Path, tmp_path: Path, two_suites: list[str]
) -> None:
    store = RunStore()
    with pytest.raises(RuntimeError, match="broke on alpha"):
        execute_run(
            spec_of(tiny_model, two_suites),
            tmp_path / "runs",
            store=store,
            cache_root=None,
            data_cache=tmp_path / "cache",
            engines={"lm-eval": ScriptedEngine(fail_on=["alpha"])},
        )
    assert list((tmp_path / "runs").iterdir()) == []
    assert store.runs() == []


def test_a_run_that_fails_after_a_suite_finished_keeps_it_and_resumes(
    tiny_model: Path, tmp_path: Path, two_suites: list[str]
) -> None:
    store = RunStore()
    said: list[str] = []
    with pytest.raises(RuntimeError, match="broke on beta"):
        execute_run(
            spec_of(tiny_model, two_suites),
            tmp_path / "runs",
            store=store,
            cache_root=None,
            data_cache=tmp_path / "cache",
            engines={"lm-eval": ScriptedEngine(fail_on=["beta"])},
            progress=said.append,
        )
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / ".partial" / "alpha.jsonl").is_file()
    (row,) = store.runs()
    assert row.run_id == run_dir.name and row.status == "running"
    assert any("finished suites (alpha) are kept" in m and f"--resume {run_dir}" in m for m in said)

    engine = ScriptedEngine()
    result, resumed = execute_run(
        spec_of(tiny_model, two_suites),
        tmp_path,
        store=store,
        cache_root=None,
        data_cache=tmp_path / "cache",
        resume_dir=run_dir,
        engines={"lm-eval": engine},
    )
    assert resumed == run_dir and engine.asked == ["beta"]  # alpha came from the checkpoint
    assert result.metric("alpha.accuracy") is not None and result.metric("beta.accuracy") is not None
    (row,) = store.runs()
    assert row.status == "finished" and set(row.headline) == {"alpha.accuracy", "beta.accuracy"}


# ---------------------------------------------------------------------------- 3. train checks its inputs first


def write_train_config(tmp_path: Path, tiny_model: Path, **overrides: Any) -> Path:
    data = tmp_path / "data.jsonl"
    data.write_text((REPO / "suites" / "data" / "emergency" / "instructions.jsonl").read_text(encoding="utf-8"))
    config = {
        "name": "fire",
        "base_model": str(tiny_model),
        "data": [{"file": str(data), "name": "emergency"}],
        "suites": ["mmlu", "domain"],
        "output_dir": str(tmp_path / "out"),
    } | overrides
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"policy": "POLICY"}, r"train\.yaml: policy: .*bad-policy\.yaml:3"),
        ({"policy": "no-such-policy"}, r"train\.yaml: policy: policy no-such-policy does not exist"),
        ({"suites": ["mmlu", "nonsense"]}, r"train\.yaml: suites: .*nonsense"),
        (
            {"data": [{"file": "missing.jsonl", "name": "x"}]},
            r"train\.yaml: data\[0\]\.file: missing\.jsonl: no such file",
        ),
        (
            {"data": [{"dataset": "nothing@1.0.0"}]},
            r"train\.yaml: data\[0\]\.dataset: dataset nothing@1\.0\.0 is not registered",
        ),
        ({"base_model": "/no/such/model"}, r"train\.yaml: base_model: "),
    ],
)
def test_train_refuses_a_bad_input_before_registering_evaluating_or_training(
    tiny_model: Path, tmp_path: Path, overrides: dict[str, Any], expected: str
) -> None:
    from harness.training.pipeline import run_pipeline

    if overrides.get("policy") == "POLICY":
        bad = tmp_path / "bad-policy.yaml"
        bad.write_text("name: broken\nrules:\n  - metric: mmlu.accuracy\n    minn: 0.5\n", encoding="utf-8")
        overrides = {"policy": str(bad)}
    config = write_train_config(tmp_path, tiny_model, **overrides)
    store = RunStore()
    said: list[str] = []
    with pytest.raises(HarnessError, match=expected) as raised:
        run_pipeline(config, store=store, say=said.append)
    assert raised.value.exit_code == 2 and len(str(raised.value).splitlines()) == 1
    assert said == [] and store.datasets() == [] and store.runs() == []
    assert not (tmp_path / "out").exists()
    if "policy" in overrides and overrides["policy"] != "no-such-policy":
        assert isinstance(raised.value, PolicyError)


def test_train_cli_reports_a_malformed_policy_in_one_line_with_exit_2(tiny_model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad-policy.yaml"
    bad.write_text("name: broken\nrules: {}\n", encoding="utf-8")
    config = write_train_config(tmp_path, tiny_model, policy=str(bad))
    code, _, err = invoke("train", str(config))
    assert code == 2 and "policy" in err and "bad-policy.yaml" in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1


# ---------------------------------------------------------------------------- 5. concurrent store creation and registration


def run_workers(script: str, args: list[str], workers: int = 2) -> list[list[dict[str, Any]]]:
    """Start ``workers`` processes of ``script``; each repetition starts at the same instant in all of them."""
    start = time.time() + 4  # after every worker has imported harness
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(start), str(w), *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and "Traceback" not in err, err
        outputs.append([json.loads(line) for line in out.splitlines()])
    return outputs


SYNC = """
import json, sys, time
start, worker = float(sys.argv[1]), int(sys.argv[2])

def at(rep):
    while time.time() < start + rep * 0.4:
        time.sleep(0.001)
"""


CREATE = (
    SYNC
    + """
from harness.errors import HarnessError
from harness.store import RunStore
for rep in range(int(sys.argv[4])):
    at(rep)
    try:
        store = RunStore(f"sqlite:///{sys.argv[3]}/s{rep}/runs.db")
        print(json.dumps({"rep": rep, "ok": True, "runs": len(store.runs())}))
    except HarnessError as exc:
        print(json.dumps({"rep": rep, "ok": False, "error": str(exc)}))
"""
)


@pytest.mark.slow
def test_two_processes_creating_a_fresh_store_at_once_both_succeed(tmp_path: Path) -> None:
    for out in run_workers(CREATE, [str(tmp_path), str(REPETITIONS)]):
        assert [o["rep"] for o in out] == list(range(REPETITIONS))
        assert all(o["ok"] for o in out), [o for o in out if not o["ok"]]


REGISTER = (
    SYNC
    + """
from pathlib import Path
from harness.data.registry import register_dataset
from harness.errors import HarnessError
from harness.store import RunStore
store = RunStore(sys.argv[3])
files, version = sys.argv[4].split(","), sys.argv[5] or None
for rep in range(len(files) // 2):
    at(rep)
    try:
        record, created = register_dataset(store, files[2 * rep + worker], name=f"set{rep}", version=version)
        print(json.dumps({"rep": rep, "created": created, "ref": record.ref, "sha256": record.sha256}))
    except HarnessError as exc:
        print(json.dumps({"rep": rep, "error": str(exc), "kind": type(exc).__name__}))
"""
)


def dataset_files(tmp_path: Path, *, same: bool) -> list[str]:
    files = []
    for rep in range(REPETITIONS):
        for worker in (0, 1):
            path = tmp_path / f"r{rep}w{worker}.jsonl"
            text = "same" if same else f"worker {worker}"
            path.write_text(json.dumps({"prompt": f"{text} {rep}", "response": "ok"}) + "\n", encoding="utf-8")
            files.append(str(path))
    return files


@pytest.mark.slow
def test_two_registrations_of_the_same_content_create_it_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    RunStore(url)
    first, second = run_workers(REGISTER, [url, ",".join(dataset_files(tmp_path, same=True)), ""])
    for a, b in zip(first, second, strict=True):
        assert "error" not in a and "error" not in b, (a, b)
        assert sorted([a["created"], b["created"]]) == [False, True] and a["ref"] == b["ref"] == f"set{a['rep']}@1.0.0"
    assert len(RunStore(url).datasets()) == REPETITIONS


@pytest.mark.slow
def test_two_registrations_of_other_content_under_one_version_create_one_and_refuse_the_other(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    RunStore(url)
    first, second = run_workers(REGISTER, [url, ",".join(dataset_files(tmp_path, same=False)), "1.0.0"])
    for a, b in zip(first, second, strict=True):
        winner, loser = (a, b) if "error" in b else (b, a)
        assert winner.get("created") is True, (a, b)
        assert loser["kind"] == "DataError" and "already registered with other content" in loser["error"]
    store = RunStore(url)
    assert len(store.datasets()) == REPETITIONS


@pytest.mark.slow
def test_two_registrations_of_other_content_without_a_version_take_consecutive_versions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    RunStore(url)
    first, second = run_workers(REGISTER, [url, ",".join(dataset_files(tmp_path, same=False)), ""])
    for a, b in zip(first, second, strict=True):
        assert a["created"] and b["created"], (a, b)
        assert sorted([a["ref"], b["ref"]]) == [f"set{a['rep']}@1.0.0", f"set{a['rep']}@1.1.0"]


def test_resumed_spec_is_the_stored_one_with_the_given_batch_size(tmp_path: Path) -> None:
    from harness.runner.spec import resumed_spec

    stored = spec_of(Path("models/tiny"), ["mmlu", "gsm8k"], limit=2, data_dir="/data")
    (tmp_path / SPEC_FILE).write_text(json.dumps({"run_id": "r", "created_at": "c", "spec": stored.to_dict()}))
    given = spec_of(Path("models/tiny"), ["mmlu", "gsm8k"], data_dir="/elsewhere", batch_size=2)
    spec = resumed_spec(tmp_path, given, options={"BASE", "--batch-size"})
    assert spec.limit == 2 and spec.data_dir == "/data" and spec.batch_size == 2
    with pytest.raises(InputError, match="with --data-dir /data, not /elsewhere"):
        resumed_spec(tmp_path, given, options={"BASE", "--data-dir"})


def test_files_harness_writes_are_as_readable_as_the_umask_allows(tmp_path: Path) -> None:
    """Atomic writes go through mkstemp (mode 0600); the written file gets 0666 less the umask, as open() gives."""
    import os

    from harness.files.atomic import _file_mode, atomic_write_text

    previous = os.umask(0o027)
    _file_mode.cache_clear()
    try:
        written = atomic_write_text(tmp_path / "gate.md", "# verdict\n")
    finally:
        os.umask(previous)
        _file_mode.cache_clear()
    assert written.stat().st_mode & 0o777 == 0o640
