"""``harness serve user ...`` and ``harness serve token ...``: accounts created from the shell work at once."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from harness.service.accounts import authenticate_password, token_principal
from harness.store import RunStore


def serve(store_url: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    from harness.cli import main

    result = CliRunner().invoke(main, ["--store", store_url, "serve", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_a_user_added_from_the_shell_signs_in_with_the_password_and_only_the_hash_is_kept(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    code, out, _ = serve(
        url, "user", "add", "alice", "--role", "release-manager", "--password-stdin", stdin="s3cret-pass\n"
    )
    assert code == 0 and "alice (release-manager) added" in out
    store = RunStore(url)
    signed_in = authenticate_password(store, "alice", "s3cret-pass")
    assert signed_in is not None and (signed_in.name, signed_in.role, signed_in.kind) == (
        "alice",
        "release-manager",
        "user",
    )
    assert authenticate_password(store, "alice", "wrong-password") is None
    with store.engine.connect() as conn:
        from sqlalchemy import text

        (kept,) = conn.execute(text("SELECT password_hash FROM users WHERE name = 'alice'")).one()
    assert kept.startswith("$argon2id$") and "s3cret-pass" not in kept
    code, out, _ = serve(url, "user", "list")
    assert code == 0 and "alice" in out and "release-manager" in out and "active" in out

    code, _, err = serve(url, "user", "add", "alice", "--role", "viewer", "--password-stdin", stdin="another-pass\n")
    assert code == 2 and err.count("\n") == 1 and "user 'alice' exists already" in err
    code, _, err = serve(url, "user", "add", "bob", "--role", "viewer", "--password-stdin", stdin="short\n")
    assert code == 2 and err.count("\n") == 1
    code, _, err = serve(url, "user", "add", "bob", "--role", "superuser", "--password-stdin", stdin="long-enough\n")
    assert code == 2 and "superuser" in err

    code, out, _ = serve(url, "user", "disable", "alice")
    assert code == 0 and authenticate_password(store, "alice", "s3cret-pass") is None


def test_a_token_added_from_the_shell_is_printed_once_kept_hashed_and_revocable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    code, out, err = serve(url, "token", "add", "ci-bot", "--role", "ci")
    assert code == 0 and "shown once" in err
    secret = out.strip()
    store = RunStore(url)
    caller = token_principal(store, secret)
    assert caller is not None and (caller.name, caller.role, caller.kind) == ("ci-bot", "ci", "token")
    with store.engine.connect() as conn:
        from sqlalchemy import text

        kept = [tuple(row) for row in conn.execute(text("SELECT token_sha256, hint FROM api_tokens"))]
    assert len(kept) == 1 and secret not in kept[0][0] and len(kept[0][0]) == 64
    code, out, _ = serve(url, "token", "list")
    assert code == 0 and "ci-bot" in out and secret not in out
    code, out, _ = serve(url, "token", "revoke", str(caller.id))
    assert code == 0 and token_principal(store, secret) is None
    code, _, err = serve(url, "token", "revoke", "999")
    assert code == 2 and "no API token with id 999" in err
