"""Users, API tokens and failed-login counters, kept in the run store.

- Passwords: argon2id through pwdlib (RFC 9106; pwdlib's recommended parameters, m=64 MiB,
  t=3, p=4). Only the hash is kept. ``low_cost`` hashes (m=8 MiB, t=1, p=1) exist for
  tests and benchmarks; a stored hash names its own parameters, so either verifies.
- API tokens: 32 random bytes (``secrets.token_urlsafe``), shown once; the store keeps
  their SHA-256 only, enough for a secret of that entropy (no slow hash is needed).
- Failed logins: a counter per user name and per client address in the store, so every
  process and machine of the service shares it; :data:`MAX_FAILURES` failures for one
  user name, or :data:`MAX_FAILURES_PER_ADDRESS` from one address (whatever names it tries),
  within :data:`WINDOW_S` seconds block further attempts until the window ends.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from harness.errors import InputError
from harness.service.roles import check_role
from harness.store.runs import RunStore, api_tokens_table, login_failures_table, users_table

if TYPE_CHECKING:
    from pwdlib import PasswordHash

MAX_FAILURES = 5
MAX_FAILURES_PER_ADDRESS = 20  # many people may share one address (an office behind NAT)
WINDOW_S = 300.0
TOKEN_PREFIX = "hrn_"
MIN_PASSWORD = 8
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,119}$")
TOKEN_USE_RESOLUTION_S = 60.0  # last_used_at is renewed at most this often (a write per request would not scale)
# (store URL, token id) -> when this process last renewed (or began renewing) its last_used_at, time.monotonic()
_TOKENS_TOUCHED: dict[tuple[str, int], float] = {}
_TOUCH_LOCK = threading.Lock()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a signed-in user or an API token, with the role that decides what they may do."""

    id: int
    name: str
    role: str
    kind: Literal["user", "token"]


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@cache
def password_hasher(low_cost: bool = False) -> PasswordHash:
    """argon2id: pwdlib's recommended parameters, or cheap ones for tests and benchmarks."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    if low_cost:
        return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8192, parallelism=1),))
    return PasswordHash.recommended()


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so that costs as long as a wrong password."""
    return password_hasher().hash(secrets.token_urlsafe(16))


def check_name(name: str, what: str = "user name") -> str:
    if not NAME_PATTERN.match(name):
        raise InputError(
            f"{what} {name!r}: use 1 to 120 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password: at least {MIN_PASSWORD} characters")
    return password


# ---------------------------------------------------------------------------- users


def create_user(store: RunStore, name: str, role: str, password: str, *, low_cost: bool = False) -> Principal:
    """A new user; an InputError when the name is taken, the role unknown or the password short."""
    check_name(name)
    try:
        checked = check_role(role)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    digest = password_hasher(low_cost).hash(check_password(password))
    try:
        with store.engine.begin() as conn:
            result = conn.execute(
                users_table.insert().values(name=name, password_hash=digest, role=checked, created_at=now_text())
            )
            new_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
    except IntegrityError:
        raise InputError(f"user {name!r} exists already") from None
    assert new_id is not None
    return Principal(id=int(new_id), name=name, role=checked, kind="user")


def set_password(store: RunStore, name: str, password: str, *, low_cost: bool = False) -> None:
    digest = password_hasher(low_cost).hash(check_password(password))
    _update_user(store, name, password_hash=digest)


def set_role(store: RunStore, name: str, role: str) -> None:
    try:
        _update_user(store, name, role=check_role(role))
    except ValueError as exc:
        raise InputError(str(exc)) from None


def set_disabled(store: RunStore, name: str, disabled: bool) -> None:
    _update_user(store, name, disabled=disabled)


def _update_user(store: RunStore, name: str, **values: Any) -> None:
    with store.engine.begin() as conn:
        result = conn.execute(update(users_table).where(users_table.c.name == name).values(**values))
    if result.rowcount != 1:
        raise InputError(f"no user named {name!r}")


def list_users(store: RunStore) -> list[dict[str, Any]]:
    columns = [users_table.c.id, users_table.c.name, users_table.c.role, users_table.c.created_at]
    query = select(*columns, users_table.c.disabled).order_by(users_table.c.name)
    with store.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def user_principal(store: RunStore, user_id: int) -> Principal | None:
    """The enabled user with this id (a session names its user by id), None otherwise."""
    query = select(users_table.c.name, users_table.c.role, users_table.c.disabled).where(users_table.c.id == user_id)
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None or row.disabled:
        return None
    return Principal(id=user_id, name=str(row.name), role=str(row.role), kind="user")


def authenticate_password(store: RunStore, name: str, password: str) -> Principal | None:
    """The user when ``password`` is theirs and they are enabled; None otherwise (as slow either way)."""
    query = select(users_table).where(users_table.c.name == name)
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    hasher = password_hasher()
    if row is None:
        hasher.verify(password, _dummy_hash())
        return None
    try:
        ok = hasher.verify(password, str(row.password_hash))
    except Exception:  # a malformed stored hash never signs anyone in
        ok = False
    if not ok or row.disabled:
        return None
    return Principal(id=int(row.id), name=str(row.name), role=str(row.role), kind="user")


# ---------------------------------------------------------------------------- API tokens


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(store: RunStore, name: str, role: str, *, created_by: str) -> tuple[str, Principal]:
    """A new API token: the token itself (shown once, never stored) and who it acts as."""
    check_name(name, "token name")
    try:
        checked = check_role(role)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.engine.begin() as conn:
        result = conn.execute(
            api_tokens_table.insert().values(
                name=name,
                token_sha256=token_digest(token),
                hint=token[: len(TOKEN_PREFIX) + 4],
                role=checked,
                created_by=created_by,
                created_at=now_text(),
            )
        )
        new_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
    assert new_id is not None
    return token, Principal(id=int(new_id), name=name, role=checked, kind="token")


def token_principal(store: RunStore, token: str) -> Principal | None:
    """Who a bearer token acts as; None for an unknown or revoked token."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    table = api_tokens_table
    query = select(table.c.id, table.c.name, table.c.role, table.c.revoked, table.c.last_used_at).where(
        table.c.token_sha256 == token_digest(token)
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None or row.revoked:
        return None
    _touch_token(store, int(row.id), row.last_used_at)
    return Principal(id=int(row.id), name=str(row.name), role=str(row.role), kind="token")


def _claim_touch(store_url: str, token_id: int) -> bool:
    """Whether this request renews the token's last use: one request per token and process per
    :data:`TOKEN_USE_RESOLUTION_S`, so that a burst of calls with one token (50 CI clients starting
    together) makes one write, not one per request queued behind the store's write lock."""
    moment = time.monotonic()
    with _TOUCH_LOCK:
        last = _TOKENS_TOUCHED.get((store_url, token_id))
        if last is not None and moment - last < TOKEN_USE_RESOLUTION_S:
            return False
        _TOKENS_TOUCHED[(store_url, token_id)] = moment
        return True


def _touch_token(store: RunStore, token_id: int, last_used: str | None) -> None:
    now = datetime.now(timezone.utc)
    if last_used is not None:
        try:
            if (now - datetime.fromisoformat(last_used)).total_seconds() < TOKEN_USE_RESOLUTION_S:
                return
        except ValueError:
            pass
    if not _claim_touch(store.url, token_id):
        return
    with store.engine.begin() as conn:
        conn.execute(
            update(api_tokens_table)
            .where(api_tokens_table.c.id == token_id)
            .values(last_used_at=now.isoformat(timespec="seconds"))
        )


def list_tokens(store: RunStore) -> list[dict[str, Any]]:
    t = api_tokens_table
    query = select(t.c.id, t.c.name, t.c.hint, t.c.role, t.c.created_by, t.c.created_at, t.c.last_used_at, t.c.revoked)
    with store.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query.order_by(t.c.id))]


def revoke_token(store: RunStore, token_id: int) -> None:
    with store.engine.begin() as conn:
        result = conn.execute(update(api_tokens_table).where(api_tokens_table.c.id == token_id).values(revoked=True))
    if result.rowcount != 1:
        raise InputError(f"no API token with id {token_id}")


# ---------------------------------------------------------------------------- failed logins


def login_wait(store: RunStore, keys: list[str], now: float | None = None) -> float:
    """Seconds until a login for these keys (user name, client address) may be tried again; 0 if it may now."""
    now = time.time() if now is None else now
    query = select(login_failures_table).where(login_failures_table.c.key.in_(keys))
    with store.engine.connect() as conn:
        rows = list(conn.execute(query))
    waits = [
        row.window_start + WINDOW_S - now
        for row in rows
        if row.failures >= failure_limit(str(row.key)) and now - row.window_start < WINDOW_S
    ]
    return max(waits, default=0.0)


def failure_limit(key: str) -> int:
    """How many failures a key may have in a window: per address (``ip:...``) or per user name."""
    return MAX_FAILURES_PER_ADDRESS if key.startswith("ip:") else MAX_FAILURES


def record_login_failure(store: RunStore, keys: list[str], now: float | None = None) -> None:
    """Count one failed login against each key; a window older than :data:`WINDOW_S` starts again."""
    now = time.time() if now is None else now
    table = login_failures_table
    for key in keys:
        for _ in range(5):
            try:
                with store.engine.begin() as conn:
                    row = conn.execute(select(table).where(table.c.key == key)).first()
                    if row is None:
                        conn.execute(table.insert().values(key=key, failures=1, window_start=now))
                    elif now - row.window_start >= WINDOW_S:
                        conn.execute(update(table).where(table.c.key == key).values(failures=1, window_start=now))
                    else:
                        conn.execute(update(table).where(table.c.key == key).values(failures=table.c.failures + 1))
                break
            except IntegrityError:  # another process counted the first failure a moment ago
                continue


def clear_login_failures(store: RunStore, keys: list[str]) -> None:
    with store.engine.begin() as conn:
        conn.execute(login_failures_table.delete().where(login_failures_table.c.key.in_(keys)))
