"""Progress shared by training and data-set runs: a bar on a terminal, plain lines elsewhere.

On a terminal (stderr is a TTY) a rich bar is drawn. Anywhere else (a pipe, a file, a CI log)
a plain line goes to stderr every 10% of the work or every 30 seconds, whichever comes first,
and nothing is written before the first tenth is done, so a run that fails early prints only
its error. ``PATHOLOGIES_PROGRESS`` forces ``bar``, ``lines`` or ``off``.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

ENV = "PATHOLOGIES_PROGRESS"
#: A plain line at least this often (seconds) when stderr is not a terminal.
EVERY_SECONDS = 30.0


def progress_mode(stream: TextIO | None = None) -> str:
    """``bar`` on a terminal, ``lines`` elsewhere, unless ``$PATHOLOGIES_PROGRESS`` says otherwise."""
    forced = os.environ.get(ENV, "").strip().lower()
    if forced in ("bar", "lines", "off"):
        return forced
    stream = stream if stream is not None else sys.stderr
    try:
        return "bar" if stream.isatty() else "lines"
    except (AttributeError, ValueError):
        return "lines"


@contextmanager
def progress_bar(
    description: str, total: int, enabled: bool = True, *, stream: TextIO | None = None
) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; shows progress on stderr when enabled (see the module doc)."""
    mode = progress_mode(stream) if enabled and total > 0 else "off"
    if mode == "off":
        yield lambda n=1: None
        return
    if mode == "lines":
        yield _lines(description, total, stream)
        return
    from rich.console import Console

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


def _lines(description: str, total: int, stream: TextIO | None) -> Callable[[int], None]:
    start = time.monotonic()
    state = {"done": 0, "tenth": 0, "last": start}

    def advance(n: int = 1) -> None:
        state["done"] += n
        done, now = state["done"], time.monotonic()
        tenth = min(10, done * 10 // total)
        if tenth > state["tenth"] or now - state["last"] >= EVERY_SECONDS:
            state["tenth"], state["last"] = max(tenth, state["tenth"]), now
            out = stream if stream is not None else sys.stderr
            print(f"{description}: {done}/{total} ({100 * done // total}%), {now - start:.0f} s", file=out, flush=True)

    return advance
