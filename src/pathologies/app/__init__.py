"""A local web app over finished runs and live checks (``pathologies serve``; ``pip install pathologies[app]``).

Browse runs without a model (:class:`~pathologies.app.index.RunIndex` reads record lines by
offset), check texts live with the models the app was started with
(:class:`~pathologies.app.live.Live`), all rendered with the report's templates. The app is a
view: nothing below it imports it.
"""

from __future__ import annotations

from .index import RunIndex
from .live import Live

__all__ = ["Live", "RunIndex", "create_app", "serve"]


def create_app(*args, **kwargs):
    """The ASGI app (:func:`pathologies.app.server.create_app`); Starlette is imported here."""
    from .server import create_app as make  # function-level: Starlette only when an app is made

    return make(*args, **kwargs)


def serve(runs=(), models=(), *, mlm=None, index=None, host: str = "127.0.0.1", port: int = 8765, device: str = "cpu", say=print) -> None:
    """Serve ``runs`` (folders) and ``models`` (folders) until interrupted; ``say`` gets the one address line."""
    from .server import Server, bind, create_app as make, hosts_for  # function-level: Starlette, uvicorn

    from ..audit import RunFolder

    for run in runs:  # a folder that is no run fails before any model loads
        RunFolder(run).manifest()
    live = Live.load(list(models), mlm=mlm, index=index, device=device) if models else None
    app = make(runs, live, allowed_hosts=hosts_for(host))
    sock = bind(host, port)
    server = Server(app, sock)
    say(f"pathologies app: {server.url} (Ctrl-C stops it)")
    server.run()
