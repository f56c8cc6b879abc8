"""Roles and what each may do: the one table every endpoint and page checks.

| permission          | admin | release-manager | ci | auditor | viewer |
| ------------------- | ----- | --------------- | -- | ------- | ------ |
| runs:read           | yes   | yes             | yes| yes     | yes    |
| verdicts:read       | yes   | yes             | yes| yes     | yes    |
| evidence:read       | yes   | yes             | no | yes     | no     |
| jobs:read           | yes   | yes             | yes| yes     | no     |
| jobs:run, jobs:gate, jobs:monitor | no | yes | yes | no | no  |
| jobs:compare, jobs:report, jobs:dossier, jobs:train | no | yes | no | no | no |
| signoff             | no    | yes             | no | no      | no     |
| audit:verify        | yes   | yes             | no | yes     | no     |
| accounts:manage     | yes   | no              | no | no      | no     |

``jobs:monitor`` submits production logs for post-market monitoring of a run
(``POST /api/v1/runs/{run_id}/monitoring``); reading the results needs ``runs:read``.
``evidence:read`` covers item records, comparisons, dossiers and their files, datasets
with provenance and lineage, and the audit log. An auditor reads everything and changes
nothing; an administrator manages users and tokens and reads everything, but neither runs
jobs nor signs (separation of duties: the person who signs a release is a release manager).
"""

from __future__ import annotations

from typing import Literal

Role = Literal["admin", "release-manager", "ci", "auditor", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "release-manager", "ci", "auditor", "viewer")

JOB_KINDS = ("run", "gate", "compare", "report", "dossier", "train", "monitor")

_READ_ALL = {"runs:read", "verdicts:read", "evidence:read", "jobs:read", "audit:verify"}

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(_READ_ALL | {"accounts:manage"}),
    "release-manager": frozenset(_READ_ALL | {f"jobs:{kind}" for kind in JOB_KINDS} | {"signoff"}),
    "ci": frozenset({"runs:read", "verdicts:read", "jobs:read", "jobs:run", "jobs:gate", "jobs:monitor"}),
    "auditor": frozenset(_READ_ALL),
    "viewer": frozenset({"runs:read", "verdicts:read"}),
}

ALL_PERMISSIONS: frozenset[str] = frozenset().union(*PERMISSIONS.values())


def allowed(role: str, permission: str) -> bool:
    """Whether ``role`` holds ``permission`` (an unknown role holds none)."""
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    return permission in PERMISSIONS.get(role, frozenset())


def check_role(role: str) -> Role:
    """``role`` as a :data:`Role`; a ValueError naming the roles otherwise."""
    for known in ROLES:
        if role == known:
            return known
    raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
