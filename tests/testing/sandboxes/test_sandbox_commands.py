"""Every `migrationkit sandbox NAME` takes the same options; production imports load none."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
import requests
from click.testing import CliRunner

from migrationkit.cli import _add_plugin_commands, cli
from migrationkit.core.plugins import PluginRegistry
from migrationkit.testing.sandboxes.server import SandboxServer

# name, the company id option, a request that needs a bearer token, where the id shows
SANDBOXES = {
    "xero": ("--tenant", "/api.xro/2.0/Organisation", "tenant id:"),
    "sage-accounting": ("--business-id", "/v3.1/businesses", "business:"),
}


def _run(
    monkeypatch: pytest.MonkeyPatch, args: list[str], check: Callable[[SandboxServer], None]
) -> str:
    """Run the command; instead of serving until Ctrl-C, serve in a thread while ``check`` runs."""

    def serve_while_checking(server: SandboxServer) -> None:
        server.start()
        check(server)

    monkeypatch.setattr(SandboxServer, "serve_forever", serve_while_checking)
    result = CliRunner().invoke(cli, ["sandbox", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("name", sorted(SANDBOXES))
def test_port_token_and_company_id_are_options_of_every_sandbox(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    _add_plugin_commands(PluginRegistry())
    option, path, shown = SANDBOXES[name]
    statuses: dict[str, int] = {}

    def check(server: SandboxServer) -> None:
        for token in ("the-token", "another"):
            answer = requests.get(
                server.url + path,
                headers={"Authorization": f"Bearer {token}", "xero-tenant-id": "C-42"},
                timeout=5,
            )
            statuses[token] = answer.status_code

    args = [name, "--port", "0", "--token", "the-token", option, "C-42", "--rate-scale", "10"]
    output = _run(monkeypatch, args, check)
    assert statuses == {"the-token": 200, "another": 401}
    lines = output.splitlines()
    assert lines[1].split() == ["bearer:", "the-token"]
    assert lines[2].startswith(f"  {shown}") and "C-42" in lines[2].split()
    assert "rate_scale = 10" in output

    _run(monkeypatch, [name, "--port", "0"], check)
    assert statuses == {"the-token": 200, "another": 200}, "no --token: any bearer token"


def test_importing_the_production_code_loads_no_sandbox_and_no_server() -> None:
    code = (
        "import sys, migrationkit.cli, migrationkit.connectors.xero.connector, "
        "migrationkit.connectors.sage_accounting.connector\n"
        "assert not {'http.server', 'socketserver'} & set(sys.modules), 'a server module'\n"
        "loaded = [m for m in sys.modules if m.startswith(('werkzeug', 'migrationkit.testing'))]\n"
        "assert not loaded, loaded\n"
        # Registering the plugins' commands (as every start of the command line does) neither.
        "from migrationkit.core.plugins import PluginRegistry\n"
        "from migrationkit.cli import _add_plugin_commands\n"
        "_add_plugin_commands(PluginRegistry())\n"
        "server = {'http.server', 'socketserver', 'werkzeug', 'pytest'} & set(sys.modules)\n"
        "assert not server, server\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
