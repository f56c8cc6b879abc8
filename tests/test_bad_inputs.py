"""A table of bad inputs across every command: each is one line on stderr and exit code 2.

Every case builds its inputs in tmp_path and runs the CLI in-process; none loads a model
(model-path problems are caught before weights are read). Each checks the exit code,
that stderr is exactly one line starting ``harness: error: ``, that no traceback was
printed, and that the line names what is wrong (the file, the field, the option).
"""

from __future__ import annotations

import errno
import json
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.runner.spec import SPEC_FILE
from tests.helpers import make_result, run_cli, store_result

# ---------------------------------------------------------------------------- fixtures


class Workspace:
    """Inputs for one case, each written on first use under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def file(self, name: str, content: str | bytes) -> str:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return str(path)

    def folder(self, name: str) -> str:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return str(path)

    def missing(self, name: str = "missing") -> str:
        return str(self.root / name)

    def under_a_file(self, name: str = "out") -> str:
        """A path whose parent is a regular file: nothing can be created there (ENOTDIR, even for root)."""
        return str(Path(self.file("plain-file", "x")) / name)

    @property
    def run(self) -> str:
        path = self.root / "runs" / "run-a"
        if not path.exists():
            store_result(self.root / "runs", make_result("run-a"))
        return str(path)

    def run_with_results(self, content: str | bytes) -> str:
        run = Path(self.run)
        target = run / "results.json"
        target.unlink()
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        return str(run)

    def run_with_items(self, content: str | bytes) -> str:
        run = Path(self.run)
        self.file(str((run / "items.jsonl").relative_to(self.root)), content)
        return str(run)

    def run_with(self, *, results: str | bytes, items: str | bytes) -> str:
        self.run_with_items(items)
        return self.run_with_results(results)

    def policy(self, body: str, name: str = "policy.yaml") -> str:
        return self.file(name, body)

    def model(
        self, name: str = "model", *, weights: bytes | None = None, config: str | bytes = '{"model_type": "llama"}'
    ) -> str:
        """A model directory (config.json, model.safetensors) that is never loaded: only checked."""
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        self.file(f"{name}/config.json", config)
        self.file(f"{name}/model.safetensors", valid_safetensors() if weights is None else weights)
        return str(folder)

    def adapter(
        self, name: str = "adapter", *, config: str = '{"peft_type": "LORA"}', weights: bytes | None = None
    ) -> str:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        self.file(f"{name}/adapter_config.json", config)
        if weights is not None:
            self.file(f"{name}/adapter_model.safetensors", weights)
        return str(folder)

    def ratings(self, text: str, name: str = "ratings.csv") -> str:
        return self.file(name, text)

    def pickled_model(self) -> str:
        """A model whose only weights are a pickle (pytorch_model.bin)."""
        self.file("pickled/config.json", "{}")
        self.file("pickled/pytorch_model.bin", b"not read")
        return str(self.root / "pickled")

    def sharded_model(self) -> str:
        """A sharded model whose index names a shard that is not there."""
        self.file("sharded/config.json", "{}")
        self.file("sharded/model.safetensors.index.json", '{"weight_map": {"w": "model-00001-of-00002.safetensors"}}')
        return str(self.root / "sharded")

    def model_with_weights_folder(self) -> str:
        """A model whose model.safetensors is a folder."""
        self.file("odd-model/config.json", "{}")
        self.folder("odd-model/model.safetensors")
        return str(self.root / "odd-model")


def valid_safetensors() -> bytes:
    """A one-tensor safetensors file: an 8-byte header length, the JSON header, the data."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + bytes(16)


def lying_safetensors() -> bytes:
    """A header claiming a petabyte of header."""
    return struct.pack("<Q", 10**15) + valid_safetensors()[8:]


def overreaching_safetensors() -> bytes:
    """A header whose tensor claims more bytes than the file has."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 1600]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + bytes(16)


RATINGS_OK = "item_id,rater_id,label,score,confidence\n1,a,x,1,0.9\n1,b,x,2,0.8\n2,a,y,3,0.7\n2,b,x,4,0.9\n"


def ratings_with(column: str, value: str) -> str:
    """RATINGS_OK with the first data row's ``column`` replaced by ``value`` (line 2 of the file)."""
    header, first, *rest = RATINGS_OK.splitlines()
    cells = first.split(",")
    cells[header.split(",").index(column)] = value
    return "\n".join([header, ",".join(cells), *rest]) + "\n"


POLICY_OK = """\
name: test
rules:
  - id: mmlu-min
    metric: mmlu.accuracy
    min: 0.5
    article: "EU AI Act Art. 15(1)"
    why: a floor
"""

SUITE_OK = """\
name: s
expectations:
  - type: expect_column_values_to_not_be_null
    column: item_id
"""

TRAIN_OK = """\
name: lora
base_model: models/tiny
data:
  - dataset: instructions@1.0.0
"""

DEEP_YAML = "a: " + "[" * 200 + "]" * 200 + "\n"
ALIAS_BOMB = "a: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(7)
)

# ------------------------------------------------------------------------------- cases

Build = Callable[[Workspace], list[str]]


@dataclass(frozen=True)
class Case:
    """One bad input: the command line built in a workspace, and words stderr must contain."""

    id: str
    build: Build
    expect: tuple[str, ...]
    disk_full: bool = False  # every os.write fails with ENOSPC while the command runs
    env: dict[str, str] = field(default_factory=dict)


def case(id: str, build: Build, *expect: str, disk_full: bool = False, env: dict[str, str] | None = None) -> Case:
    return Case(id, build, expect, disk_full, env or {})


CASES: list[Case] = [
    # ---------------------------------------------------------------- run: options
    case(
        "run-limit-negative", lambda w: ["run", w.model(), "--limit", "-3"], "--limit must be a positive number", "-3"
    ),
    case("run-limit-zero", lambda w: ["run", w.model(), "--limit", "0"], "--limit", "got 0"),
    case("run-limit-past-64-bits", lambda w: ["run", w.model(), "--limit", str(2**70)], "--limit", str(2**70)),
    case("run-limit-not-a-number", lambda w: ["run", w.model(), "--limit", "ten"], "--limit", "ten"),
    case("run-limit-empty", lambda w: ["run", w.model(), "--limit", ""], "--limit", "''"),
    case(
        "run-suite-limit-without-equals",
        lambda w: ["run", w.model(), "--suite-limit", "structured"],
        "--suite-limit",
        "SUITE=N or SUITE=all",
    ),
    case("run-suite-limit-zero", lambda w: ["run", w.model(), "--suite-limit", "mmlu=0"], "--suite-limit", "mmlu=0"),
    case("run-suite-limit-word", lambda w: ["run", w.model(), "--suite-limit", "mmlu=most"], "--suite-limit", "'all'"),
    case(
        "run-suite-limit-other-suite",
        lambda w: ["run", w.model(), "--suites", "mmlu", "--suite-limit", "structured=all"],
        "--suite-limit structured",
        "not one of the run's suites",
    ),
    case("run-num-fewshot-negative", lambda w: ["run", w.model(), "--num-fewshot", "-1"], "--num-fewshot", "-1"),
    case("run-num-fewshot-too-many", lambda w: ["run", w.model(), "--num-fewshot", "101"], "--num-fewshot", "101"),
    case("run-max-gen-toks-negative", lambda w: ["run", w.model(), "--max-gen-toks", "-3"], "--max-gen-toks", "-3"),
    case("run-max-gen-toks-zero", lambda w: ["run", w.model(), "--max-gen-toks", "0"], "--max-gen-toks", "got 0"),
    case("run-batch-size-zero", lambda w: ["run", w.model(), "--batch-size", "0"], "--batch-size", "got 0"),
    case("run-batch-size-negative", lambda w: ["run", w.model(), "--batch-size", "-8"], "--batch-size", "-8"),
    case("run-batch-size-fraction", lambda w: ["run", w.model(), "--batch-size", "1.5"], "--batch-size", "1.5"),
    case("run-device-unknown", lambda w: ["run", w.model(), "--device", "tpu"], "--device", "tpu", "cuda:N"),
    case("run-device-bad-index", lambda w: ["run", w.model(), "--device", "cuda:x"], "--device", "cuda:x"),
    case("run-device-empty", lambda w: ["run", w.model(), "--device", ""], "--device", "''"),
    case("run-dtype-unknown", lambda w: ["run", w.model(), "--dtype", "int4"], "--dtype", "int4"),
    case("run-suites-empty", lambda w: ["run", w.model(), "--suites", ","], "--suites names no suite"),
    case("run-suites-unknown", lambda w: ["run", w.model(), "--suites", "hellaswag"], "unknown suite 'hellaswag'"),
    case("run-base-empty", lambda w: ["run", ""], "BASE is empty"),
    case("run-adapter-empty", lambda w: ["run", w.model(), "--adapter", ""], "--adapter is empty"),
    case("run-out-empty", lambda w: ["run", w.model(), "--out", ""], "--out is empty"),
    case("run-out-is-a-file", lambda w: ["run", w.model(), "--out", w.file("f.txt", "x")], "--out", "f.txt"),
    case("run-data-dir-empty", lambda w: ["run", w.model(), "--data-dir", ""], "--data-dir is empty"),
    case(
        "run-data-dir-missing", lambda w: ["run", w.model(), "--data-dir", w.missing("data")], "data", "does not exist"
    ),
    case("run-resume-empty", lambda w: ["run", w.model(), "--resume", ""], "--resume is empty"),
    case("run-resume-not-a-run", lambda w: ["run", "x", "--resume", w.folder("r")], "spec", "not a run directory"),
    case(
        "run-resume-corrupt-spec",
        lambda w: ["run", "x", "--resume", str(Path(w.file(f"r/{SPEC_FILE}", '{"spec": ')).parent)],
        SPEC_FILE,
        "unreadable run spec",
    ),
    case(
        "run-resume-spec-not-utf8",
        lambda w: ["run", "x", "--resume", str(Path(w.file(f"r/{SPEC_FILE}", b'{"spec": "\xff"}')).parent)],
        SPEC_FILE,
    ),
    case(
        "run-resume-spec-unknown-device",
        lambda w: [
            "run",
            "x",
            "--resume",
            str(Path(w.file(f"r/{SPEC_FILE}", json.dumps({"spec": {"model": {"base": "m", "device": "tpu"}}}))).parent),
        ],
        "tpu",
    ),
    # ---------------------------------------------------------------- run: model files
    case("run-model-missing", lambda w: ["run", w.missing("model"), "--suites", "mmlu"], "model", "does not exist"),
    case(
        "run-model-is-a-file", lambda w: ["run", w.file("model.bin", "x"), "--suites", "mmlu"], "model.bin", "is a file"
    ),
    case("run-model-no-config", lambda w: ["run", w.folder("m"), "--suites", "mmlu"], "no config.json"),
    case(
        "run-model-config-not-json",
        lambda w: ["run", w.model(config="{"), "--suites", "mmlu"],
        "config.json:1",
        "not valid JSON",
    ),
    case(
        "run-model-config-not-utf8",
        lambda w: ["run", w.model(config=b'{"a": "\xff"}'), "--suites", "mmlu"],
        "config.json",
        "not UTF-8",
    ),
    case(
        "run-model-config-not-an-object",
        lambda w: ["run", w.model(config="[1, 2]"), "--suites", "mmlu"],
        "config.json",
        "JSON object",
    ),
    case(
        "run-model-config-nested-too-deeply",
        lambda w: ["run", w.model(config="[" * 100_000 + "]" * 100_000), "--suites", "mmlu"],
        "config.json",
        "nested too deeply",
    ),
    case(
        "run-weights-truncated",
        lambda w: ["run", w.model(weights=valid_safetensors()[:-5]), "--suites", "mmlu"],
        "model.safetensors",
        "not a valid safetensors file",
    ),
    case(
        "run-weights-header-lies",
        lambda w: ["run", w.model(weights=lying_safetensors()), "--suites", "mmlu"],
        "model.safetensors",
        "header too large",
    ),
    case(
        "run-weights-tensor-past-the-end",
        lambda w: ["run", w.model(weights=overreaching_safetensors()), "--suites", "mmlu"],
        "model.safetensors",
        "not a valid safetensors file",
    ),
    case(
        "run-weights-empty",
        lambda w: ["run", w.model(weights=b""), "--suites", "mmlu"],
        "model.safetensors",
        "not a valid safetensors file",
    ),
    case(
        "run-weights-header-not-json",
        lambda w: ["run", w.model(weights=struct.pack("<Q", 16) + b"not json at all!"), "--suites", "mmlu"],
        "model.safetensors",
        "invalid JSON",
    ),
    case("run-pickle-weights-only", lambda w: ["run", w.pickled_model()], "pytorch_model.bin", "--allow-pickle"),
    case(
        "run-shard-index-names-missing-shard",
        lambda w: ["run", w.sharded_model()],
        "model.safetensors.index.json",
        "model-00001-of-00002.safetensors",
    ),
    case(
        "run-adapter-missing", lambda w: ["run", w.model(), "--adapter", w.missing("lora")], "adapter", "does not exist"
    ),
    case("run-adapter-no-config", lambda w: ["run", w.model(), "--adapter", w.folder("lora")], "adapter_config.json"),
    case(
        "run-adapter-config-corrupt",
        lambda w: ["run", w.model(), "--adapter", w.adapter(config="{")],
        "adapter_config.json:1",
        "not valid JSON",
    ),
    case(
        "run-adapter-weights-truncated",
        lambda w: ["run", w.model(), "--adapter", w.adapter(weights=valid_safetensors()[:20])],
        "adapter_model.safetensors",
        "not a valid safetensors file",
    ),
    # ---------------------------------------------------------------- runs and the store
    case("runs-limit-zero", lambda w: ["runs", "--limit", "0"], "--limit", "got 0"),
    case("runs-limit-past-64-bits", lambda w: ["runs", "--limit", str(2**64)], "--limit", str(2**64)),
    case(
        "store-url-is-a-text-file",
        lambda w: ["--store", f"sqlite:///{w.file('notes.txt', 'these are not tables ' * 200)}", "runs"],
        "run store URL",
        "notes.txt",
        "not a database",
    ),
    case("store-url-unknown-dialect", lambda w: ["--store", "nosuchdb://x/y", "runs"], "nosuchdb"),
    case("store-url-not-a-url", lambda w: ["--store", "::::", "runs"], "::::"),
    case(
        "store-url-under-a-file",
        lambda w: ["--store", f"sqlite:///{w.under_a_file('runs.db')}", "runs"],
        "plain-file",
    ),
    case(
        "store-url-hides-password",
        lambda w: ["--store", "postgresql+nosuchdriver://me:s3cret@localhost/db", "runs"],
        "nosuchdriver",
    ),
    # ---------------------------------------------------------------- compare
    case("compare-run-missing", lambda w: ["compare", w.missing("a"), w.run], "no such run"),
    case("compare-run-empty", lambda w: ["compare", "", w.run], "RUN_A is empty"),
    case("compare-alpha-zero", lambda w: ["compare", w.run, w.run, "--alpha", "0"], "--alpha", "got 0"),
    case("compare-alpha-one", lambda w: ["compare", w.run, w.run, "--alpha", "1"], "--alpha", "got 1"),
    case("compare-alpha-nan", lambda w: ["compare", w.run, w.run, "--alpha", "nan"], "--alpha", "nan"),
    case("compare-alpha-inf", lambda w: ["compare", w.run, w.run, "--alpha", "inf"], "--alpha", "inf"),
    case("compare-alpha-text", lambda w: ["compare", w.run, w.run, "--alpha", "low"], "--alpha", "low"),
    case(
        "compare-results-truncated",
        lambda w: ["compare", w.run_with(results='{"run_id": ', items=""), w.run],
        "results.json:1",
        "not valid JSON",
    ),
    case("compare-no-items", lambda w: ["compare", w.run, w.run], "items.jsonl", "item records"),
    case(
        "compare-items-corrupt",
        lambda w: ["compare", w.run_with_items('{"item_id": 1}\n{"item'), w.run],
        "items.jsonl:1",
        "not an item record",
    ),
    case(
        "compare-items-not-utf8",
        lambda w: ["compare", w.run_with_items(b"\xff\xfe\n"), w.run],
        "items.jsonl",
        "not UTF-8",
    ),
    # ---------------------------------------------------------------- gate: runs
    case("gate-run-missing", lambda w: ["gate", w.missing("r"), "--policy", "demo"], "no such run"),
    case("gate-run-empty", lambda w: ["gate", "", "--policy", "demo"], "RUN is empty"),
    case(
        "gate-results-not-utf8",
        lambda w: ["gate", w.run_with_results(b'{"run_id": "\xff\xfe"}'), "--policy", "demo"],
        "results.json",
        "UTF-8",
    ),
    case("gate-results-empty", lambda w: ["gate", w.run_with_results(""), "--policy", "demo"], "results.json"),
    case(
        "gate-results-foreign",
        lambda w: ["gate", w.run_with_results('{"schema_version": "1", "run_id": "x"}'), "--policy", "demo"],
        "results.json",
        "results schema",
    ),
    case(
        "gate-results-is-a-folder",
        lambda w: ["gate", str(Path(w.folder("odd/results.json")).parent), "--policy", "demo"],
        "results.json",
    ),
    case(
        "gate-baseline-missing",
        lambda w: ["gate", w.run, "--policy", "demo", "--baseline", w.missing("b")],
        "no such run",
    ),
    # ---------------------------------------------------------------- gate: policy files
    case("gate-policy-missing", lambda w: ["gate", w.run, "--policy", w.missing("p.yaml")], "p.yaml", "does not exist"),
    case("gate-policy-empty-value", lambda w: ["gate", w.run, "--policy", ""], "--policy is empty"),
    case("gate-policy-is-a-folder", lambda w: ["gate", w.run, "--policy", w.folder("pol")], "pol", "is a folder"),
    case(
        "gate-policy-not-utf8",
        lambda w: ["gate", w.run, "--policy", w.file("p.yaml", b"name: \xff\n")],
        "p.yaml",
        "not UTF-8",
    ),
    case(
        "gate-policy-bad-yaml",
        lambda w: ["gate", w.run, "--policy", w.policy(POLICY_OK + "  - [unclosed\n")],
        "policy.yaml:9",
        "not valid YAML",
    ),
    case(
        "gate-policy-duplicate-key",
        lambda w: ["gate", w.run, "--policy", w.policy(POLICY_OK.replace("min: 0.5", "min: 0.5\n    min: 0.9"))],
        "policy.yaml:6",
        "'min' appears twice",
        "first on line 5",
    ),
    case(
        "gate-policy-nan-bound",
        lambda w: ["gate", w.run, "--policy", w.policy(POLICY_OK.replace("min: 0.5", "min: .nan"))],
        "policy.yaml:5",
        "rules[0].min",
        "not a finite number",
    ),
    case(
        "gate-policy-infinite-bound",
        lambda w: ["gate", w.run, "--policy", w.policy(POLICY_OK.replace("min: 0.5", "min: -.inf"))],
        "policy.yaml:5",
        "rules[0].min",
        "not a finite number",
    ),
    case(
        "gate-policy-infinite-alpha",
        lambda w: ["gate", w.run, "--policy", w.policy("alpha: .inf\n" + POLICY_OK)],
        "policy.yaml:1",
        "alpha",
        "not a finite number",
    ),
    case(
        "gate-policy-nested-too-deeply",
        lambda w: ["gate", w.run, "--policy", w.policy(DEEP_YAML)],
        "policy.yaml:1",
        "nested deeper than",
    ),
    case(
        "gate-policy-alias-bomb",
        lambda w: ["gate", w.run, "--policy", w.policy(ALIAS_BOMB)],
        "policy.yaml",
        "expands to more than",
    ),
    case(
        "gate-policy-not-a-mapping",
        lambda w: ["gate", w.run, "--policy", w.policy("- a\n- b\n")],
        "policy.yaml:1",
        "mapping",
    ),
    case(
        "gate-policy-unknown-field",
        lambda w: ["gate", w.run, "--policy", w.policy(POLICY_OK.replace("why: a floor", "why: a floor\n    maxx: 1"))],
        "policy.yaml:8",
        "maxx",
    ),
    case(
        "gate-policy-python-tag",
        lambda w: ["gate", w.run, "--policy", w.policy("name: !!python/object:os.system x\n")],
        "policy.yaml:1",
        "not valid YAML",
    ),
    case(
        "gate-policy-control-character",
        lambda w: ["gate", w.run, "--policy", w.policy("name: a\x07b\n")],
        "policy.yaml",
        "not valid YAML",
    ),
    # ---------------------------------------------------------------- gate: outputs
    case(
        "gate-markdown-empty",
        lambda w: ["gate", w.run, "--policy", "demo", "--markdown", ""],
        "--markdown is empty",
        "GITHUB_STEP_SUMMARY",
    ),
    case("gate-junit-empty", lambda w: ["gate", w.run, "--policy", "demo", "--junit", ""], "--junit is empty"),
    case(
        "gate-junit-is-a-folder",
        lambda w: ["gate", w.run, "--policy", "demo", "--junit", w.folder("j")],
        "--junit",
        "directory",
    ),
    case(
        "gate-markdown-under-a-file",
        lambda w: ["gate", w.run, "--policy", "demo", "--markdown", w.under_a_file("summary.md")],
        "summary.md",
        "cannot write",
    ),
    case(
        "gate-junit-in-proc",
        lambda w: ["gate", w.run, "--policy", "demo", "--junit", "/proc/harness-test/junit.xml"],
        "/proc/harness-test/junit.xml",
        "cannot write",
    ),
    case(
        "gate-disk-full",
        lambda w: ["gate", w.run, "--policy", "demo"],
        "run-a",
        "cannot write",
        "no space left on the device",
        disk_full=True,
    ),
    # ---------------------------------------------------------------- report
    case("report-out-empty", lambda w: ["report", w.run, "--out", ""], "--out is empty"),
    case("report-out-is-a-file", lambda w: ["report", w.run, "--out", w.file("f.html", "x")], "--out", "f.html"),
    case(
        "report-out-under-a-file",
        lambda w: ["report", w.run, "--out", w.under_a_file(), "--no-pdf"],
        "report.html",
        "cannot write",
    ),
    case(
        "report-out-in-proc",
        lambda w: ["report", w.run, "--out", "/proc/harness-test", "--no-pdf"],
        "/proc/harness-test",
        "cannot write",
    ),
    case(
        "report-disk-full",
        lambda w: ["report", w.run, "--out", w.missing("rep"), "--no-pdf"],
        "report.html",
        "no space left on the device",
        disk_full=True,
    ),
    case("report-run-missing", lambda w: ["report", w.missing("r"), "--out", w.missing("o")], "no such run"),
    case(
        "report-results-truncated",
        lambda w: ["report", w.run_with_results('{"run_id": "run-a", "metrics": ['), "--out", w.missing("o")],
        "results.json",
        "not valid JSON",
    ),
    # ---------------------------------------------------------------- dossier
    case("dossier-out-empty", lambda w: ["dossier", w.run, "--out", ""], "--out is empty"),
    case(
        "dossier-input-missing",
        lambda w: ["dossier", w.run, "--out", w.missing("d"), "--input", w.missing("p.yaml")],
        "p.yaml",
    ),
    case(
        "dossier-input-empty", lambda w: ["dossier", w.run, "--out", w.missing("d"), "--input", ""], "--input is empty"
    ),
    case(
        "dossier-input-is-a-folder",
        lambda w: ["dossier", w.run, "--out", w.missing("d"), "--input", w.folder("prov")],
        "--input",
        "directory",
    ),
    case(
        "dossier-kind-unknown",
        lambda w: ["dossier", w.run, "--out", w.missing("d"), "--kind", "product"],
        "--kind",
        "product",
    ),
    case(
        "dossier-dataset-bad-ref",
        lambda w: ["dossier", w.run, "--out", w.missing("d"), "--dataset", "Not A Ref"],
        "Not A Ref",
        "NAME@X.Y.Z",
    ),
    case(
        "dossier-baseline-missing",
        lambda w: ["dossier", w.run, "--out", w.missing("d"), "--baseline", w.missing("b")],
        "no such run",
    ),
    case("dossier-init-path-empty", lambda w: ["dossier", "init", ""], "PATH is empty"),
    case(
        "dossier-init-exists",
        lambda w: ["dossier", "init", w.file("provider.yaml", "x: 1\n")],
        "provider.yaml exists",
        "--force",
    ),
    case(
        "dossier-init-under-a-file",
        lambda w: ["dossier", "init", w.under_a_file("provider.yaml")],
        "provider.yaml",
        "cannot write",
    ),
    case(
        "dossier-init-disk-full",
        lambda w: ["dossier", "init", w.missing("provider.yaml")],
        "provider.yaml",
        "no space left on the device",
        disk_full=True,
    ),
    case("dossier-diff-missing", lambda w: ["dossier", "diff", w.missing("old"), w.missing("new")], "old"),
    case("dossier-diff-empty", lambda w: ["dossier", "diff", "", "x"], "OLD is empty"),
    case("dossier-diff-alpha", lambda w: ["dossier", "diff", "a", "b", "--alpha", "2"], "--alpha", "got 2"),
    # ---------------------------------------------------------------- signoff and audit
    case(
        "signoff-run-missing",
        lambda w: ["signoff", w.missing("r"), "--by", "A", "--role", "rm", "--decision", "approve"],
        "no such run",
    ),
    case(
        "signoff-by-empty",
        lambda w: ["signoff", w.run, "--by", "", "--role", "rm", "--decision", "approve"],
        "--by is empty",
    ),
    case(
        "signoff-role-empty",
        lambda w: ["signoff", w.run, "--by", "A", "--role", " ", "--decision", "approve"],
        "--role is empty",
    ),
    case(
        "signoff-decision-unknown",
        lambda w: ["signoff", w.run, "--by", "A", "--role", "rm", "--decision", "maybe"],
        "--decision",
        "maybe",
    ),
    case(
        "signoff-no-dossier-yet",
        lambda w: ["signoff", w.run, "--by", "A", "--role", "rm", "--decision", "approve"],
        "no dossier yet",
    ),
    case(
        "signoff-dossier-missing",
        lambda w: [
            "signoff",
            w.run,
            "--by",
            "A",
            "--role",
            "rm",
            "--decision",
            "approve",
            "--dossier",
            w.missing("d.pdf"),
        ],
        "d.pdf",
    ),
    case(
        "signoff-dossier-empty",
        lambda w: ["signoff", w.run, "--by", "A", "--role", "rm", "--decision", "approve", "--dossier", ""],
        "--dossier is empty",
    ),
    case(
        "audit-store-not-a-database",
        lambda w: ["--store", f"sqlite:///{w.file('audit.txt', 'plain text, no tables ' * 200)}", "audit", "verify"],
        "run store URL",
        "audit.txt",
    ),
    case("audit-unknown-subcommand", lambda w: ["audit", "erase"], "No such command", "erase"),
    # ---------------------------------------------------------------- data register
    case(
        "register-file-missing",
        lambda w: ["data", "register", w.missing("d.jsonl"), "--name", "d"],
        "d.jsonl",
        "no such file",
    ),
    case(
        "register-file-is-a-folder",
        lambda w: ["data", "register", w.folder("d.jsonl"), "--name", "d"],
        "d.jsonl",
        "is a folder",
    ),
    case("register-file-empty-value", lambda w: ["data", "register", "", "--name", "d"], "FILE is empty"),
    case(
        "register-unknown-format",
        lambda w: ["data", "register", w.file("d.txt", "a\n"), "--name", "d"],
        "d.txt",
        "unknown data format",
    ),
    case(
        "register-empty-file", lambda w: ["data", "register", w.file("d.jsonl", ""), "--name", "d"], "d.jsonl", "empty"
    ),
    case(
        "register-blank-file",
        lambda w: ["data", "register", w.file("d.csv", "\n\n  \n"), "--name", "d"],
        "d.csv",
        "empty",
    ),
    case(
        "register-not-utf8",
        lambda w: ["data", "register", w.file("d.csv", b"a,b\n\xff,1\n"), "--name", "d"],
        "d.csv",
        "not UTF-8",
    ),
    case(
        "register-jsonl-truncated",
        lambda w: ["data", "register", w.file("d.jsonl", '{"a": 1}\n{"a": '), "--name", "d"],
        "d.jsonl:2",
        "not valid JSON",
    ),
    case(
        "register-jsonl-not-objects",
        lambda w: ["data", "register", w.file("d.jsonl", '{"a": 1}\n[1, 2]\n'), "--name", "d"],
        "d.jsonl:2",
        "JSON object",
    ),
    case(
        "register-jsonl-duplicate-key",
        lambda w: ["data", "register", w.file("d.jsonl", '{"a": 1}\n{"a": 1, "a": 2}\n'), "--name", "d"],
        "d.jsonl:2",
        "'a' appears twice",
    ),
    case(
        "register-jsonl-nested-too-deeply",
        lambda w: [
            "data",
            "register",
            w.file("d.jsonl", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}\n"),
            "--name",
            "d",
        ],
        "d.jsonl:1",
        "nested too deeply",
    ),
    case(
        "register-csv-duplicate-column",
        lambda w: ["data", "register", w.file("d.csv", "a,b,a\n1,2,3\n"), "--name", "d"],
        "d.csv:1",
        "'a' appears twice",
    ),
    case(
        "register-csv-malformed",
        lambda w: ["data", "register", w.file("d.csv", "a,b\n1,2,3,4\n"), "--name", "d"],
        "d.csv",
        "more fields than the header",
    ),
    case(
        "register-csv-unclosed-quote",
        lambda w: ["data", "register", w.file("d.csv", 'a,b\n"1,2\n'), "--name", "d"],
        "d.csv",
        "not a well-formed CSV",
    ),
    case(
        "register-csv-header-only",
        lambda w: ["data", "register", w.file("d.csv", "a,b\n"), "--name", "d"],
        "d.csv",
        "no rows",
    ),
    case(
        "register-parquet-corrupt",
        lambda w: ["data", "register", w.file("d.parquet", b"PAR1 this is not parquet PAR1"), "--name", "d"],
        "d.parquet",
        "not a readable Parquet",
    ),
    case(
        "register-bad-name", lambda w: ["data", "register", w.file("d.csv", "a\n1\n"), "--name", "Bad Name"], "Bad Name"
    ),
    case(
        "register-empty-name",
        lambda w: ["data", "register", w.file("d.csv", "a\n1\n"), "--name", ""],
        "--name is empty",
    ),
    case(
        "register-bad-version",
        lambda w: ["data", "register", w.file("d.csv", "a\n1\n"), "--name", "d", "--version", "1.0"],
        "--version",
        "1.0",
    ),
    case(
        "register-bad-source",
        lambda w: ["data", "register", w.file("d.csv", "a\n1\n"), "--name", "d", "--source", "rumour:x"],
        "--source",
        "rumour",
    ),
    case(
        "register-parent-unknown",
        lambda w: [
            "data",
            "register",
            w.file("d.csv", "a\n1\n"),
            "--name",
            "d",
            "--parent",
            "p@1.0.0",
            "--transform",
            "t",
        ],
        "p@1.0.0",
        "not registered",
    ),
    case(
        "register-transform-without-parent",
        lambda w: ["data", "register", w.file("d.csv", "a\n1\n"), "--name", "d", "--transform", "dedup"],
        "--parent",
    ),
    # ---------------------------------------------------------------- data verify, lineage, show, list
    case(
        "verify-bad-ref", lambda w: ["data", "verify", "nonsense", w.file("d.csv", "a\n1\n")], "nonsense", "NAME@X.Y.Z"
    ),
    case(
        "verify-unregistered",
        lambda w: ["data", "verify", "d@1.0.0", w.file("d.csv", "a\n1\n")],
        "d@1.0.0",
        "not registered",
    ),
    case("verify-file-empty-value", lambda w: ["data", "verify", "d@1.0.0", ""], "FILE is empty"),
    case("lineage-bad-ref", lambda w: ["data", "lineage", "d@one"], "d@one", "NAME@X.Y.Z"),
    case("lineage-unregistered", lambda w: ["data", "lineage", "d@1.0.0"], "d@1.0.0", "not registered"),
    case("show-unregistered", lambda w: ["data", "show", "d@1.0.0"], "d@1.0.0", "not registered"),
    case("show-out-empty", lambda w: ["data", "show", "d@1.0.0", "--out", ""], "--out is empty"),
    case("show-out-is-a-folder", lambda w: ["data", "show", "d@1.0.0", "--out", w.folder("o")], "--out", "directory"),
    # ---------------------------------------------------------------- data validate
    case(
        "validate-suite-missing",
        lambda w: ["data", "validate", w.file("d.csv", "item_id\n1\n"), "--expectations", w.missing("s.yaml")],
        "s.yaml",
        "does not exist",
    ),
    case(
        "validate-suite-is-a-folder",
        lambda w: ["data", "validate", w.file("d.csv", "item_id\n1\n"), "--expectations", w.folder("suite")],
        "suite",
        "is a folder",
    ),
    case(
        "validate-suite-bad-yaml",
        lambda w: ["data", "validate", w.file("d.csv", "item_id\n1\n"), "--expectations", w.file("s.yaml", "a: [\n")],
        "s.yaml",
        "not valid YAML",
    ),
    case(
        "validate-suite-duplicate-key",
        lambda w: [
            "data",
            "validate",
            w.file("d.csv", "item_id\n1\n"),
            "--expectations",
            w.file("s.yaml", SUITE_OK + "name: t\n"),
        ],
        "s.yaml:5",
        "'name' appears twice",
    ),
    case(
        "validate-suite-nan-argument",
        lambda w: [
            "data",
            "validate",
            w.file("d.csv", "item_id\n1\n"),
            "--expectations",
            w.file("s.yaml", SUITE_OK + "    mostly: .nan\n"),
        ],
        "s.yaml:5",
        "expectations[0].mostly",
        "not a finite number",
    ),
    case(
        "validate-suite-not-a-mapping",
        lambda w: ["data", "validate", w.file("d.csv", "item_id\n1\n"), "--expectations", w.file("s.yaml", "- 1\n")],
        "s.yaml:1",
        "expectations",
    ),
    case(
        "validate-expectations-empty-value",
        lambda w: ["data", "validate", w.file("d.csv", "item_id\n1\n"), "--expectations", ""],
        "--expectations is empty",
    ),
    # ---------------------------------------------------------------- data agreement
    case("agreement-file-missing", lambda w: ["data", "agreement", w.missing("r.csv")], "r.csv", "no such file"),
    case(
        "agreement-bootstrap-too-few",
        lambda w: ["data", "agreement", w.ratings(RATINGS_OK), "--bootstrap", "5"],
        "--bootstrap",
        "got 5",
    ),
    case(
        "agreement-bootstrap-too-many",
        lambda w: ["data", "agreement", w.ratings(RATINGS_OK), "--bootstrap", str(10**12)],
        "--bootstrap",
        str(10**12),
    ),
    case(
        "agreement-no-label-or-score",
        lambda w: ["data", "agreement", w.ratings("item_id,rater_id,x\n1,a,1\n1,b,1\n")],
        "ratings.csv",
        "'label' or a 'score'",
    ),
    case(
        "agreement-missing-rater-column",
        lambda w: ["data", "agreement", w.ratings("item_id,label\n1,x\n")],
        "ratings.csv",
        "missing column 'rater_id'",
    ),
    case(
        "agreement-one-rater",
        lambda w: ["data", "agreement", w.ratings("item_id,rater_id,label\n1,a,x\n2,a,y\n")],
        "two raters",
    ),
    case(
        "agreement-duplicate-rating",
        lambda w: ["data", "agreement", w.ratings(RATINGS_OK + "1,a,y,1,0.5\n")],
        "ratings.csv:6",
        "twice",
    ),
    case(
        "agreement-score-nan",
        lambda w: ["data", "agreement", w.ratings(ratings_with("score", "nan"))],
        "ratings.csv:2",
        "score",
        "'nan'",
    ),
    case(
        "agreement-score-NaN",
        lambda w: ["data", "agreement", w.ratings(ratings_with("score", "NaN"))],
        "ratings.csv:2",
        "score",
        "'NaN'",
    ),
    case(
        "agreement-score-inf",
        lambda w: ["data", "agreement", w.ratings(ratings_with("score", "inf"))],
        "ratings.csv:2",
        "score",
        "'inf'",
    ),
    case(
        "agreement-score-overflows-to-inf",
        lambda w: ["data", "agreement", w.ratings(ratings_with("score", "1e999"))],
        "ratings.csv:2",
        "score",
        "1e999",
    ),
    case(
        "agreement-score-text",
        lambda w: ["data", "agreement", w.ratings(ratings_with("score", "high"))],
        "score",
        "numbers",
    ),
    case(
        "agreement-rater-empty",
        lambda w: ["data", "agreement", w.ratings(ratings_with("rater_id", ""))],
        "ratings.csv:2",
        "rater_id is empty",
    ),
    case(
        "agreement-jsonl-nan-constant",
        lambda w: [
            "data",
            "agreement",
            w.file(
                "r.jsonl",
                '{"item_id": 1, "rater_id": "a", "score": 1}\n\n{"item_id": 1, "rater_id": "b", "score": NaN}\n',
            ),
        ],
        "r.jsonl:3",
        "score",
        "nan",
    ),
    case(
        "agreement-jsonl-infinity-text",
        lambda w: [
            "data",
            "agreement",
            w.file(
                "r.jsonl",
                '{"item_id": 1, "rater_id": "a", "score": "-Infinity"}\n{"item_id": 1, "rater_id": "b", "score": 2}\n',
            ),
        ],
        "r.jsonl:1",
        "score",
        "-Infinity",
    ),
    # ---------------------------------------------------------------- data resolve
    case(
        "resolve-confidence-nan",
        lambda w: ["data", "resolve", w.ratings(ratings_with("confidence", "nan")), "--out", w.missing("o")],
        "ratings.csv:2",
        "confidence",
        "'nan'",
    ),
    case(
        "resolve-confidence-inf",
        lambda w: ["data", "resolve", w.ratings(ratings_with("confidence", "Infinity")), "--out", w.missing("o")],
        "ratings.csv:2",
        "confidence",
    ),
    case(
        "resolve-confidence-out-of-range",
        lambda w: ["data", "resolve", w.ratings(ratings_with("confidence", "1.5")), "--out", w.missing("o")],
        "ratings.csv:2",
        "confidence must lie in [0, 1]",
    ),
    case(
        "resolve-no-label-column",
        lambda w: ["data", "resolve", w.ratings("item_id,rater_id,score\n1,a,1\n1,b,2\n"), "--out", w.missing("o")],
        "ratings.csv",
        "'label' column",
    ),
    case("resolve-out-empty", lambda w: ["data", "resolve", w.ratings(RATINGS_OK), "--out", ""], "--out is empty"),
    case(
        "resolve-out-under-a-file",
        lambda w: ["data", "resolve", w.ratings(RATINGS_OK), "--out", w.under_a_file()],
        "resolved.jsonl",
        "cannot write",
    ),
    case(
        "resolve-disk-full",
        lambda w: ["data", "resolve", w.ratings(RATINGS_OK), "--out", w.missing("o")],
        "resolved.jsonl",
        "no space left on the device",
        disk_full=True,
    ),
    case(
        "resolve-items-missing",
        lambda w: ["data", "resolve", w.ratings(RATINGS_OK), "--out", w.missing("o"), "--items", w.missing("i.jsonl")],
        "i.jsonl",
        "no such file",
    ),
    case(
        "resolve-items-lack-id-field",
        lambda w: [
            "data",
            "resolve",
            w.ratings(RATINGS_OK),
            "--out",
            w.missing("o"),
            "--items",
            w.file("i.jsonl", '{"key": 1}\n'),
        ],
        "i.jsonl",
        "missing column 'id'",
    ),
    case(
        "resolve-id-field-empty",
        lambda w: ["data", "resolve", w.ratings(RATINGS_OK), "--out", w.missing("o"), "--id-field", ""],
        "--id-field is empty",
    ),
    # ---------------------------------------------------------------- train (the config is refused before training)
    case("train-config-missing", lambda w: ["train", w.missing("t.yaml")], "t.yaml", "no such training config"),
    case("train-config-empty-value", lambda w: ["train", ""], "CONFIG.yaml is empty"),
    case("train-config-is-a-folder", lambda w: ["train", w.folder("t.yaml")], "t.yaml", "directory"),
    case("train-config-bad-yaml", lambda w: ["train", w.file("t.yaml", "name: [\n")], "t.yaml", "not valid YAML"),
    case(
        "train-config-duplicate-key",
        lambda w: ["train", w.file("t.yaml", TRAIN_OK + "name: other\n")],
        "t.yaml:5",
        "'name' appears twice",
    ),
    case(
        "train-config-nan-learning-rate",
        lambda w: ["train", w.file("t.yaml", TRAIN_OK + "learning_rate: .nan\n")],
        "t.yaml:5",
        "learning_rate",
        "not a finite number",
    ),
    case(
        "train-config-nan-as-text",
        lambda w: ["train", w.file("t.yaml", TRAIN_OK + "learning_rate: 'nan'\n")],
        "t.yaml:5",
        "learning_rate",
        "finite",
    ),
    case(
        "train-config-infinite-epochs",
        lambda w: ["train", w.file("t.yaml", TRAIN_OK + "epochs: .inf\n")],
        "t.yaml:5",
        "epochs",
    ),
    case(
        "train-config-negative-seed", lambda w: ["train", w.file("t.yaml", TRAIN_OK + "seed: -1\n")], "t.yaml:5", "seed"
    ),
    case(
        "train-config-unknown-key", lambda w: ["train", w.file("t.yaml", TRAIN_OK + "epoch: 3\n")], "t.yaml:5", "epoch"
    ),
    case("train-config-not-a-mapping", lambda w: ["train", w.file("t.yaml", "- 1\n")], "t.yaml:1", "mapping"),
    case(
        "train-config-empty-output-dir",
        lambda w: ["train", w.file("t.yaml", TRAIN_OK + "output_dir: ''\n")],
        "t.yaml:5",
        "output_dir",
        "empty path",
    ),
    case(
        "train-data-dir-empty", lambda w: ["train", w.file("t.yaml", TRAIN_OK), "--data-dir", ""], "--data-dir is empty"
    ),
    # ---------------------------------------------------------------- model
    case("tiny-seed-negative", lambda w: ["model", "tiny", w.missing("m"), "--seed", "-1"], "--seed", "-1"),
    case(
        "tiny-seed-past-32-bits",
        lambda w: ["model", "tiny", w.missing("m"), "--seed", str(2**40)],
        "--seed",
        str(2**40),
    ),
    case("tiny-directory-empty", lambda w: ["model", "tiny", ""], "DIRECTORY is empty"),
    case("tiny-directory-is-a-file", lambda w: ["model", "tiny", w.file("m", "x")], "DIRECTORY", "file"),
    case("tiny-adapter-empty", lambda w: ["model", "tiny", w.missing("m"), "--adapter", ""], "--adapter is empty"),
    case("fingerprint-missing", lambda w: ["model", "fingerprint", w.missing("m")], "does not exist"),
    case("fingerprint-empty", lambda w: ["model", "fingerprint", ""], "BASE is empty"),
    case(
        "fingerprint-truncated-weights",
        lambda w: ["model", "fingerprint", w.model(weights=valid_safetensors()[:30])],
        "model.safetensors",
        "not a valid safetensors file",
    ),
    case(
        "fingerprint-lying-header",
        lambda w: ["model", "fingerprint", w.model(weights=lying_safetensors())],
        "model.safetensors",
        "header too large",
    ),
    case(
        "fingerprint-adapter-weights-lie",
        lambda w: ["model", "fingerprint", w.model(), "--adapter", w.adapter(weights=lying_safetensors())],
        "adapter_model.safetensors",
    ),
    case(
        "fingerprint-weights-folder",
        lambda w: ["model", "fingerprint", w.model_with_weights_folder()],
        "model.safetensors",
    ),
    # ---------------------------------------------------------------- demo
    case("demo-limit-zero", lambda w: ["demo", "--limit", "0"], "--limit", "got 0"),
    case("demo-out-empty", lambda w: ["demo", "--out", ""], "--out is empty"),
    case("demo-out-is-a-file", lambda w: ["demo", "--out", w.file("demo.txt", "x")], "--out", "demo.txt"),
    case("demo-data-dir-empty", lambda w: ["demo", "--data-dir", ""], "--data-dir is empty"),
    # ---------------------------------------------------------------- the command line itself
    case("unknown-command", lambda w: ["evaluate"], "No such command", "evaluate"),
    case("unknown-option", lambda w: ["run", "--frobnicate"], "No such option", "--frobnicate"),
    case("missing-argument", lambda w: ["gate"], "Missing argument", "RUN"),
    case("missing-required-option", lambda w: ["gate", "x"], "Missing option", "--policy"),
]


def test_the_table_covers_at_least_a_hundred_inputs_across_every_command() -> None:
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES), "case ids are unique"
    covered = " ".join(c.id for c in CASES)
    for command in (
        "run-",
        "runs-",
        "compare-",
        "gate-",
        "report-",
        "dossier-",
        "dossier-init",
        "dossier-diff",
        "signoff-",
        "audit-",
        "register-",
        "verify-",
        "validate-",
        "agreement-",
        "resolve-",
        "lineage-",
        "show-",
        "train-",
        "tiny-",
        "fingerprint-",
        "demo-",
    ):
        assert command in covered, command


def _disk_full(*args: object) -> int:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_exit_code_2(bad: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = Workspace(tmp_path)
    args = bad.build(workspace)
    for name, value in bad.env.items():
        monkeypatch.setenv(name, value)
    if bad.disk_full:
        monkeypatch.setattr(os, "write", _disk_full)
    result = run_cli(*args)
    monkeypatch.undo()
    stderr = result.stderr
    assert result.exit_code == 2, f"exit {result.exit_code}\n{result.output}{stderr}"
    assert "Traceback" not in result.output + stderr
    assert stderr.startswith("harness: error: "), stderr
    assert stderr.count("\n") == 1, stderr
    for word in bad.expect:
        assert word in stderr, f"{word!r} not in {stderr!r}"


# ------------------------------------------------------------- the boundary, case by case


def _refuse_reading(monkeypatch: pytest.MonkeyPatch, name: str, method: str) -> None:
    """Make ``Path.<method>`` of any file called ``name`` fail as an unreadable file does (EACCES).

    Tests run as root, whom chmod does not stop, so the refusal is simulated.
    """
    original = getattr(Path, method)

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        if self.name == name:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, method, refuse)


def assert_one_line(result: object, *expected: str) -> str:
    from click.testing import Result

    assert isinstance(result, Result)
    assert result.exit_code == 2, result.output + result.stderr
    assert result.stderr.startswith("harness: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in expected:
        assert word in result.stderr, result.stderr
    return result.stderr


def test_an_unreadable_policy_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = Workspace(tmp_path)
    run, policy = w.run, w.policy(POLICY_OK)
    _refuse_reading(monkeypatch, "policy.yaml", "read_bytes")
    assert_one_line(run_cli("gate", run, "--policy", policy), "policy.yaml", "permission denied")


def test_an_unreadable_file_in_any_reader_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The boundary turns an OSError from a reader that does not handle it into its file and reason."""
    run = Workspace(tmp_path).run
    for method in ("read_text", "read_bytes"):
        _refuse_reading(monkeypatch, "results.json", method)
    assert_one_line(run_cli("gate", run, "--policy", "demo"), "results.json", "permission denied")


def test_an_unreadable_ratings_file_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ratings = Workspace(tmp_path).ratings(RATINGS_OK)
    _refuse_reading(monkeypatch, "ratings.csv", "read_bytes")
    assert_one_line(run_cli("data", "agreement", ratings), "ratings.csv", "permission denied")


def test_a_bug_shows_its_traceback_and_says_how_to_report_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.cli.app import App

    def broken(self: App, ref: str) -> Path:
        raise ZeroDivisionError("a programming error")

    monkeypatch.setattr(App, "resolve_run", broken)
    result = run_cli("report", "some-run", "--out", str(tmp_path / "o"))
    assert result.exit_code == 3, result.output
    assert "Traceback" in result.stderr and "ZeroDivisionError: a programming error" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("harness: internal error (ZeroDivisionError)"), last
    assert "bug in harness" in last and "--debug" in last


def test_debug_lets_a_bug_through_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.cli.app import App

    def broken(self: App, ref: str) -> Path:
        raise ZeroDivisionError("a programming error")

    monkeypatch.setattr(App, "resolve_run", broken)
    result = run_cli("--debug", "report", "some-run", "--out", str(tmp_path / "o"))
    assert isinstance(result.exception, ZeroDivisionError)


def test_debug_lets_an_os_error_through_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Workspace(tmp_path).run
    for method in ("read_text", "read_bytes"):
        _refuse_reading(monkeypatch, "results.json", method)
    result = run_cli("--debug", "gate", run, "--policy", "demo")
    assert isinstance(result.exception, PermissionError)


def test_a_decode_error_names_the_file_that_was_being_read(tmp_path: Path) -> None:
    from harness.cli.boundary import user_error_text

    path = tmp_path / "data.txt"
    path.write_bytes(b"ok\n\xff\n")
    try:
        with open(path, encoding="utf-8") as handle:
            handle.read()
    except UnicodeDecodeError as exc:
        assert user_error_text(exc) == f"{path}: not UTF-8 text (byte 3)"
    else:
        pytest.fail("the file is not UTF-8")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
        (OverflowError("int too large to convert"), "a number too large to use (int too large to convert)"),
        (OSError(errno.ENOSPC, "No space left on device", "/x/out.json"), "/x/out.json: no space left on the device"),
        (OSError(errno.EROFS, "Read-only file system", "/ro/f"), "/ro/f: read-only file system"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "/x/d"), "/x/d: is a folder, not a file"),
        (MemoryError(), "out of memory"),
        (json.JSONDecodeError("Expecting value", "{\n", 2), "line 2: not valid JSON (Expecting value)"),
    ],
    ids=["recursion", "overflow", "disk-full", "read-only", "is-a-folder", "memory", "json"],
)
def test_environment_errors_become_one_line(exc: BaseException, expected: str) -> None:
    from harness.cli.boundary import user_error_text

    text = user_error_text(exc)
    assert text is not None and expected in text and "\n" not in text


def test_programming_errors_are_not_taken_for_input_errors() -> None:
    from harness.cli.boundary import user_error_text

    for exc in (KeyError("x"), TypeError("bad call"), AttributeError("no"), ValueError("bug"), AssertionError()):
        assert user_error_text(exc) is None, exc


def test_store_errors_name_the_url_without_its_password() -> None:
    import sqlalchemy.exc

    from harness.cli.boundary import user_error_text

    exc = sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("could not connect to server"))
    text = user_error_text(exc, store_url="postgresql://me:s3cret@db.example/harness")
    assert text is not None
    assert text.startswith("run store URL postgresql://me:***@db.example/harness: ")
    assert "could not connect to server" in text and "s3cret" not in text
    integrity = sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))
    assert user_error_text(integrity, store_url="sqlite://") is None, "an integrity error is harness's own bug"


def test_a_full_disk_leaves_the_old_file_and_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.errors import OutputError
    from harness.files.atomic import atomic_write_text

    target = tmp_path / "verdict.json"
    target.write_text("old")
    monkeypatch.setattr(os, "fsync", _disk_full)
    with pytest.raises(OutputError, match=r"verdict.json: cannot write \(no space left on the device\)"):
        atomic_write_text(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["verdict.json"], "the temp file is removed"


def test_device_option_accepts_cpu_cuda_cuda_n_and_mps_only() -> None:
    import click

    from harness.cli.options import Device
    from harness.errors import ModelError
    from harness.models.modelref import ModelRef

    for good in ("cpu", "cuda", "cuda:0", "cuda:7", "mps"):
        assert Device().convert(good, None, None) == good
    for bad in ("tpu", "cuda:", "cuda:x", "CPU", "cuda:0,1", ""):
        with pytest.raises(click.BadParameter):
            Device().convert(bad, None, None)
        with pytest.raises(ModelError, match="is not one of cpu, cuda, cuda:N or mps"):
            ModelRef("m", device=bad)


def test_a_device_torch_cannot_use_is_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from harness.errors import ModelError
    from harness.models.modelref import ModelRef

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ModelError, match=r"device 'cuda:0': torch finds no CUDA GPU"):
        ModelRef("m", device="cuda:0").check_device()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ModelError, match=r"device 'cuda:3': this machine has 1 CUDA GPU"):
        ModelRef("m", device="cuda:3").check_device()
    ModelRef("m", device="cuda:0").check_device()
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ModelError, match="no Apple GPU"):
        ModelRef("m", device="mps").check_device()
    ModelRef("m", device="cpu").check_device()


def test_every_path_option_refuses_an_empty_value() -> None:
    """Each file or folder parameter of every command uses the type that refuses "" (which means ".")."""
    import click

    from harness.cli import COMMANDS, main
    from harness.cli.options import PathType

    def walk(command: click.Command, name: str) -> list[tuple[str, click.Parameter]]:
        found = [(name, p) for p in command.params]
        if isinstance(command, click.Group):
            for sub_name, sub in command.commands.items():
                found += walk(sub, f"{name} {sub_name}")
        return found

    ctx = click.Context(main)
    params = [pair for cmd in COMMANDS for pair in walk(main.get_command(ctx, cmd), cmd)]  # type: ignore[arg-type]
    paths = [(name, p) for name, p in params if isinstance(p.type, click.Path)]
    assert len(paths) >= 20
    plain = [f"{name} {p.name}" for name, p in paths if not isinstance(p.type, PathType)]
    assert plain == []


def test_a_merge_key_may_be_overridden_but_a_key_may_not_repeat(tmp_path: Path) -> None:
    from harness.errors import InputError
    from harness.files.yaml_files import read_yaml

    merged = tmp_path / "merged.yaml"
    merged.write_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  x: 3\n")
    assert read_yaml(merged, InputError)[1]["other"] == {"x": 3, "y": 2}
    repeated = tmp_path / "repeated.yaml"
    repeated.write_text("other:\n  x: 1\n  y: 2\n  x: 3\n")
    with pytest.raises(InputError, match=r"repeated.yaml:4: key 'x' appears twice .*first on line 2"):
        read_yaml(repeated, InputError)


def test_an_empty_cell_is_a_missing_rating_not_an_error(tmp_path: Path) -> None:
    import math

    from harness.data.agreement import load_ratings

    frame = load_ratings(Workspace(tmp_path).ratings(ratings_with("score", "")))
    assert math.isnan(frame["score"].iloc[0]) and frame["score"].iloc[1] == 2.0


def test_a_risk_id_the_catalogue_lacks_is_refused_with_its_line(tmp_path: Path) -> None:
    from harness.errors import InputError
    from harness.reports.provider import ProviderInput, load_provider_input, validate_risk_ids

    path = tmp_path / "provider.yaml"
    path.write_text("provider: ACME\nrisks:\n  known-risk:\n    owner: A\n  misspelt-risk:\n    owner: B\n")
    with pytest.raises(InputError, match=r"provider.yaml:5: risks.misspelt-risk: no such risk in the risk catalogue"):
        load_provider_input(path, catalogue_ids=["known-risk", "other"])
    assert load_provider_input(path).risks.keys() == {"known-risk", "misspelt-risk"}, "no catalogue, no check"
    provider = load_provider_input(path)
    with pytest.raises(InputError, match=r"^provider input: risks.misspelt-risk: .*its ids: known-risk"):
        validate_risk_ids(provider, ["known-risk"])
    validate_risk_ids(provider, ["known-risk", "misspelt-risk"])
    validate_risk_ids(ProviderInput(), [])
