"""``migrationkit sandbox exact``: run the Exact Online sandbox in the foreground."""

from __future__ import annotations

import click

from ..command import SandboxOptions, sandbox_cli, serve

__all__ = ["sandbox_command"]


@sandbox_cli(
    "exact",
    port=8830,
    account="--division",
    account_help="Number of the division (default: 1).",
)
@click.option("--currency", default="EUR", show_default=True, help="The division's currency.")
@click.option(
    "--oauth",
    is_flag=True,
    help="Run Exact's token lifecycle: only tokens from the sandbox's OAuth server, 10 minutes "
    "each, rotating refresh tokens, none within 570 s of the last, 200 token calls a day.",
)
def sandbox_command(options: SandboxOptions, currency: str, oauth: bool) -> None:
    """Run a local emulator of the Exact Online REST API (one division, ready)."""
    from .app import ExactSandbox, start_server

    try:
        division = int(options.account or 1)
    except ValueError:
        raise click.BadParameter("a division is a number", param_hint="--division") from None
    app = ExactSandbox(
        divisions=(division,),
        currency=currency.upper(),
        rate_scale=options.rate_scale,
        oauth=oauth,
        **options.auth(),
    )
    server = start_server(app, options.port)
    base = server.url
    token = options.token or app.issue_tokens()["access_token"]
    scale = f", rate_scale = {options.rate_scale:g}" if options.rate_scale != 1 else ""
    serve(
        server,
        options,
        title="Exact Online sandbox",
        api=f"{base}/api/v1/{division}/",
        token=token,
        accounts=[("division", f"{division}  ({app.division().currency})")],
        more=[
            ("OAuth client", f"{app.client_id} / {app.client_secret}"),
            ("authorize URL", f"{base}/api/oauth2/auth"),
            ("token URL", f"{base}/api/oauth2/token"),
            (
                "tokens",
                "Exact's lifecycle (10 minutes, rotating refresh tokens)" if oauth else "any",
            ),
            (
                "use",
                f'--target exact:{division} with options base_url = "{base}", '
                f'access_token = "{token}"{scale}',
            ),
        ],
    )
