"""The token store: in the OS keyring when there is one, else an owner-only file."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest
from keyring.backends import fail

from migrationkit.core.errors import AuthError
from migrationkit.core.redaction import REDACTED, forget_all, redact
from migrationkit.http import TokenSet, TokenStore
from migrationkit.http.oauth import KEYRING_SERVICE, keyring_backend


class FakeKeyring(keyring.backend.KeyringBackend):
    """A keyring in memory, as an OS keyring would behave."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.broken = False

    def get_password(self, service: str, username: str) -> str | None:
        if self.broken:
            raise keyring.errors.KeyringLocked("locked")
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.broken:
            raise keyring.errors.PasswordSetError("locked")
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKeyring]:
    monkeypatch.setenv("MIGRATIONKIT_KEYRING", "auto")
    previous = keyring.get_keyring()
    backend = FakeKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def _tokens() -> TokenSet:
    return TokenSet(access_token="at-keyring-123456", refresh_token="rt-keyring-654321")


def test_with_a_keyring_the_tokens_never_touch_the_disk(fake: FakeKeyring, tmp_path: Path) -> None:
    path = tmp_path / "tokens" / "xero.json"
    store = TokenStore(path)
    assert store.keyring is fake
    store.save(_tokens())
    assert not path.exists()
    held = json.loads(fake.entries[(KEYRING_SERVICE, str(path.absolute()))])
    assert held["refresh_token"] == "rt-keyring-654321"
    assert TokenStore(path).load() == _tokens()
    assert "the OS keyring" in store.where


def test_a_token_file_from_before_the_keyring_moves_into_it(
    fake: FakeKeyring, tmp_path: Path
) -> None:
    path = tmp_path / "xero.json"
    TokenStore(path, use_keyring=False).save(_tokens())
    assert path.exists()
    store = TokenStore(path)
    assert store.load() == _tokens(), "read from the file while the keyring has none"
    store.save(_tokens())
    assert not path.exists(), "the next save moves it into the keyring"
    assert store.load() == _tokens()


def test_without_a_keyring_the_file_is_owner_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MIGRATIONKIT_KEYRING", "auto")
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        assert keyring_backend() is None
        path = tmp_path / "cfg" / "tokens" / "xero.json"
        TokenStore(path).save(_tokens())
    finally:
        keyring.set_keyring(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    assert TokenStore(path).load() == _tokens()


def test_turned_off_the_keyring_is_not_used(
    fake: FakeKeyring, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MIGRATIONKIT_KEYRING", "off")
    path = tmp_path / "xero.json"
    TokenStore(path).save(_tokens())
    assert path.exists() and not fake.entries
    monkeypatch.setenv("MIGRATIONKIT_KEYRING", "auto")
    TokenStore(tmp_path / "other.json", use_keyring=False).save(_tokens())
    assert not fake.entries


def test_a_keyring_that_refuses_writes_leaves_the_tokens_in_the_file(
    fake: FakeKeyring, tmp_path: Path
) -> None:
    fake.broken = True
    path = tmp_path / "xero.json"
    TokenStore(path).save(_tokens())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert TokenStore(path).load() == _tokens(), "read back from the file"
    path.unlink()
    with pytest.raises(AuthError, match="keyring refused"):
        TokenStore(path).load()


def test_tokens_read_or_written_are_redacted_from_then_on(tmp_path: Path) -> None:
    forget_all()
    path = tmp_path / "xero.json"
    TokenStore(path).save(_tokens())
    forget_all()
    TokenStore(path).load()
    assert (
        redact("sent at-keyring-123456 and rt-keyring-654321") == f"sent {REDACTED} and {REDACTED}"
    )
