"""``migrationkit sandbox xero``: run the Xero sandbox in the foreground."""

from __future__ import annotations

from ..command import SandboxOptions, sandbox_cli, serve

__all__ = ["sandbox_command"]


@sandbox_cli("xero", port=8810, account="--tenant", account_help="Tenant id (default: a new one).")
def sandbox_command(options: SandboxOptions) -> None:
    """Run a local emulator of the Xero Accounting API."""
    from .app import (
        API_PREFIX,
        AUTHORIZE_PATH,
        CONNECTIONS_PATH,
        TOKEN_PATH,
        XeroSandbox,
        start_server,
    )

    app = XeroSandbox(rate_scale=options.rate_scale, tenant_id=options.account, **options.auth())
    server = start_server(app, port=options.port)
    token = options.token or app.issue_token()
    base = server.url
    serve(
        server,
        options,
        title="Xero sandbox",
        api=base + API_PREFIX,
        token=token,
        accounts=[("tenant id", app.default_tenant)],
        more=[
            ("token URL", f"{base}{TOKEN_PATH}   authorize: {base}{AUTHORIZE_PATH}"),
            ("connections", base + CONNECTIONS_PATH),
            (
                "use",
                f"--target xero:{app.default_tenant} with options "
                f'base_url = "{base}{API_PREFIX}", access_token = "{token}", '
                f"rate_scale = {options.rate_scale:g}",
            ),
        ],
    )
