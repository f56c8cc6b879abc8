"""The audit log against a writer of the store: signed entries, recorded heads, events."""

from __future__ import annotations

import json
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.paths import default_store_url
from harness.store import RunStore
from harness.store.audit import (
    GENESIS,
    KEY_FIELD,
    RecordedHead,
    append_entry,
    audit_head,
    entry_hash,
    record_event,
    verify_chain,
)
from harness.store.signing import KEY_ENV, audit_key_path, load_key

REPO = Path(__file__).resolve().parent.parent


def database() -> str:
    return default_store_url().removeprefix("sqlite:///")


def signed_log(entries: int = 3, url: str | None = None) -> RunStore:
    store = RunStore(url)
    for i in range(entries):
        append_entry(store, f"run-{i}", "signoff", {"by": f"signer {i}", "decision": "approve"})
    return store


def forge(store: RunStore, *, signature: str | None) -> None:
    """What a writer of the store can do: append an entry whose hash is computed correctly."""
    head = audit_head(store)
    row = store.audit_rows()[-1]["entry"]
    entry = {
        "created_at": "2026-11-22T00:00:00+00:00",
        "run_id": "run-x",
        "action": "signoff",
        "by": "Mallory",
        "decision": "approve",
        KEY_FIELD: row[KEY_FIELD],
    }
    with sqlite3.connect(database()) as conn:
        conn.execute(
            "INSERT INTO audit_log (created_at, run_id, action, entry, prev_hash, entry_hash, signature) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                "2026-11-22T00:00:00+00:00",
                "run-x",
                "signoff",
                json.dumps(entry),
                head,
                entry_hash(head, entry),
                signature,
            ),
        )


def test_every_entry_is_signed_by_a_private_key_kept_outside_the_store(private_home: Path) -> None:
    store = signed_log()
    key_file = audit_key_path()
    assert key_file == private_home / "keys" / "audit-ed25519.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    fingerprint = load_key(key_file).fingerprint
    rows = store.audit_rows()
    assert all(r["entry"][KEY_FIELD] == fingerprint and len(r["signature"]) == 128 for r in rows)
    check = verify_chain(store)
    assert check.ok and check.entries == 3 and check.key == fingerprint, check.problems


def test_an_appended_entry_with_a_correct_hash_but_no_valid_signature_is_detected() -> None:
    store = signed_log()
    forge(store, signature=None)
    check = verify_chain(store)
    assert not check.ok and check.problems == ["entry 4: not signed (appended outside harness)"]


def test_an_appended_entry_with_a_borrowed_or_foreign_signature_is_detected(tmp_path: Path) -> None:
    store = signed_log()
    forge(store, signature=store.audit_rows()[-1]["signature"])  # the previous entry's signature
    assert verify_chain(store).problems == ["entry 4: its signature does not match its hash (forged or edited)"]

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    with sqlite3.connect(database()) as conn:
        conn.execute("DELETE FROM audit_log WHERE id = 4")
    head = audit_head(store)
    entry = {"created_at": "x", "run_id": "run-x", "action": "signoff", KEY_FIELD: "ed25519:" + "0" * 64}
    digest = entry_hash(head, entry)
    signature = Ed25519PrivateKey.generate().sign(bytes.fromhex(digest)).hex()
    with sqlite3.connect(database()) as conn:
        conn.execute(
            "INSERT INTO audit_log (created_at, run_id, action, entry, prev_hash, entry_hash, signature) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ("x", "run-x", "signoff", json.dumps(entry), head, digest, signature),
        )
    (problem,) = verify_chain(store).problems
    assert problem.startswith("entry 4: names key ed25519:000") and "not the audit key" in problem


def test_edits_reordering_and_rehashing_are_still_detected(tmp_path: Path) -> None:
    store = signed_log()
    with sqlite3.connect(database()) as conn:
        entry = json.loads(conn.execute("SELECT entry FROM audit_log WHERE id = 2").fetchone()[0])
        conn.execute("UPDATE audit_log SET entry = ? WHERE id = 2", (json.dumps(entry | {"decision": "reject"}),))
    assert "entry 2: its content no longer matches its hash (edited)" in verify_chain(store).problems

    with sqlite3.connect(database()) as conn:  # the edit, with every hash after it recomputed
        rows = conn.execute("SELECT id, entry FROM audit_log ORDER BY id").fetchall()
        prev = GENESIS
        for row_id, raw in rows:
            digest = entry_hash(prev, json.loads(raw))
            conn.execute("UPDATE audit_log SET prev_hash = ?, entry_hash = ? WHERE id = ?", (prev, digest, row_id))
            prev = digest
    problems = verify_chain(store).problems
    assert problems == [
        "entry 2: its signature does not match its hash (forged or edited)",
        "entry 3: its signature does not match its hash (forged or edited)",
    ]

    other = signed_log(url=f"sqlite:///{tmp_path / 'other.db'}")
    with sqlite3.connect(tmp_path / "other.db") as conn:  # a fresh log, its first two entries swapped
        conn.execute("UPDATE audit_log SET id = id + 100 WHERE id IN (1, 2)")
        conn.execute("UPDATE audit_log SET id = 2 WHERE id = 101")
        conn.execute("UPDATE audit_log SET id = 1 WHERE id = 102")
    problems = verify_chain(other).problems
    assert [p.split(":")[0] for p in problems] == ["entry 1", "entry 2", "entry 3"]
    assert all("links to" in p and "(an entry was deleted or edited)" in p for p in problems)


def test_deleting_the_newest_entries_is_detected_through_the_heads_verdicts_and_dossiers_recorded(
    tmp_path: Path,
) -> None:
    store = signed_log(2)
    verdict = tmp_path / "run-1" / "verdict.json"
    verdict.parent.mkdir()
    verdict.write_text(json.dumps({"verdict": "pass", "audit_head": audit_head(store)}), encoding="utf-8")
    store.record_verdict("run-1", "demo", "pass", "2026-11-22T00:00:00+00:00", baseline=None, path=verdict)
    append_entry(store, "run-1", "signoff", {"by": "Maria K.", "decision": "approve"})
    dossier = tmp_path / "dossier"
    dossier.mkdir()
    (dossier / "dossier.html").write_text("<html></html>", encoding="utf-8")
    (dossier / "dossier.json").write_text(json.dumps({"audit_head": audit_head(store)}), encoding="utf-8")
    store.record_dossier(
        {
            "run_id": "run-1",
            "kind": "system",
            "created_at": "2026-11-22T00:00:00+00:00",
            "html": str(dossier / "dossier.html"),
            "html_sha256": "0" * 64,
        }
    )
    check = verify_chain(store)
    assert check.ok and check.heads_checked == 2, check.problems

    with sqlite3.connect(database()) as conn:
        conn.execute("DELETE FROM audit_log WHERE id = 3")
    (problem,) = verify_chain(store).problems
    assert "recorded in" in problem and str(dossier / "dossier.json") in problem and "were removed" in problem

    with sqlite3.connect(database()) as conn:
        conn.execute("DELETE FROM audit_log WHERE id = 2")
    problems = verify_chain(store).problems
    assert len(problems) == 2 and any(str(verdict) in p for p in problems)
    assert verify_chain(store, recorded=[]).ok  # what a log without recorded heads cannot show ...
    assert not verify_chain(store, recorded=[RecordedHead(head=check.head, source="x")]).ok  # ... a head kept shows


def test_verifying_needs_the_key_file_and_never_creates_one(
    private_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = signed_log(1)
    key_file = audit_key_path()
    key_file.rename(private_home / "elsewhere.pem")
    check = verify_chain(store)
    assert not check.ok and check.problems == [f"no audit key at {key_file}: the entries' signatures cannot be checked"]
    assert not key_file.exists()

    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = private_home / "audit-public.pem"
    key = load_key(private_home / "elsewhere.pem")
    public.write_bytes(key.public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    monkeypatch.setenv(KEY_ENV, str(public))
    assert verify_chain(store).ok  # a regulator's machine checks with the public key alone
    with pytest.raises(InputError, match="a public key only"):
        append_entry(store, "run-2", "signoff", {})
    monkeypatch.setenv(KEY_ENV, str(private_home / "typo.pem"))
    with pytest.raises(InputError, match="HARNESS_AUDIT_KEY=.*typo.pem: no such key file"):
        append_entry(store, "run-2", "signoff", {})
    assert not (private_home / "typo.pem").exists()


def test_events_are_appended_to_the_same_signed_chain() -> None:
    store = RunStore()
    for action in ("gate", "training", "promotion", "rejection", "rendering"):
        row = record_event(store, "run-1", action, {"detail": action})
        assert row["entry"]["action"] == action and row["entry"]["detail"] == action
    assert audit_head(store) == row["entry_hash"]
    assert verify_chain(store).entries == 5 and verify_chain(store).ok
    with pytest.raises(InputError, match="audit event 'deploy' is not one of signoff, gate"):
        record_event(store, "run-1", "deploy", {})


def test_processes_signing_for_the_first_time_at_once_share_one_key(private_home: Path) -> None:
    url = f"sqlite:///{private_home / 'shared.db'}"
    RunStore(url)
    script = (
        "import sys\nfrom harness.store import RunStore\nfrom harness.store.audit import append_entry\n"
        "append_entry(RunStore(sys.argv[1]), 'run', 'signoff', {'by': sys.argv[2]})\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, url, str(i)], cwd=REPO, stderr=subprocess.PIPE, text=True)
        for i in range(4)
    ]
    assert all(p.wait(timeout=120) == 0 for p in procs), [p.stderr.read() if p.stderr else "" for p in procs]
    check = verify_chain(RunStore(url))
    assert check.ok and check.entries == 4, check.problems
    assert list((private_home / "keys").iterdir()) == [audit_key_path()]  # no temporary key left behind


def test_an_older_store_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE runs (run_id VARCHAR(80) PRIMARY KEY, created_at VARCHAR(40) NOT NULL, model_base TEXT NOT NULL, "
            "model_adapter TEXT, fingerprint VARCHAR(80) NOT NULL, suites JSON NOT NULL, headline JSON NOT NULL, path TEXT NOT NULL)"
        )
        conn.execute("INSERT INTO runs VALUES ('r1', '2026-01-01', 'm', NULL, 'sha256:x', '[]', '{}', '/nowhere')")
        conn.execute(
            "CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at VARCHAR(40) NOT NULL, "
            "run_id VARCHAR(80) NOT NULL, action VARCHAR(40) NOT NULL, entry JSON NOT NULL, "
            "prev_hash VARCHAR(64) NOT NULL UNIQUE, entry_hash VARCHAR(64) NOT NULL UNIQUE)"
        )
    store = RunStore(f"sqlite:///{path}")
    (row,) = store.runs()
    assert row.run_id == "r1" and row.status == "finished"
    append_entry(store, "r1", "signoff", {})
    assert verify_chain(store).ok
