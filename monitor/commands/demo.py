"""`finsentinel demo-feeds`: serve the offline demo newswire until stopped."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.errors import FinSentinelError


@click.command("demo-feeds")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0 = any free port).")
@click.option("--seed", type=int, default=None, help="Seed of the generated stories.")
@click.option("--write-config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a config.toml pointing the monitor at these feeds.")
@click.option("--burst-every-hours", type=click.FloatRange(min=0), default=6.0,
              show_default=True, help="Repeat the scripted negative bursts (0 = once).")
def demo_feeds(host: str, port: int, seed: int | None, write_config: Path | None,
               burst_every_hours: float) -> None:
    """Serve fictional financial RSS feeds (with scripted negative bursts) until stopped."""
    from monitor.demo.demo_config import write_demo_config
    from monitor.demo.newswire import DEFAULT_SEED
    from monitor.demo.server import NewswireServer

    try:
        server = NewswireServer(host, port, seed=DEFAULT_SEED if seed is None else seed,
                                burst_every_hours=burst_every_hours)
    except OSError as err:
        raise FinSentinelError(f"cannot listen on {host}:{port}: {err.strerror or err}; "
                               "pass another --port") from None
    try:
        if write_config is not None:
            write_demo_config(write_config, server.feed_urls())
            click.echo(f"wrote {write_config}; run: finsentinel --config {write_config} run")
        click.echo(f"demo newswire serving at {server.url}/ (Ctrl-C to stop)")
        for title, url in server.feed_urls().items():
            click.echo(f"  {title}: {url}")
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("demo newswire stopped")
    finally:
        server.stop()
