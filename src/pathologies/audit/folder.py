"""The run folder on disk: manifest, records appended chunk by chunk, a commit log.

Layout::

    RUN/manifest.json           provenance (see manifest.py)
    RUN/commits.jsonl           one line per finished chunk: its id and every record file's size
    RUN/records/KIND.jsonl      attributions, metrics, reductions, curves, projections, trust
    RUN/records/word_importance.*, decisive_words.*   corpus-level tables (when the run finishes)
    RUN/records/KIND.parquet    the same records, columnar (written when the run finishes)
    RUN/summary.json            the aggregate tables (written when the run finishes)

A chunk's records are appended to every file and flushed, and only then is the chunk
committed by one line in ``commits.jsonl`` that records every file's size. Opening the
folder again cuts every file back to the sizes of the last commit, so the records of a
chunk cut by a kill never mix with complete ones.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from ..text import InputError
from .manifest import check_format, differences

KINDS = ("attributions", "metrics", "reductions", "curves", "projections", "trust")
#: The record kinds of a question-answering run (``"task": "qa"`` in its manifest).
QA_KINDS = ("qa_attributions", "qa_reductions")
MANIFEST = "manifest.json"
COMMITS = "commits.jsonl"


class RunMismatch(InputError):
    """A run folder made under another model, data or settings."""


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a temporary file renamed over the target)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _complete_lines(path: Path, limit: int | None = None) -> Iterable[bytes]:
    if not path.exists():
        return
    with path.open("rb") as fh:
        read = 0
        for raw in fh:
            if limit is not None and read + len(raw) > limit:
                break
            if not raw.endswith(b"\n"):
                break
            read += len(raw)
            yield raw


def task_of(manifest: dict[str, Any]) -> str:
    """What a run's records are about: ``classify`` (a manifest without ``task``) or ``qa``."""
    return manifest.get("task", "classify")


def kinds_of(manifest: dict[str, Any]) -> tuple[str, ...]:
    """The record kinds of a run with this manifest."""
    return QA_KINDS if task_of(manifest) == "qa" else KINDS


class RunFolder:
    """Reads and appends to one run folder (``kinds``: its record files; a classifier run's
    by default, :data:`QA_KINDS` for a question-answering run)."""

    def __init__(self, path: str | Path, kinds: tuple[str, ...] = KINDS):
        self.path = Path(path)
        self.kinds = kinds

    # --- reading ----------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.path / MANIFEST).is_file()

    def manifest(self) -> dict[str, Any]:
        try:
            return check_format(json.loads((self.path / MANIFEST).read_text(encoding="utf-8")), self.path / MANIFEST)
        except FileNotFoundError:
            raise InputError(f"{self.path} is not a run folder (no {MANIFEST}); make one with `pathologies audit`") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InputError(f"{self.path / MANIFEST} is damaged ({err}); run the audit again into a new folder") from None

    def commits(self) -> list[dict[str, Any]]:
        """The committed chunks, in commit order (a line cut by a kill is ignored)."""
        out = []
        for raw in _complete_lines(self.path / COMMITS):
            try:
                out.append(json.loads(raw))
            except json.JSONDecodeError:
                break
        return out

    def committed_sizes(self) -> dict[str, int]:
        commits = self.commits()
        return commits[-1]["sizes"] if commits else {}

    def read(self, kind: str) -> list[dict[str, Any]]:
        """The committed records of one kind (never the tail of an unfinished chunk)."""
        size = self.committed_sizes().get(kind, 0)
        return [json.loads(raw) for raw in _complete_lines(self._file(kind), size)]

    def read_table(self, name: str) -> list[dict[str, Any]] | None:
        """A table the finished run wrote beside its records (written whole, at the end), or None."""
        p = self._file(name)
        if not p.is_file():
            return None
        return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]

    def summary(self) -> dict[str, Any] | None:
        p = self.path / "summary.json"
        return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None

    def _file(self, kind: str) -> Path:
        return self.path / "records" / f"{kind}.jsonl"

    # --- writing ----------------------------------------------------------------------
    def start(self, manifest: dict[str, Any]) -> set[int]:
        """Create the folder, or reopen it for a resume; returns the committed chunk ids.

        Raises :class:`RunMismatch` when the folder was made under another identity.
        """
        if self.exists():
            old = self.manifest()
            diff = differences(old, manifest)
            if diff:
                more = f" (and {len(diff) - 1} more)" if len(diff) > 1 else ""
                raise RunMismatch(
                    f"{self.path} holds a run made differently: {diff[0]}{more}; "
                    "use another --out folder, or delete this one to start again"
                )
            self._recover()
            return {c["chunk"] for c in self.commits()}
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise InputError(f"{self.path} exists and is not a run folder; choose another --out")
        (self.path / "records").mkdir(parents=True, exist_ok=True)
        write_json(self.path / MANIFEST, manifest)
        return set()

    def add_session(self, session: dict[str, Any]) -> None:
        """Record that a resume computed more chunks (when, and on which executor)."""
        manifest = self.manifest()
        manifest.setdefault("sessions", []).append(session)
        write_json(self.path / MANIFEST, manifest)

    def _recover(self) -> None:
        """Cut every record file back to the last commit; drop a torn commit line."""
        good = sum(len(raw) for raw in _complete_lines(self.path / COMMITS))
        commits_path = self.path / COMMITS
        if commits_path.exists() and commits_path.stat().st_size != good:
            with commits_path.open("r+b") as fh:
                fh.truncate(good)
        sizes = self.committed_sizes()
        for kind in self.kinds:
            f = self._file(kind)
            if f.exists() and f.stat().st_size != sizes.get(kind, 0):
                with f.open("r+b") as fh:
                    fh.truncate(sizes.get(kind, 0))
        for stale in ("summary.json",):  # written again when the run finishes
            (self.path / stale).unlink(missing_ok=True)

    def commit(self, chunk: int, records: dict[str, list[dict[str, Any]]]) -> None:
        """Append a chunk's records to their files, then commit the chunk."""
        sizes = self.committed_sizes()
        for kind in self.kinds:
            rows = records.get(kind) or []
            f = self._file(kind)
            if rows:
                with f.open("ab") as fh:
                    fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8"))
                    fh.flush()
                    os.fsync(fh.fileno())
            sizes[kind] = f.stat().st_size if f.exists() else 0
        line = json.dumps({"chunk": chunk, "sizes": sizes}) + "\n"
        with (self.path / COMMITS).open("ab") as fh:
            fh.write(line.encode())
            fh.flush()
            os.fsync(fh.fileno())

    def finish(self, summary: dict[str, Any], tables: dict[str, list[dict[str, Any]]] | None = None) -> None:
        """Write the summary, the columnar copies of the records and derived tables."""
        for kind in self.kinds:
            write_parquet(self.read(kind), self.path / "records" / f"{kind}.parquet")
        for name, rows in (tables or {}).items():
            write_parquet(rows, self.path / "records" / f"{name}.parquet")
            tmp = self.path / "records" / f"{name}.jsonl.tmp"
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
            os.replace(tmp, self.path / "records" / f"{name}.jsonl")
        write_json(self.path / "summary.json", summary)


def write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    """Records as a Parquet table; nested settings dictionaries are kept as JSON text so
    methods with different settings share one schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not rows:
        path.unlink(missing_ok=True)
        return
    rows = [{k: (json.dumps(v, ensure_ascii=False) if k in ("settings",) else v) for k, v in r.items()} for r in rows]
    try:
        table = pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed types in a column: keep every nested value as JSON text.
        rows = [{k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v) for k, v in r.items()} for r in rows]
        table = pa.Table.from_pylist(rows)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
