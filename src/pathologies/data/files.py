"""A user's own data: JSON lines, CSV or TSV files with a text column and a label column.

Columns (JSON keys or the header row): ``text`` (or ``sentence``), ``label`` (an index or a
name), and for sentence pairs ``premise`` + ``hypothesis`` (the hypothesis is perturbed)
instead of ``text``. Optional ``uid``. Label names are sorted unless ``labels`` is given.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Sequence

from pathologies.data.dataset import Dataset
from pathologies.data.errors import DataError
from pathologies.text import Example

SUFFIXES = (".jsonl", ".csv", ".tsv")


def is_data_file(spec: str) -> bool:
    """Whether a ``--data`` value names a file of the user's own."""
    return Path(spec).suffix.lower() in SUFFIXES and Path(spec).is_file()


def _rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if path.suffix.lower() == ".jsonl":
        rows = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}:{n}: not valid JSON ({err.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{n}: expected a JSON object per line")
            rows.append((n, row))
        return rows
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        return [(n + 2, dict(r)) for n, r in enumerate(reader)]


def load_file(path: str | Path, labels: Sequence[str] | None = None, limit: int | None = None) -> Dataset:
    """Read a user's data file as a :class:`Dataset` (clear errors with file and line)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    rows = _rows(path)
    if not rows:
        raise DataError(f"{path}: no examples")
    raw_labels = [str(r.get("label", "")).strip() for _, r in rows]
    if labels is None:
        if all(l.lstrip("-").isdigit() for l in raw_labels):
            labels = [str(i) for i in range(max(int(l) for l in raw_labels) + 1)]
        else:
            labels = sorted(set(raw_labels))
    labels = list(labels)
    examples = []
    for (n, row), raw in zip(rows, raw_labels):
        if raw == "":
            raise DataError(f"{path}:{n}: missing label")
        index = int(raw) if raw.lstrip("-").isdigit() else (labels.index(raw) if raw in labels else -1)
        if not 0 <= index < len(labels):
            raise DataError(f"{path}:{n}: label {raw!r} is not one of {', '.join(labels)}")
        uid = str(row.get("uid") or f"{path.name}:{n}")
        if "premise" in row or "hypothesis" in row:
            premise, hypothesis = str(row.get("premise") or ""), str(row.get("hypothesis") or "")
            if not premise.split() or not hypothesis.split():
                raise DataError(f"{path}:{n}: a sentence pair needs both premise and hypothesis")
            examples.append(Example(tuple(hypothesis.split()), label=index, fixed=tuple(premise.split()), uid=uid))
        else:
            text = str(row.get("text") or row.get("sentence") or "")
            if not text.split():
                raise DataError(f"{path}:{n}: empty text (columns: text or sentence)")
            examples.append(Example(tuple(text.split()), label=index, uid=uid))
    if limit is not None:
        examples = examples[:limit]
    return Dataset(path.stem, "file", examples, labels)
