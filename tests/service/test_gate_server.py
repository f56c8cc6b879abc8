"""``harness gate RUN --server URL``: the same verdict table and exit code as the local gate on the same run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.store import RunStore
from tests.helpers import invoke
from tests.service.conftest import Accounts, make_accounts, seeded_run, service_app, serving, thread_worker

PASSING, FAILING = "20261122T000000Z-aaaaaaaa", "20261122T000001Z-bbbbbbbb"


@dataclass
class Server:
    url: str
    store_url: str
    accounts: Accounts
    runs: Path


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    store_url, root = f"sqlite:///{tmp_path / 'runs.db'}", tmp_path / "service"
    store = RunStore(store_url)
    accounts = make_accounts(store)
    seeded_run(store, tmp_path / "runs", PASSING)
    seeded_run(store, tmp_path / "runs", FAILING, **{"mmlu.accuracy": (20, 100), "gsm8k.exact_match": (40, 50)})
    monkeypatch.setenv("HARNESS_TOKEN", accounts.tokens["ci"])
    with serving(service_app(store_url, root)) as url, thread_worker(store_url, root):
        yield Server(url, store_url, accounts, tmp_path / "runs")


@pytest.mark.parametrize(("run", "code"), [(PASSING, 0), (FAILING, 1)])
def test_the_gate_on_the_server_prints_the_same_verdict_and_exits_the_same(
    server: Server, tmp_path: Path, run: str, code: int
) -> None:
    local = invoke("--store", server.store_url, "gate", run, "--policy", "baseline-minimums")
    remote = invoke(
        "gate", run, "--policy", "baseline-minimums", "--server", server.url, "--markdown", str(tmp_path / "summary.md")
    )
    assert local[0] == remote[0] == code, (local, remote)
    assert remote[1] == local[1]  # the verdict table, line for line
    assert "gate job" in remote[2] and "submitted to" in remote[2]  # progress on stderr
    assert (tmp_path / "summary.md").read_text().count("baseline-minimums") >= 1
    kept = RunStore(server.store_url).verdicts(run)
    assert [v["policy"] for v in kept] == ["baseline-minimums"] * 2  # both verdicts are in the one shared store


def test_a_local_policy_file_and_a_run_folder_travel_to_the_server(server: Server, tmp_path: Path) -> None:
    policy = tmp_path / "strict.yaml"
    policy.write_text(
        "name: strict\nversion: 1\nrules:\n  - id: mmlu-90\n    metric: mmlu.accuracy\n    min: 0.9\n"
        '    severity: block\n    article: "EU AI Act Art. 15(1)"\n    why: a stricter bar\n',
        encoding="utf-8",
    )
    folder = str(server.runs / PASSING)
    local = invoke("--store", server.store_url, "gate", folder, "--policy", str(policy))
    remote = invoke("gate", folder, "--policy", str(policy), "--server", server.url)
    assert local[0] == remote[0] == 1 and remote[1] == local[1]
    assert "mmlu-90" in remote[1]


def test_a_gate_the_server_cannot_do_is_one_line_and_exit_2(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, stderr = invoke("gate", PASSING, "--policy", "no-such-policy", "--server", server.url)
    assert code == 2 and stderr.count("harness: error:") == 1 and "no-such-policy" in stderr
    code, _, stderr = invoke(
        "gate", "20990101T000000Z-00000000", "--policy", "baseline-minimums", "--server", server.url
    )
    assert code == 2 and "no run with this id in the service's store" in stderr
    monkeypatch.setenv("HARNESS_TOKEN", server.accounts.tokens["viewer"])
    code, _, stderr = invoke("gate", PASSING, "--policy", "baseline-minimums", "--server", server.url)
    assert code == 2 and "403" in stderr and "may not submit gate jobs" in stderr
    monkeypatch.delenv("HARNESS_TOKEN")
    code, _, stderr = invoke("gate", PASSING, "--policy", "baseline-minimums", "--server", server.url)
    assert code == 2 and "HARNESS_TOKEN" in stderr
