"""Handing a client over: offer, accept into a second portfolio, and every refusal in one line."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import postgres
from migrationkit import ConnectorInfo, PluginRegistry, hookimpl
from migrationkit.cli import main
from migrationkit.connectors.csv.connector import CsvConnector
from migrationkit.connectors.csv.options import CsvOptions
from migrationkit.connectors.csv.plugin import CAPABILITIES
from migrationkit.core.redaction import redact
from migrationkit.portfolio import ClientStatus, Portfolio, PortfolioError, model
from migrationkit.portfolio.bundle import (
    CODE_BITS,
    HandoffError,
    Kdf,
    new_code,
    normal_code,
    open_bundle,
)
from migrationkit.portfolio.handoff import SCHEMA_ENV, compatible
from portfolio.portfolio_support import fast_folder

TOKEN = "tok-Secret-4f9a7c1e"
CLIENT_SECRET = "cs-Very-Secret-0b3d"


@attrs.frozen(kw_only=True)
class TokenCsvOptions(CsvOptions):
    """The csv connector's options, with credentials as an API connector has them."""

    access_token: str | None = attrs.field(default=None, repr=False, metadata={"secret": True})
    client_secret: str | None = attrs.field(default=None, repr=False, metadata={"secret": True})
    client_id: str | None = None


class TokenCsvPlugin:
    @staticmethod
    @hookimpl
    def migrationkit_register_connectors(register: Callable[[ConnectorInfo], None]) -> None:
        register(
            ConnectorInfo(
                name="token-csv",
                summary="csv behind a login",
                factory=CsvConnector,
                options=TokenCsvOptions,
                capabilities=CAPABILITIES,
            )
        )


@pytest.fixture(autouse=True)
def quick_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at its lowest accepted cost: the tests make many bundles on a small machine."""
    monkeypatch.setattr(
        Kdf,
        "fresh",
        classmethod(
            lambda cls: cls(
                name="argon2id",
                salt=b"0123456789abcdef",
                params={"memory_kib": 8192, "iterations": 1, "lanes": 1},
            )
        ),
    )


def _folder(tmp_path: Path, name: str) -> Path:
    return fast_folder(tmp_path / name)


def _with_token(tmp_path: Path, source: Path, out: Path) -> Path:
    config = tmp_path / "acme.toml"
    config.write_text(
        f'[source]\nconnector = "sage50-json"\npath = "{source}"\n'
        f'[target]\nconnector = "token-csv"\nlocation = "{out}"\n'
        f'access_token = "{TOKEN}"\nclient_secret = "{CLIENT_SECRET}"\nclient_id = "app-1"\n'
        "[migration]\nbatch_size = 50\n",
        "utf-8",
    )
    return config


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.csv"))}


def _registry() -> PluginRegistry:
    return PluginRegistry(plugins=[TokenCsvPlugin])


def test_offer_accept_then_a_delta_creates_nothing_on_the_target(companies, tmp_path: Path) -> None:
    [source] = companies(1)
    out = tmp_path / "target"
    config = _with_token(tmp_path, source, out)
    with Portfolio(_folder(tmp_path, "sender"), registry=_registry()) as sender:
        sender.add("Acme Ltd", config=config, email="books@acme.test")
        [ran] = sender.run("full", sender.select(["Acme Ltd"]))
        assert ran.status is ClientStatus.ACTIVE and ran.moved
        made = sender.offer("Acme Ltd", to="office@birch.test", out=tmp_path / "acme.mkhandoff")
        assert stat.S_IMODE(made.file.stat().st_mode) == 0o600
        expires = model.moment(made.expires) - model.utcnow()
        assert dt.timedelta(days=14, hours=23) < expires <= dt.timedelta(days=15)
        # The sender cannot run it while it is offered: the offer's id map would be stale.
        with pytest.raises(PortfolioError, match="offered to another"):
            sender.select(["Acme Ltd"])
    written = _files(out)
    assert written

    with Portfolio(_folder(tmp_path, "receiver"), registry=_registry()) as receiver:
        client = receiver.accept(made.file, made.code.lower().replace("-", " "))
        # The target takes a login: the receiver authorises again before anything runs.
        assert client.status is ClientStatus.WAITING
        assert client.reason is not None and "consent needed" in client.reason
        assert client.waiting_until is None
        assert not made.file.exists(), "an accepted bundle is deleted"
        assert TOKEN not in (client.config or "") and CLIENT_SECRET not in (client.config or "")
        assert "client_id" in (client.config or "")
        assert client.moved == ran.moved and client.email == "books@acme.test"
        assert client.report and Path(client.report).exists()
        assert Path(client.report).is_relative_to(receiver.place.folder)
        assert stat.S_IMODE(Path(client.report).stat().st_mode) == 0o600
        assert stat.S_IMODE(Path(client.report).parent.stat().st_mode) == 0o700
        state = receiver.place.client_folder(client) / "state.db"
        assert stat.S_IMODE(state.stat().st_mode) == 0o600
        with sqlite3.connect(state) as db:
            assert db.execute("SELECT COUNT(*) FROM id_map").fetchone()[0] == ran.moved
        history = [(e.status, e.reason) for e in receiver.history("Acme Ltd")]
        assert history[0][0] is ClientStatus.ACTIVE and "handoff" in str(history[0][1])
        # The delta after the handoff finds everything on the target through the id map.
        [after] = receiver.run("delta", receiver.select(["Acme Ltd"]))
        assert after.status is ClientStatus.ACTIVE, after.reason
        assert after.moved == 0 and after.reconcile == "ok"
        report = json.loads(Path(str(after.report)).with_suffix(".json").read_text("utf-8"))
        assert report["totals"]["created"] == 0
        assert [e.event for e in receiver.handoff_history()] == ["accepted"]
    assert _files(out) == written, "the delta wrote nothing to the target"


def test_a_bundle_without_its_code_reveals_nothing(companies, tmp_path: Path) -> None:
    [source] = companies(1)
    out = tmp_path / "target"
    config = _with_token(tmp_path, source, out)
    with Portfolio(_folder(tmp_path, "sender"), registry=_registry()) as sender:
        sender.add("Acme Quarry Holdings", config=config)
        sender.run("full", sender.select(["Acme Quarry Holdings"]))
        made = sender.offer("Acme Quarry Holdings", out=tmp_path / "b.mkhandoff")
    raw = made.file.read_bytes()
    header = raw.split(b"\n")[1]
    assert set(json.loads(header)) == {"cipher", "format", "kdf", "nonce"}
    company = json.loads(source.read_text("utf-8"))["company"]["name"]
    amounts = {
        row.split(",")[i]
        for path in out.rglob("*.csv")
        for row in path.read_text("utf-8").splitlines()[1:3]
        for i in range(len(row.split(",")))
        if "." in row.split(",")[i] and row.split(",")[i].replace(".", "").isdigit()
    }
    assert amounts, "the target holds amounts to look for"
    for secret in {"Acme Quarry", company, TOKEN, CLIENT_SECRET, *amounts}:
        assert secret.encode() not in raw, f"{secret!r} is readable in the bundle"
    # Opened with the code, the bundle holds the data, but still no credential.
    members = open_bundle(made.file, made.code)
    opened = b"".join(members.values())
    assert b"Acme Quarry" in members["client.json"]
    assert TOKEN.encode() not in opened and CLIENT_SECRET.encode() not in opened
    # The code is a secret from the moment it exists: no log line or report can carry it.
    assert made.code not in redact(f"code {made.code} for {made.file}")
    # A changed byte anywhere, the header included, and it does not open.
    for at in (len(b"MIGRATIONKIT-HANDOFF\n") + 12, len(raw) - 5):
        bent = tmp_path / f"bent-{at}"
        bent.write_bytes(raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1 :])
        with pytest.raises(HandoffError):
            open_bundle(bent, made.code)


def _offered(tmp_path: Path, companies, registry: PluginRegistry | None = None):
    [source] = companies(1)
    config = _with_token(tmp_path, source, tmp_path / "target")
    sender = Portfolio(_folder(tmp_path, "sender"), registry=registry or _registry())
    sender.add("Acme Ltd", config=config)
    made = sender.offer("Acme Ltd", out=tmp_path / "acme.mkhandoff")
    return sender, made


def test_each_refusal_is_its_own_line(
    companies, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender, made = _offered(tmp_path, companies)
    spare = tmp_path / "spare.mkhandoff"
    shutil.copy(made.file, spare)
    with Portfolio(_folder(tmp_path, "receiver"), registry=_registry()) as receiver:
        wrong = normal_code(made.code)
        wrong = ("0" if wrong[0] != "0" else "1") + wrong[1:]
        with pytest.raises(HandoffError, match=r"^the code does not open .*acme\.mkhandoff"):
            receiver.accept(made.file, wrong)
        with pytest.raises(HandoffError, match="a handoff code is 12 letters and digits"):
            receiver.accept(made.file, "1234")
        # Sixteen days on, the sealed expiry refuses it (with the file alone too).
        later = model.utcnow() + dt.timedelta(days=16)
        with monkeypatch.context() as clock:
            clock.setattr(model, "utcnow", lambda: later)
            with pytest.raises(HandoffError, match=r"^the offer of 'Acme Ltd' expired on "):
                receiver.accept(made.file, made.code)
            assert [e.event for e in sender.handoff_history()] == ["offered", "expired"]
        assert [e.event for e in receiver.handoff_history()] == ["expired"]
        event = receiver.reject(made.file, made.code, "not our client")
        assert event.event == "rejected" and not made.file.exists()
        with pytest.raises(HandoffError, match=r"was rejected on .* not our client$"):
            receiver.accept(spare, made.code)
        assert receiver.clients() == []
    # The same package: a portfolio without the target's connector refuses it.
    shutil.copy(spare, made.file)
    with Portfolio(_folder(tmp_path, "plain"), registry=PluginRegistry()) as plain:
        with pytest.raises(HandoffError, match="no connector 'token-csv', the target of"):
            plain.accept(made.file, made.code)
        newer = "migrationkit 9.1"
        monkeypatch.setattr(PluginRegistry, "distribution_of", lambda self, name: newer)
        with pytest.raises(HandoffError, match="install a compatible version"):
            Portfolio(_folder(tmp_path, "newer"), registry=_registry()).accept(made.file, made.code)
    # That offer expired; a new one, withdrawn: where its bundle was written, it is gone.
    with pytest.raises(HandoffError, match="has no open offer to withdraw"):
        sender.withdraw("Acme Ltd")
    again = sender.offer("Acme Ltd", out=tmp_path / "again.mkhandoff")
    event = sender.withdraw("Acme Ltd")
    assert event.event == "withdrawn" and not again.file.exists()
    with pytest.raises(HandoffError, match="has no open offer to withdraw"):
        sender.withdraw("Acme Ltd")
    # Removing a client withdraws its open offer.
    last = sender.offer("Acme Ltd", out=tmp_path / "last.mkhandoff")
    sender.remove("Acme Ltd", delete_data=True)
    assert not last.file.exists()
    assert [e.event for e in sender.handoff_history()][-2:] == ["offered", "withdrawn"]
    sender.close()


def test_codes_and_package_versions() -> None:
    assert CODE_BITS >= 60
    code = new_code()
    assert len(code) == 14 and code.count("-") == 2
    assert normal_code(code.lower().replace("-", " ")) == code.replace("-", "")
    assert normal_code("oil0-OIL0-abcd") == "01100110ABCD"
    assert len({new_code() for _ in range(200)}) == 200
    assert compatible("migrationkit 0.1.0", "migrationkit 0.1.7")
    assert not compatible("migrationkit 0.1.0", "migrationkit 0.2.0")
    assert compatible("migrationkit 1.2.0", "migrationkit 1.9.1")
    assert not compatible("migrationkit 1.2.0", "other-kit 1.2.0")
    assert not compatible("migrationkit 1.2.0", None)
    assert compatible(None, None)


def test_a_bundle_is_a_bundle_or_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mkhandoff"
    junk.write_bytes(b"PK\x03\x04 not a bundle")
    with pytest.raises(HandoffError, match="is not a migrationkit handoff bundle"):
        open_bundle(junk, "AAAA-AAAA-AAAA")
    greedy = {"name": "scrypt", "n": 2**40, "r": 8, "p": 1, "salt": "A" * 22 + "=="}
    header = {"format": 1, "cipher": "AES-256-GCM", "kdf": greedy, "nonce": "A" * 16}
    junk.write_bytes(b"MIGRATIONKIT-HANDOFF\n" + json.dumps(header).encode() + b"\nxx")
    with pytest.raises(HandoffError, match="has a damaged header"):
        open_bundle(junk, "AAAA-AAAA-AAAA")
    with pytest.raises(HandoffError, match="there is no handoff bundle at"):
        open_bundle(tmp_path / "none", "AAAA-AAAA-AAAA")


def test_the_real_key_derivation_round_trips(tmp_path: Path) -> None:
    from migrationkit.portfolio.bundle import seal_bundle

    # The default parameters, not the tests' quick ones.
    fresh = Kdf(name="argon2id", salt=b"x" * 16,
                params={"memory_kib": 65536, "iterations": 3, "lanes": 4})  # fmt: skip
    code = new_code()
    seal_bundle(tmp_path / "b", code, {"a.txt": b"hello"}, kdf=fresh)
    assert open_bundle(tmp_path / "b", code) == {"a.txt": b"hello"}


def test_the_command_line(companies, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    [source] = companies(1)
    sender, receiver = _folder(tmp_path, "sender"), _folder(tmp_path, "receiver")

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    assert run("portfolio", "--portfolio", str(sender), "add", "Bee", "--source",
               f"sage50-json:{source}", "--target", f"csv:{tmp_path / 'out'}")[0] == 0  # fmt: skip
    bundle = tmp_path / "bee.mkhandoff"
    code, out, _ = run("handoff", "offer", "Bee", "--portfolio", str(sender), "--out",
                       str(bundle), "--json")  # fmt: skip
    made = json.loads(out)
    assert code == 0 and {"code", "file", "expires"} <= set(made)
    code, out, err = run("handoff", "--portfolio", str(receiver), "accept", str(bundle),
                         "--code", "0000-0000-0000")  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1 and "does not open" in err
    code, out, _ = run("handoff", "--portfolio", str(receiver), "accept", str(bundle),
                       "--code", made["code"], "--as", "Bee [UK]")  # fmt: skip
    assert code == 0 and "Accepted Bee [UK] (pending)." in out
    code, out, _ = run("handoff", "list", "--portfolio", str(receiver), "--json")
    assert [e["event"] for e in json.loads(out)] == ["accepted"]
    code, out, _ = run("handoff", "list", "--portfolio", str(sender))
    assert code == 0 and "offered" in out and "Bee" in out
    code, out, _ = run("portfolio", "list", "--portfolio", str(receiver), "--json")
    assert [(c["name"], c["purge_at"]) for c in json.loads(out)] == [("Bee [UK]", None)]


def test_in_one_database_withdraw_reject_and_accept_reach_the_other_side(
    companies, tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SCHEMA_ENV, postgres.new_schema("ho"))
    [source] = companies(1)
    config = _with_token(tmp_path, source, tmp_path / "target")

    def opened(name: str) -> Portfolio:
        return Portfolio(_folder(tmp_path, name), database_url=postgres_url,
                         namespace=postgres.new_schema("p"), registry=_registry())  # fmt: skip

    with opened("a") as sender, opened("b") as receiver:
        sender.add("Acme Ltd", config=config)
        [ran] = sender.run("full", sender.select(["Acme Ltd"]))
        assert ran.status is ClientStatus.ACTIVE
        made = sender.offer("Acme Ltd", out=tmp_path / "one.mkhandoff")
        spare = tmp_path / "spare.mkhandoff"
        shutil.copy(made.file, spare)
        sender.withdraw("Acme Ltd")
        with pytest.raises(HandoffError, match=r"^the offer of 'Acme Ltd' was withdrawn by its"):
            receiver.accept(spare, made.code)

        made = sender.offer("Acme Ltd", out=tmp_path / "two.mkhandoff")
        receiver.reject(made.file, made.code, "wrong office")
        seen = [(e.event, e.reason) for e in sender.handoff_history()]
        assert seen[-1] == ("rejected", "wrong office")
        assert sender.client("Acme Ltd").status is ClientStatus.ACTIVE

        made = sender.offer("Acme Ltd", out=tmp_path / "three.mkhandoff")
        client = receiver.accept(made.file, made.code)
        assert client.status is ClientStatus.WAITING
        store = receiver.place.state_store(client)
        try:
            # The state store came along, from PostgreSQL to PostgreSQL.
            [migration] = store.migrations()
            assert [r.mode for r in store.runs(migration.id)] == ["full"]
            assert sum(1 for _ in store.active_keys(migration.id, "contacts")) > 0
        finally:
            store.close()
        # The sender's copy is marked handed over, and runs no more.
        [mine] = sender.clients()
        assert mine.status is ClientStatus.HANDED_OVER and "accepted on" in str(mine.reason)
        with pytest.raises(PortfolioError, match="handed over to another portfolio"):
            sender.select(["Acme Ltd"])
        assert [e.event for e in sender.handoff_history()][-2:] == ["offered", "accepted"]


_HEADERS = st.fixed_dictionaries(
    {
        "format": st.sampled_from([1, 1, 2, "1", None]),
        "cipher": st.sampled_from(["AES-256-GCM", "AES-256-GCM", "ROT13"]),
        "kdf": st.one_of(
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(["argon2id", "scrypt", "md5"]),
                    "memory_kib": st.sampled_from([8192, 1, 2**40, "8192", True]),
                    "iterations": st.sampled_from([1, 0, 99]),
                    "lanes": st.sampled_from([1, -1]),
                    "n": st.sampled_from([2**14, 3, 2**40]),
                    "r": st.sampled_from([1, 8, 64]),
                    "p": st.sampled_from([1, 9]),
                    "salt": st.sampled_from(["MDEyMzQ1Njc4OWFiY2RlZg==", "", "!!", 7]),
                }
            ),
            st.none(),
            st.text(max_size=5),
        ),
        "nonce": st.sampled_from(["AAAAAAAAAAAAAAAA", "AAAA", "", None, "***"]),
    }
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.one_of(_HEADERS, st.binary(max_size=60).map(lambda b: b.decode("latin-1"))),
    body=st.binary(max_size=80),
    code=st.one_of(st.just("7K3M-Q9PA-X2DF"), st.text(max_size=20)),
)
def test_any_bundle_opens_or_is_one_handoff_error(
    tmp_path: Path, header: object, body: bytes, code: str
) -> None:
    """Whatever the file holds and whatever code is typed, a HandoffError and nothing else."""
    text = header if isinstance(header, str) else json.dumps(header)
    path = tmp_path / "fuzz.mkhandoff"
    path.write_bytes(b"MIGRATIONKIT-HANDOFF\n" + text.encode("utf-8", "replace") + b"\n" + body)
    with pytest.raises(HandoffError) as caught:
        open_bundle(path, code)
    assert "\n" not in str(caught.value)
