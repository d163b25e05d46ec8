"""``migrationkit sandbox twinfield``: run the Twinfield sandbox in the foreground."""

from __future__ import annotations

import click

from ..command import SandboxOptions, sandbox_cli, serve

__all__ = ["sandbox_command"]


@sandbox_cli(
    "twinfield",
    port=8830,
    account="--office",
    account_help="The administration (office) code (default: SANDBOX01).",
)
@click.option(
    "--real-tokens",
    is_flag=True,
    help="Run the real token lifecycle: only tokens the sandbox issued, each for an hour "
    "(scaled), then 'Token invalid (code 354)'.",
)
def sandbox_command(options: SandboxOptions, real_tokens: bool) -> None:
    """Run a local emulator of Twinfield's XML web services (ProcessXml over SOAP)."""
    from ..server import SandboxServer
    from .app import AUTH_PREFIX, PROCESS_XML_PATH, TwinfieldSandbox

    office = options.account or "SANDBOX01"
    auth = options.auth()
    if real_tokens:
        auth["accept_any_token"] = False
    app = TwinfieldSandbox(office=office, rate_scale=options.rate_scale, **auth)
    server = SandboxServer(app, options.port)
    base = server.url
    serve(
        server,
        options,
        title="Twinfield sandbox",
        api=f"{base}{PROCESS_XML_PATH}",
        token=app.token or "",
        accounts=[("office", office)],
        more=[
            ("lifecycle", "real: issued tokens for an hour" if real_tokens else "tokens never end"),
            ("OAuth client", f"{app.client_id} / {app.client_secret}"),
            ("login URL", f"{base}{AUTH_PREFIX}  (authorize, token, accesstokenvalidation)"),
            (
                "use",
                f"--target twinfield:{office} with options "
                f'cluster_url = "{base}", access_token = "{app.token}", '
                f"rate_scale = {options.rate_scale:g}",
            ),
        ],
    )
