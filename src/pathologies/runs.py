"""Data-set runs that write one JSON line per example as they go and resume where they stopped."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable


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
        with self.path.open("a", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(r) + "\n")
                self.records.append(r)
                self.done.add(r.get("uid"))
            fh.flush()
            os.fsync(fh.fileno())
