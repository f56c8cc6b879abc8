"""Sign-off through the service: the same audit entry as ``harness signoff``, naming the authenticated caller.

The CLI records the name and role the signer types; here they are the signed-in user's
(or API token's) name and role, and the entry says how the caller was authenticated.
As with the CLI, what is signed is the run's latest dossier rendering the store
recorded (its PDF, else its HTML), and only while that file is unchanged since rendering.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from harness.errors import InputError
from harness.service.accounts import Principal
from harness.store.runs import RunStore

Decision = Literal["approve", "reject"]
NOTE_MAX = 4000


def sign_off(store: RunStore, run_id: str, signer: Principal, decision: str, note: str | None) -> dict[str, Any]:
    """Append the sign-off of ``run_id``'s latest dossier to the audit log; the stored row."""
    from harness.files.hashing import sha256_file
    from harness.schema.results import load_results
    from harness.store.audit import append_entry

    if decision not in ("approve", "reject"):
        raise InputError(f"decision must be approve or reject, got {decision!r}")
    if note is not None and len(note) > NOTE_MAX:
        raise InputError(f"note: at most {NOTE_MAX} characters")
    row = store.find_run(run_id)
    if row is None:
        raise InputError(f"no run {run_id!r} in the store")
    result = load_results(Path(row.path))
    latest = store.latest_dossier(result.run_id)
    if latest is None:
        raise InputError(f"run {result.run_id} has no dossier yet: render one (a dossier job) before signing")
    dossier_path = Path(latest["pdf"] or latest["html"])
    recorded = latest["pdf_sha256"] or latest["html_sha256"]
    if not dossier_path.is_file():
        raise InputError(f"{dossier_path}: the run's dossier is gone; render it again")
    if sha256_file(dossier_path) != recorded:
        raise InputError(f"{dossier_path} changed since harness rendered it; render it again before signing")
    return append_entry(
        store,
        result.run_id,
        "signoff",
        {
            "by": signer.name,
            "role": signer.role,
            "decision": decision,
            "note": note or None,
            "dossier": str(dossier_path),
            "dossier_sha256": recorded,
            "fingerprint": result.model.fingerprint,
            "authenticated": f"harness serve {signer.kind}",
        },
    )
