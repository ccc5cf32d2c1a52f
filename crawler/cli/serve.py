"""`pairchive serve`: the reading room, a read-only web interface to the archive (crawler.web)."""

from __future__ import annotations

import errno
import socket

import click

from crawler.cli.options import app_config, data_dir_option, db_option
from crawler.vocabulary.errors import first_line


@click.command()
@db_option
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free one, said on stderr).",
)
@click.option("--access-log", is_flag=True, help="Log every request on stderr.")
def serve(db: str | None, data_dir: str | None, host: str, port: int, access_log: bool) -> None:
    """Serve the reading room: search, stories with their provenance and raw captures, sources, a
    timeline, exports, and the same as JSON under /api/. Read-only: the archive is opened as a reader.

    Every page has a URL that can be cited: /search?q=..., /stories/ID, /stories/ID/raw, /sources,
    /timeline, /api/search?q=..., /api/stories/ID.

    Example: pairchive serve --db demo-output/demo.db --port 8080
    """
    import uvicorn

    from crawler.web.app import create_app

    cfg = app_config(db, data_dir=data_dir)
    app = create_app(cfg.db_url, cfg.warc_dir)
    listener = _listen(host, port)
    bound_host, bound_port = listener.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    config = uvicorn.Config(
        app, log_level="info" if access_log else "warning", access_log=access_log, lifespan="off"
    )
    click.echo(
        f"pairchive: serving the archive at http://{shown}:{bound_port}/ (read-only; Ctrl-C stops)", err=True
    )
    uvicorn.Server(config).run(sockets=[listener])


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on `host`:`port`; one line when it cannot be had (in use, no such address)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {first_line(exc)}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        why = "the port is in use" if exc.errno == errno.EADDRINUSE else first_line(exc)
        raise click.ClickException(f"cannot listen on {host}:{port}: {why}") from None
    return sock
