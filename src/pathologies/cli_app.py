"""``pathologies serve``: the local web app over runs and live checks (``pip install pathologies[app]``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import List, Optional

import typer

from .cli_common import DeviceOpt, _fail, _offline_defaults, _quiet_device, _show_warnings, app
from .text import InputError


@app.command()
def serve(
    runs: Optional[List[Path]] = typer.Argument(None, help="Run folders to browse (pathologies audit --out RUN, or pathologies qa explain|reduce --out RUN)."),
    model: Optional[List[str]] = typer.Option(None, "--model", help="A model folder for live checks; give it twice to compare two models."),
    index: Optional[Path] = typer.Option(None, "--index", help="DkNN index folder: live checks add credibility and conformity."),
    mlm: Optional[str] = typer.Option(None, "--mlm", help="Masked LM folder: live checks may use marginalization."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.1: this machine only)."),
    port: int = typer.Option(8765, "--port", help="Port to listen on (0: a free one)."),
    device: str = DeviceOpt,
) -> None:
    """A local web app: browse runs (no model needed), check texts live with --model.

    One line gives the address; Ctrl-C stops it. The app reads only the runs and models
    given here.
    """
    _offline_defaults()
    _show_warnings()
    if not runs and not model:
        _fail("give run folders to browse, --model DIR for live checks, or both")
    if not 0 <= port <= 65535:
        _fail(f"--port must be 0 to 65535, not {port}")
    missing = [m for m in ("starlette", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        _fail(f"the app needs {' and '.join(missing)}: pip install 'pathologies[app]'")
    from .app import serve as serve_app  # function-level: the app's packages only for this verb

    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {host}: whoever reaches this machine on that address can use the app", file=sys.stderr, flush=True)
    try:
        serve_app(
            [str(r) for r in runs or []], list(model or []), mlm=mlm, index=str(index) if index else None,
            host=host, port=port, device=_quiet_device(device) if model else "cpu",
            say=lambda line: print(line, flush=True),
        )
    except InputError as err:
        _fail(str(err))
    except KeyboardInterrupt:
        pass
