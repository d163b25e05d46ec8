"""``migrationkit sandbox twinfield``: run the Twinfield sandbox in the foreground."""

from __future__ import annotations

import click

__all__ = ["sandbox_command"]


@click.command("twinfield")
@click.option("--port", type=int, default=8830, show_default=True, help="Port on 127.0.0.1.")
@click.option("--token", default=None, help="The access token to print and accept.")
@click.option("--office", default="SANDBOX01", show_default=True, help="The office code.")
@click.option(
    "--rate-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Run the rate-limit windows and token lifetimes this many times faster.",
)
@click.option(
    "--real-tokens",
    is_flag=True,
    help="Run the real token lifecycle: only issued tokens, each for an hour (scaled).",
)
def sandbox_command(
    port: int, token: str | None, office: str, rate_scale: float, real_tokens: bool
) -> None:
    """Run a local emulator of Twinfield's XML web services (any token works by default)."""
    from .app import AUTH_PREFIX, PROCESS_XML_PATH, TwinfieldSandbox, start_server

    app = TwinfieldSandbox(office=office, real_tokens=real_tokens, rate_scale=rate_scale)
    if token:
        app.token = token
        app._access[token] = float("inf")
    server = start_server(app, port=port)
    base = server.url
    click.echo(f"Twinfield sandbox on {base}")
    click.echo(f"  ProcessXml:  {base}{PROCESS_XML_PATH}")
    click.echo(f"  login:       {base}{AUTH_PREFIX}  (token, authorize, accesstokenvalidation)")
    click.echo(f"  office:      {office}")
    accepted = "only issued tokens" if real_tokens else "any token is accepted"
    click.echo(f"  token:       {app.token}  ({accepted})")
    click.echo(
        f"  use:         --target twinfield:{office} with options "
        f'cluster_url = "{base}", access_token = "{app.token}"'
    )
    click.echo("Ctrl-C stops it.", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
