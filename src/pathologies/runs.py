"""Data-set runs that write one JSON line per example as they go and resume where they stopped."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from .text import Example


class JsonlRun:
    """An append-only JSON-lines file keyed by each record's ``uid``.

    Opening an existing file reads the records already there; a last line cut off by an
    interruption is dropped (and truncated away), so nothing finished is lost or recomputed.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.records: list[dict[str, Any]] = []
        if self.path.exists():
            self._load()
        self.done = {r.get("uid") for r in self.records}

    def _load(self) -> None:
        good_bytes = 0
        with self.path.open("rb") as fh:
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break  # a line the interruption cut off
                try:
                    self.records.append(json.loads(raw))
                except json.JSONDecodeError:
                    break
                good_bytes += len(raw)
        if good_bytes != self.path.stat().st_size:
            with self.path.open("r+b") as fh:
                fh.truncate(good_bytes)

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Write records now (flushed to disk), so an interruption keeps them."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        records = list(records)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write("".join(json.dumps(r) + "\n" for r in records))  # one write per chunk
            fh.flush()
            os.fsync(fh.fileno())
        self.records += records
        self.done.update(r.get("uid") for r in records)

    def pending_chunks(self, examples: Sequence[Example], chunk: int) -> list[list[Example]]:
        """The unfinished examples, grouped in chunks at fixed positions of ``examples``.

        Finished examples are never recomputed. Because chunks sit at the same positions as in
        an uninterrupted run (and each chunk's records are written together), a run stopped
        between chunks resumes into exactly the records of an uninterrupted run.
        """
        todo = []
        for start in range(0, len(examples), chunk):
            part = [ex for ex in examples[start : start + chunk] if ex.uid not in self.done]
            if part:
                todo.append(part)
        return todo
