"""The run store's behaviour, the same on SQLite and on PostgreSQL (the ``store_url`` fixture runs each test on both).

These are the store parts of tests/test_audit_*.py and tests/test_faults.py, written
against any SQLAlchemy URL: tampering goes through SQLAlchemy instead of sqlite3, and
concurrent writers are processes sharing one database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from harness.schema.results import ItemRecord
from harness.store import RunStore
from harness.store.audit import KEY_FIELD, append_entry, audit_head, entry_hash, record_event, verify_chain
from harness.store.runs import audit_table, runs_table
from harness.store.schema_version import HEAD
from tests.helpers import make_result, store_result

REPO = Path(__file__).resolve().parents[2]


def test_a_fresh_store_is_created_at_the_newest_schema_revision(store_url: str) -> None:
    store = RunStore(store_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == HEAD
    RunStore(store_url)  # opening it again changes nothing
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


def test_a_run_is_indexed_when_it_starts_and_completed_from_its_results(store_url: str, tmp_path: Path) -> None:
    store = RunStore(store_url)
    result = make_result("20261122T000000Z-abcdef12")
    run_dir = tmp_path / "runs" / result.run_id
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
    store_result(tmp_path / "runs", result)  # results.json appears; the store has not heard of it
    row = store.find_run(result.run_id)
    assert row is not None and row.status == "finished"
    assert row.headline["mmlu.accuracy"]["n"] == 100
    assert [r.run_id for r in store.runs()] == [result.run_id]
    store.remove_run(result.run_id)
    assert store.runs() == []


def test_verdicts_datasets_evidence_and_dossiers_are_kept(store_url: str) -> None:
    store = RunStore(store_url)
    store.record_verdict("r1", "p", "pass", "2026-11-22T00:00:00+00:00", baseline=None, path=Path("/x/verdict.json"))
    store.record_verdict("r1", "q", "fail", "2026-11-22T00:00:01+00:00", baseline="r0", path=None)
    assert [(v["policy"], v["verdict"], v["baseline_run_id"]) for v in store.verdicts("r1")] == [
        ("p", "pass", None),
        ("q", "fail", "r0"),
    ]
    record = {"name": "d", "version": "1.0.0", "note": "ünïcode"}
    assert store.add_dataset("d", "1.0.0", "ab" * 32, "2026-11-22", record) is True
    assert store.add_dataset("d", "1.0.0", "cd" * 32, "2026-11-22", record) is False  # the primary key decides
    assert store.dataset("d", "1.0.0") == record and store.datasets("d") == [record]
    store.add_evidence("d", "1.0.0", "validation", "2026-11-22T00:00:00", {"ok": False})
    store.add_evidence("d", "1.0.0", "validation", "2026-11-22T00:00:01", {"ok": True})
    assert store.evidence("d", "1.0.0")["validation"]["ok"] is True
    row = {"run_id": "r1", "kind": "system", "created_at": "t", "pdf": None, "pdf_sha256": None}
    store.record_dossier(row | {"html": "/d/1/dossier.html", "html_sha256": "1" * 64})
    store.record_dossier(row | {"html": "/d/2/dossier.html", "html_sha256": "2" * 64})
    latest = store.latest_dossier("r1")
    assert latest is not None and latest["html"] == "/d/2/dossier.html"
    assert ("dossier", Path("/d/2/dossier.json")) in store.recorded_files()


def test_item_records_are_stored_once_per_model_task_and_item(store_url: str) -> None:
    store = RunStore(store_url)
    first = ItemRecord(suite="mmlu", item_id="mmlu/1", prompt_hash="h", target=0, prediction=0, correct=True)
    changed = first.model_copy(update={"prediction": 1, "correct": False})
    store.save_item_records("m", "lm-eval", {"task": [first]})
    store.save_item_records("m", "lm-eval", {"task": [changed]})  # the record stored first stays
    assert store.item_records("m", "lm-eval", ["task"])["task"]["mmlu/1"].correct is True
    assert store.item_records("other", "lm-eval", ["task"]) == {"task": {}}


def test_the_signed_chain_verifies_and_detects_an_edit_and_a_forged_entry(store_url: str) -> None:
    store = RunStore(store_url)
    for i in range(3):
        append_entry(store, f"run-{i}", "signoff", {"by": f"signer {i}", "decision": "approve"})
    record_event(store, "run-2", "gate", {"verdict": "pass"})
    check = verify_chain(store, recorded=[])
    assert check.ok and check.entries == 4, check.problems
    with store.engine.begin() as conn:  # what a writer of the store can do: edit an entry
        row = conn.execute(select(audit_table).where(audit_table.c.id == 2)).one()
        edited = dict(row.entry) | {"decision": "reject"}
        conn.execute(update(audit_table).where(audit_table.c.id == 2).values(entry=edited))
    problems = verify_chain(store, recorded=[]).problems
    assert any("entry 2: its content no longer matches its hash" in p for p in problems)


def test_an_appended_entry_with_a_correct_hash_but_no_signature_is_detected(store_url: str) -> None:
    store = RunStore(store_url)
    append_entry(store, "run-1", "signoff", {"by": "Alice", "decision": "approve"})
    head = audit_head(store)
    key = store.audit_rows()[-1]["entry"][KEY_FIELD]
    entry = {
        "created_at": "2026-11-22T00:00:00+00:00",
        "run_id": "run-x",
        "action": "signoff",
        "by": "Mallory",
        KEY_FIELD: key,
    }
    with store.engine.begin() as conn:
        conn.execute(
            audit_table.insert().values(
                created_at=entry["created_at"],
                run_id="run-x",
                action="signoff",
                entry=entry,
                prev_hash=head,
                entry_hash=entry_hash(head, entry),
                signature=None,
            )
        )
    problems = verify_chain(store, recorded=[]).problems
    assert problems == ["entry 2: not signed (appended outside harness)"]


def test_deleting_the_newest_entries_is_detected_through_a_recorded_head(store_url: str) -> None:
    store = RunStore(store_url)
    for i in range(3):
        append_entry(store, "run", "signoff", {"by": f"signer {i}"})
    head = audit_head(store)
    with store.engine.begin() as conn:
        conn.execute(audit_table.delete().where(audit_table.c.entry_hash == head))
    assert verify_chain(store, recorded=[]).ok  # a shorter chain is still a chain...
    check = verify_chain(store, head=head, recorded=[])
    assert not check.ok and "is not in the log" in check.problems[0]  # ...but the head recorded elsewhere is gone


SIGN = """
import sys
from harness.store import RunStore
from harness.store.audit import append_entry
store = RunStore(sys.argv[1])
for i in range(int(sys.argv[3])):
    append_entry(store, "run", "signoff", {"by": f"{sys.argv[2]}-{i}"})
"""


@pytest.mark.slow
def test_concurrent_writers_in_several_processes_leave_one_unbroken_chain(store_url: str, private_home: Path) -> None:
    RunStore(store_url)
    append_entry(RunStore(store_url), "run", "signoff", {"by": "first"})  # the key exists before the race
    env = os.environ | {"HARNESS_HOME": str(private_home)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SIGN, store_url, f"w{w}", "5"], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True
        )
        for w in range(4)
    ]
    errors = [p.communicate(timeout=180)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    store = RunStore(store_url)
    check = verify_chain(store, recorded=[])
    assert check.ok and check.entries == 21, check.problems
    rows = store.audit_rows()
    assert len({r["prev_hash"] for r in rows}) == 21  # no two entries link to the same predecessor


OPEN = """
import json, sys, time
from harness.store import RunStore
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
store = RunStore(sys.argv[1])
print(json.dumps({"runs": len(store.runs())}))
"""


@pytest.mark.slow
def test_processes_opening_a_fresh_store_at_once_all_succeed_and_migrate_it_once(store_url: str) -> None:
    import time

    start = time.time() + 3  # after each process has imported harness
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN, store_url, str(start)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    assert [json.loads(out) for out, _ in outputs] == [{"runs": 0}] * 4
    store = RunStore(store_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
        assert conn.execute(select(runs_table)).all() == []


def register_at_once(store_url: str, tmp_path: Path, same: bool, reps: int = 4) -> list[tuple[dict[str, Any], ...]]:
    """tests/test_faults.py's registration race: two processes register ``set<rep>`` at the same instant,
    with the same bytes or with other bytes, naming no version; their answers, repetition by repetition."""
    from tests.test_faults import REGISTER, run_workers

    RunStore(store_url)
    files = []
    for rep in range(reps):
        for worker in (0, 1):
            path = tmp_path / f"r{rep}w{worker}.jsonl"
            text_ = f"same {rep}" if same else f"worker {worker} {rep}"
            path.write_text(json.dumps({"prompt": text_, "response": "ok"}) + "\n", encoding="utf-8")
            files.append(str(path))
    first, second = run_workers(REGISTER, [store_url, ",".join(files), ""])
    return list(zip(first, second, strict=True))


@pytest.mark.slow
def test_two_processes_registering_the_same_bytes_at_once_on_postgresql_create_one_version(
    pg_url: str, tmp_path: Path
) -> None:
    for a, b in register_at_once(pg_url, tmp_path, same=True):
        assert "error" not in a and "error" not in b, (a, b)
        assert sorted([a["created"], b["created"]]) == [False, True] and a["ref"] == b["ref"] == f"set{a['rep']}@1.0.0"
    assert len(RunStore(pg_url).datasets()) == 4


@pytest.mark.slow
def test_two_processes_registering_other_bytes_at_once_on_postgresql_take_consecutive_versions(
    pg_url: str, tmp_path: Path
) -> None:
    for a, b in register_at_once(pg_url, tmp_path, same=False):
        assert "error" not in a and "error" not in b, (a, b)
        assert sorted([a["ref"], b["ref"]]) == [f"set{a['rep']}@1.0.0", f"set{a['rep']}@1.1.0"]
