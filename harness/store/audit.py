"""The append-only, hash-chained audit log of sign-offs (Annex IV 2(g), Art. 12, Art. 14).

Each entry's hash is SHA-256 over the previous entry's hash and the entry's canonical
JSON, so editing or deleting any entry breaks every hash after it; ``verify_chain``
recomputes the chain. Removing the newest entries leaves a valid shorter chain: compare
with a head hash kept elsewhere (``harness audit verify --head``; every sign-off prints
the new head, and every dossier prints the head it saw).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from harness.store.runs import RunStore

GENESIS = "0" * 64


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + "\n" + canonical).encode("utf-8")).hexdigest()


def append_entry(store: RunStore, run_id: str, action: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Append ``entry`` to the chain in one transaction; returns the stored row (with its hash)."""

    def build(head: str) -> dict[str, Any]:
        prev = head or GENESIS
        created_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        full = {"created_at": created_at, "run_id": run_id, "action": action, **entry}
        return {
            "created_at": created_at,
            "run_id": run_id,
            "action": action,
            "entry": full,
            "prev_hash": prev,
            "entry_hash": entry_hash(prev, full),
        }

    return store.append_audit(build)


@dataclass
class ChainCheck:
    ok: bool
    entries: int
    head: str
    problems: list[str]


def verify_chain(store: RunStore, head: str | None = None) -> ChainCheck:
    """Recompute every hash; report the first entries whose content or link does not match."""
    rows = store.audit_rows()
    problems = []
    prev = GENESIS
    for row in rows:
        entry = row["entry"]
        if row["prev_hash"] != prev:
            problems.append(
                f"entry {row['id']}: links to {row['prev_hash'][:12]}…, but the entry before it hashes to {prev[:12]}… (an entry was deleted or edited)"
            )
        if entry_hash(row["prev_hash"], entry) != row["entry_hash"]:
            problems.append(f"entry {row['id']}: its content no longer matches its hash (edited)")
        for key in ("created_at", "run_id", "action"):
            if entry.get(key) != row[key]:
                problems.append(f"entry {row['id']}: column {key} differs from the hashed entry (edited)")
        prev = row["entry_hash"]
    current = rows[-1]["entry_hash"] if rows else GENESIS
    if head is not None and head != current and not any(r["entry_hash"] == head for r in rows):
        problems.append(f"head {head[:12]}… is not in the log: entries after it were removed")
    return ChainCheck(ok=not problems, entries=len(rows), head=current, problems=problems)
