"""The append-only, hash-chained, signed audit log (Annex IV 2(g), Art. 12, Art. 14).

Each entry's hash is SHA-256 over the previous entry's hash and the entry's canonical
JSON, so editing, reordering or deleting any entry breaks every hash after it. Each
entry is also signed with an Ed25519 key held outside the store
(:mod:`harness.store.signing`) and names that key's fingerprint, so an entry appended
by whoever can write the store, with a correctly computed hash, is still detected.

Removing the newest entries leaves a valid shorter chain. Every verdict and dossier
therefore records the head it saw (:func:`audit_head`, field ``audit_head`` of
``verdict.json`` and ``dossier.json``); :func:`verify_chain` checks that each recorded
head, and any head given with ``harness audit verify --head``, is still in the log.

Entries: sign-offs (``signoff``) and the events :func:`record_event` appends: ``gate``,
``training``, ``promotion``, ``rejection``, ``rendering``, ``intake`` (a base model's intake
record kept, its subject ``intake/<id>``) and ``selection`` (a selection record kept, ``selection/<id>``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from harness.errors import InputError
from harness.store.runs import RunStore
from harness.store.signing import AuditKey, signing_key, verification_key

GENESIS = "0" * 64
HEAD_FIELD = "audit_head"  # the field of verdict.json and dossier.json that records the head seen
KEY_FIELD = "signing_key"  # the field of each entry naming the fingerprint of the key that signed it
EVENTS = ("signoff", "gate", "training", "promotion", "rejection", "rendering", "intake", "selection")


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + "\n" + canonical).encode("utf-8")).hexdigest()


def append_entry(store: RunStore, run_id: str, action: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Append ``entry`` to the chain, signed, in one transaction; returns the stored row (with its hash)."""
    key = signing_key()

    def build(head: str) -> dict[str, Any]:
        prev = head or GENESIS
        created_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        full = {"created_at": created_at, "run_id": run_id, "action": action, **entry, KEY_FIELD: key.fingerprint}
        digest = entry_hash(prev, full)
        return {
            "created_at": created_at,
            "run_id": run_id,
            "action": action,
            "entry": full,
            "prev_hash": prev,
            "entry_hash": digest,
            "signature": key.sign(digest),
        }

    return store.append_audit(build)


def record_event(store: RunStore, run_id: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Append an event of ``run_id`` (one of :data:`EVENTS`) to the audit log; returns the stored row."""
    if action not in EVENTS:
        raise InputError(f"audit event {action!r} is not one of {', '.join(EVENTS)}")
    return append_entry(store, run_id, action, payload)


def audit_head(store: RunStore) -> str:
    """The hash of the newest entry (all zeros while the log is empty): what a verdict or dossier records."""
    return store.audit_head() or GENESIS


@dataclass(frozen=True)
class RecordedHead:
    """A head hash kept outside the log, and where it was found."""

    head: str
    source: str


def recorded_heads(store: RunStore) -> list[RecordedHead]:
    """The heads recorded by the verdicts and dossiers the store knows (their files' ``audit_head``).

    A file that is gone or unreadable records nothing.
    """
    heads = []
    for _, path in store.recorded_files():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        head = data.get(HEAD_FIELD) if isinstance(data, dict) else None
        if isinstance(head, str) and head:
            heads.append(RecordedHead(head=head, source=str(path)))
    return heads


@dataclass
class ChainCheck:
    ok: bool
    entries: int
    head: str
    problems: list[str]
    key: str | None = None  # fingerprint of the key the signatures were checked against
    heads_checked: int = 0  # recorded heads compared with the log
    unsigned_before_signing: int = 0  # entries written before harness signed entries (a leading run of them)


def verify_chain(
    store: RunStore,
    head: str | None = None,
    *,
    recorded: Iterable[str | RecordedHead] | None = None,
    key: AuditKey | None = None,
) -> ChainCheck:
    """Recompute every hash and check every signature; report each entry whose content, link or
    signature does not match, and each recorded head no longer in the log.

    Entries written before harness signed its log (no key field, no signature) are accepted
    only as the log's leading entries; an unsigned entry after a signed one is a problem.

    ``recorded``: heads kept elsewhere [default: those the store's verdicts and dossiers
    recorded, :func:`recorded_heads`]; ``head`` is one more. ``key``: the key to check
    signatures against [default: the audit key file, :func:`~harness.store.signing.verification_key`].
    """
    rows = store.audit_rows()
    key = key if key is not None else verification_key()
    problems = []
    if key is None and any(KEY_FIELD in row["entry"] or row.get("signature") for row in rows):
        from harness.store.signing import audit_key_path

        problems.append(f"no audit key at {audit_key_path()}: the entries' signatures cannot be checked")
    prev = GENESIS
    legacy = 0
    signed_seen = False
    for row in rows:
        entry = row["entry"]
        if KEY_FIELD not in entry and not row.get("signature") and not signed_seen:
            # Entries from before harness signed its log carry no key field; only a leading
            # run of them is accepted, and its hashes still chain into the signed entries.
            legacy += 1
            key_checked = False
        else:
            signed_seen = True
            key_checked = key is not None
        if row["prev_hash"] != prev:
            problems.append(
                f"entry {row['id']}: links to {row['prev_hash'][:12]}…, but the entry before it hashes to {prev[:12]}… (an entry was deleted or edited)"
            )
        if entry_hash(row["prev_hash"], entry) != row["entry_hash"]:
            problems.append(f"entry {row['id']}: its content no longer matches its hash (edited)")
        for column in ("created_at", "run_id", "action"):
            if entry.get(column) != row[column]:
                problems.append(f"entry {row['id']}: column {column} differs from the hashed entry (edited)")
        if key_checked:
            assert key is not None
            problems += _signature_problems(row, key)
        prev = row["entry_hash"]
    current = rows[-1]["entry_hash"] if rows else GENESIS
    known = {r["entry_hash"] for r in rows} | {GENESIS}
    wanted = [RecordedHead(head=head, source="--head")] if head is not None else []
    for item in recorded_heads(store) if recorded is None else recorded:
        wanted.append(item if isinstance(item, RecordedHead) else RecordedHead(head=item, source="a recorded head"))
    for item in wanted:
        if item.head not in known:
            where = "" if item.source == "--head" else f" recorded in {item.source}"
            problems.append(f"head {item.head[:12]}…{where} is not in the log: entries after it were removed")
    return ChainCheck(
        ok=not problems,
        entries=len(rows),
        head=current,
        problems=problems,
        key=key.fingerprint if key is not None else None,
        heads_checked=len(wanted),
        unsigned_before_signing=legacy,
    )


def _signature_problems(row: dict[str, Any], key: AuditKey) -> list[str]:
    signer = row["entry"].get(KEY_FIELD)
    if not row.get("signature"):
        return [f"entry {row['id']}: not signed (appended outside harness)"]
    if signer != key.fingerprint:
        return [f"entry {row['id']}: names key {str(signer)[:20]}…, not the audit key {key.fingerprint[:20]}…"]
    if not key.verifies(row["entry_hash"], row["signature"]):
        return [f"entry {row['id']}: its signature does not match its hash (forged or edited)"]
    return []
