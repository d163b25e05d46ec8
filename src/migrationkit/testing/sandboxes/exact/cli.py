"""``migrationkit sandbox exact``: run the Exact Online sandbox in the foreground."""

from __future__ import annotations

import click

__all__ = ["sandbox_command"]


@click.command("exact")
@click.option(
    "--port", type=int, default=8830, show_default=True, help="Port on 127.0.0.1 (0: any)."
)
@click.option(
    "--token",
    default=None,
    help="The bearer token to print (default: a new one; any bearer token is accepted).",
)
@click.option(
    "--division",
    "divisions",
    type=int,
    multiple=True,
    help="Division number (repeatable; the first is the current one). Default: 1.",
)
@click.option("--currency", default="EUR", show_default=True, help="The divisions' currency.")
@click.option(
    "--oauth",
    is_flag=True,
    help="Run Exact's token lifecycle: only tokens from the sandbox's OAuth server, 10 minutes "
    "each, rotating refresh tokens, none within 570 s of the last, 200 token calls a day.",
)
@click.option(
    "--rate-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Run the rate-limit windows and the error budget this many times faster.",
)
def sandbox_command(
    port: int,
    token: str | None,
    divisions: tuple[int, ...],
    currency: str,
    oauth: bool,
    rate_scale: float,
) -> None:
    """Run a local emulator of the Exact Online REST API (division 1 ready)."""
    if rate_scale <= 0:
        raise click.BadParameter("must be above 0", param_hint="--rate-scale")
    from .app import ExactSandbox, start_server

    app = ExactSandbox(
        divisions=divisions or (1,),
        currency=currency.upper(),
        rate_scale=rate_scale,
        token=token,
        oauth=oauth,
    )
    server = start_server(app, port)
    base = server.url
    accepted = "only tokens from the OAuth server below" if oauth else "any bearer token"
    click.echo(f"Exact Online sandbox at {base}/api/v1/{app.current}/")
    click.echo(f"  bearer:        {app.token}  ({accepted})")
    for code in app.divisions:
        click.echo(f"  division:      {code}  ({app.divisions[code].currency})")
    click.echo(f"  OAuth client:  {app.client_id} / {app.client_secret}")
    click.echo(f"  authorize URL: {base}/api/oauth2/auth   token URL: {base}/api/oauth2/token")
    shown = "" if oauth else f', access_token = "{app.token}"'
    click.echo(
        f'  use:           --target exact:{app.current} with options base_url = "{base}"{shown}'
        + (f", rate_scale = {rate_scale:g}" if rate_scale != 1 else "")
    )
    click.echo("Ctrl-C stops it.", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
