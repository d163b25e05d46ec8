"""`migrationkit sandbox exact` takes the shared options (--port, --token, --division,
--rate-scale) and --oauth; importing the production code loads no sandbox."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests
from click.testing import CliRunner

from migrationkit.cli import _add_plugin_commands, cli
from migrationkit.core.plugins import PluginRegistry
from migrationkit.testing.sandboxes.server import SandboxServer


def _run(
    monkeypatch: pytest.MonkeyPatch, args: list[str], tokens: tuple[str, ...]
) -> tuple[str, dict[str, int]]:
    """Run the command; serve in a thread while the tokens are tried, instead of until Ctrl-C."""
    statuses: dict[str, int] = {}

    def serve_while_checking(server: SandboxServer) -> None:
        server.start()
        for token in tokens:
            answer = requests.get(
                f"{server.url}/api/v1/42/vat/VATCodes",
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=5,
            )
            statuses[token] = answer.status_code

    _add_plugin_commands(PluginRegistry())
    monkeypatch.setattr(SandboxServer, "serve_forever", serve_while_checking)
    result = CliRunner().invoke(cli, ["sandbox", "exact", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output, statuses


def test_port_token_division_and_rate_scale_are_its_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = ["--port", "0", "--token", "the-token", "--division", "42", "--rate-scale", "10"]
    output, statuses = _run(monkeypatch, args, ("the-token", "another"))
    assert statuses == {"the-token": 200, "another": 401}
    lines = output.splitlines()
    assert lines[0].endswith("/api/v1/42/") and lines[1].split() == ["bearer:", "the-token"]
    assert lines[2].split()[:2] == ["division:", "42"] and "rate_scale = 10" in output
    _output, statuses = _run(monkeypatch, ["--port", "0", "--division", "42"], ("x", "y"))
    assert statuses == {"x": 200, "y": 200}, "no --token: any bearer token"


def test_oauth_runs_exacts_token_lifecycle(monkeypatch: pytest.MonkeyPatch) -> None:
    statuses: dict[str, int] = {}

    def serve_while_checking(server: SandboxServer) -> None:
        server.start()
        issued = server.app.issue_tokens()["access_token"]  # type: ignore[attr-defined]
        for name, token in (("made up", "x"), ("issued", issued)):
            answer = requests.get(
                f"{server.url}/api/v1/42/vat/VATCodes",
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=5,
            )
            statuses[name] = answer.status_code

    _add_plugin_commands(PluginRegistry())
    monkeypatch.setattr(SandboxServer, "serve_forever", serve_while_checking)
    args = ["sandbox", "exact", "--port", "0", "--division", "42", "--oauth"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert statuses == {"made up": 401, "issued": 200}
    assert "Exact's lifecycle" in result.output


def test_importing_the_connector_loads_no_sandbox_and_no_server() -> None:
    code = (
        "import sys, migrationkit.cli, migrationkit.connectors.exact.connector\n"
        "from migrationkit.core.plugins import PluginRegistry\n"
        "from migrationkit.cli import _add_plugin_commands\n"
        "PluginRegistry().open('exact', {'division': 1, 'access_token': 't'})\n"
        "_add_plugin_commands(PluginRegistry())\n"
        "loaded = [m for m in sys.modules if m.startswith(('werkzeug', 'http.server',\n"
        "          'socketserver', 'migrationkit.testing.sandboxes.exact.app'))]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
