"""``migrationkit sandbox sage-accounting``: run the Sage Accounting sandbox in the foreground."""

from __future__ import annotations

import click

from ..command import SandboxOptions, sandbox_cli, serve

__all__ = ["sandbox_command"]


@sandbox_cli(
    "sage-accounting",
    port=8090,
    account="--business-id",
    account_help="Id of the (first) business (default: a new one).",
)
@click.option("--business", "businesses", multiple=True, help="Business name (repeatable).")
@click.option("--rate-limit", default=200, show_default=True, help="Calls per minute before a 429.")
def sandbox_command(options: SandboxOptions, businesses: tuple[str, ...], rate_limit: int) -> None:
    """Run a local emulator of the Sage Accounting v3.1 API."""
    from .app import SageSandbox, SageSandboxServer

    app = SageSandbox(
        businesses=businesses or ("Sandbox Trading Ltd",),
        business_id=options.account,
        rate_limit=rate_limit,
        rate_scale=options.rate_scale,
        **options.auth(),
    )
    server = SageSandboxServer(app, options.port)
    base = server.url
    token = app.token or ""
    serve(
        server,
        options,
        title="Sage Accounting sandbox",
        api=f"{base}/v3.1",
        token=token,
        accounts=[("business", f"{id_}  {name}") for id_, name in app.business_names().items()],
        more=[
            ("OAuth client", f"{app.client_id} / {app.client_secret}"),
            ("authorize URL", f"{base}/oauth/authorize"),
            ("token URL", f"{base}/oauth/token"),
            (
                "use",
                f"--target sage-accounting:{app.business_id} with options "
                f'base_url = "{base}/v3.1", access_token = "{token}", '
                f"rate_scale = {options.rate_scale:g}",
            ),
        ],
    )
