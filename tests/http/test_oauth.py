"""OAuth2: refresh ahead of expiry, rotation under a lock, no secret in any message."""

from __future__ import annotations

import multiprocessing
import stat
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import responses

from migrationkit import AuthError
from migrationkit.http import OAuth2Session, TokenSet, TokenStore, login

TOKEN_URL = "https://identity.example.test/token"


def session(path: Path, clock: float = 1000.0) -> OAuth2Session:
    return OAuth2Session(
        token_url=TOKEN_URL,
        client_id="id",
        client_secret="very-secret",
        store=TokenStore(path),
        name="Example",
        login_hint="run `migrationkit auth example`",
        clock=lambda: clock,
    )


def test_the_store_is_owner_only(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "t.json")
    store.save(TokenSet(access_token="acc-XYZ", refresh_token="ref-XYZ", expires_at=5))
    assert stat.S_IMODE((tmp_path / "t.json").stat().st_mode) == 0o600
    loaded = store.load()
    assert loaded == TokenSet(access_token="acc-XYZ", refresh_token="ref-XYZ", expires_at=5)
    assert "XYZ" not in repr(loaded)


@responses.activate
def test_refresh_shortly_before_expiry_rotates_the_refresh_token(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    TokenStore(path).save(TokenSet(access_token="old", refresh_token="r1", expires_at=1100))
    responses.post(
        TOKEN_URL,
        json={"access_token": "new", "refresh_token": "r2", "expires_in": 1800},
    )
    oauth = session(path, clock=1000.0)  # 100 s left, inside the 120 s margin
    assert oauth.access_token() == "new"
    saved = TokenStore(path).load()
    assert saved is not None and saved.refresh_token == "r2" and saved.expires_at == 2800
    assert "refresh_token=r1" in (responses.calls[0].request.body or "")
    assert oauth.access_token() == "new" and len(responses.calls) == 1


@responses.activate
def test_invalid_grant_says_what_to_do_and_shows_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    TokenStore(path).save(TokenSet(access_token="old", refresh_token="r1", expires_at=0))
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant", "detail": "r1 used"})
    with pytest.raises(AuthError, match=r"invalid_grant.*auth example") as caught:
        session(path).access_token()
    for secret in ("r1", "very-secret", "old"):
        assert secret not in str(caught.value)


def _refresh_in_process(path: str, port: int, barrier: object) -> None:
    oauth = OAuth2Session(
        token_url=f"http://127.0.0.1:{port}/token",
        client_id="id",
        client_secret="s",
        store=TokenStore(path),
        clock=lambda: 10_000.0,
    )
    barrier.wait()  # type: ignore[attr-defined]
    oauth.access_token()


def test_two_processes_refreshing_at_once_burn_no_refresh_token(tmp_path: Path) -> None:
    import http.server

    used: list[str] = []

    class Token(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            refresh = dict(p.split("=") for p in body.split("&"))["refresh_token"]
            time.sleep(0.2)  # a slow token endpoint widens the race
            if refresh in used:
                self.send_response(400)
                payload = b'{"error": "invalid_grant"}'
            else:
                used.append(refresh)
                self.send_response(200)
                payload = (
                    f'{{"access_token": "a{len(used)}", "refresh_token": "r{len(used) + 1}", '
                    '"expires_in": 1800}'
                ).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Token)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    path = tmp_path / "t.json"
    TokenStore(path).save(TokenSet(access_token="a0", refresh_token="r1", expires_at=0))
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    workers = [
        context.Process(
            target=_refresh_in_process, args=(str(path), server.server_address[1], barrier)
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    server.shutdown()
    assert [w.exitcode for w in workers] == [0, 0], "one of the processes got invalid_grant"
    assert used == ["r1"], "exactly one refresh reached the token endpoint"
    saved = TokenStore(path).load()
    assert saved is not None and saved.refresh_token == "r2"


@pytest.mark.parametrize(
    "authorize_url",
    ["https://login.example.test/authorize", "https://login.example.test/authorize?tenant=any"],
)
def test_login_exchanges_the_code_from_the_local_redirect(
    tmp_path: Path, authorize_url: str
) -> None:
    oauth = session(tmp_path / "t.json")
    shown: list[str] = []

    def browser(url: str) -> None:
        shown.append(url)
        assert url.count("?") == 1
        query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))

        def visit() -> None:
            time.sleep(0.1)
            urllib.request.urlopen(
                f"http://localhost:18765/callback?code=c0de&state={query['state']}"
            ).read()

        threading.Thread(target=visit, daemon=True).start()

    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.add_passthru("http://localhost:18765")
        mock.post(TOKEN_URL, json={"access_token": "a", "refresh_token": "r", "expires_in": 300})
        tokens = login(
            oauth,
            authorize_url=authorize_url,
            scopes="s",
            port=18765,
            show=browser,
        )
        assert "code=c0de" in (mock.calls[0].request.body or "")
        assert "code_verifier=" in (mock.calls[0].request.body or "")
    assert tokens.access_token == "a"
    assert "code_challenge_method=S256" in shown[0]
    assert TokenStore(tmp_path / "t.json").load() == tokens


def _rationed(path: Path, clock: list[float]) -> OAuth2Session:
    """A session with Exact's rations: 570 s between token calls, 200 a day."""
    return OAuth2Session(
        token_url=TOKEN_URL,
        client_id="id",
        client_secret="very-secret",
        store=TokenStore(path),
        name="Example",
        login_hint="run `migrationkit auth example`",
        margin=30.0,
        clock=lambda: clock[0],
        min_token_age=570.0,
        daily_token_calls=2,
        relogin_errors={"invalid_grant": "", "unauthorized_client": "the token was used"},
    )


@responses.activate
def test_a_rationed_endpoint_is_asked_no_sooner_and_no_oftener_than_it_allows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.json"
    start = 1_700_000_000.0
    TokenStore(path).save(
        TokenSet(access_token="a0", refresh_token="r1", expires_at=start + 600, issued_at=start)
    )
    responses.post(TOKEN_URL, json={"access_token": "a1", "refresh_token": "r2", "expires_in": 600})
    clock = [start + 569]
    oauth = _rationed(path, clock)
    assert oauth.access_token() == "a0"  # 31 s left, but younger than 570 s: kept
    with pytest.raises(AuthError, match=r"issued 569 s ago.*within 570 s"):
        oauth.refresh("a0")  # a refusal of a young token is not answered with a token call
    assert not responses.calls
    clock[0] = start + 570
    assert oauth.access_token() == "a1" and len(responses.calls) == 1
    saved = TokenStore(path).load()
    assert saved is not None and saved.issued_at == start + 570 and saved.calls == 1
    clock[0] += 570
    responses.post(TOKEN_URL, json={"access_token": "a2", "refresh_token": "r3", "expires_in": 600})
    assert oauth.access_token() == "a2"
    clock[0] += 570
    with pytest.raises(AuthError, match="2 token calls a day"):
        oauth.access_token()
    assert len(responses.calls) == 2


@responses.activate
def test_an_error_that_needs_a_new_login_says_why_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    TokenStore(path).save(TokenSet(access_token="old", refresh_token="r1", expires_at=0))
    responses.post(
        TOKEN_URL,
        status=401,
        json={"error": "unauthorized_client", "error_description": "Old refresh token used."},
    )
    with pytest.raises(AuthError) as caught:
        _rationed(path, [1_700_000_000.0]).access_token()
    message = str(caught.value)
    assert message == (
        "the Example token endpoint refused the request (401 unauthorized_client): the token "
        "was used; run `migrationkit auth example`"
    )
    assert TokenStore(path).load() == TokenSet(access_token="old", refresh_token="r1", expires_at=0)
