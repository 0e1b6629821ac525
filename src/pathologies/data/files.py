"""A user's own data: JSON lines, CSV or TSV files with a text column and a label column.

Columns (JSON keys or the header row): ``text`` (or ``sentence``), ``label`` (an index or a
name), and for sentence pairs ``premise`` + ``hypothesis`` (the hypothesis is perturbed)
instead of ``text``. Optional ``uid``. Column names in any case. Labels are names or indices
of the model's labels: ``load_file(path, labels=model)`` maps them (``match_labels``).
Files are read as UTF-8 (a byte-order mark is dropped) unless ``encoding`` says otherwise.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from pathologies.data.dataset import Dataset
from pathologies.data.errors import DataError
from pathologies.data.labels import as_index, check_limit, match_labels
from pathologies.text import Example

SUFFIXES = (".jsonl", ".csv", ".tsv")


def is_data_file(spec: str) -> bool:
    """Whether a ``--data`` value names a file of the user's own."""
    return Path(spec).suffix.lower() in SUFFIXES and Path(spec).is_file()


def check_encoding(encoding: str) -> str:
    """The codec name of ``encoding``; DataError for a name Python does not know."""
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError, ValueError):
        raise DataError(
            f"unknown encoding {encoding!r} (--encoding takes a Python codec name: utf-8, latin-1, cp1252, utf-16, ...)"
        ) from None


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """The text of a user's file; a UTF-8 byte-order mark is dropped whatever the encoding.

    Bytes that are not valid in ``encoding`` raise DataError naming the file, the line and
    the ``--encoding`` option.
    """
    codec = check_encoding(encoding)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror or err}") from None
    try:
        text = data.decode("utf-8-sig" if codec == "utf-8" else codec)
    except UnicodeDecodeError as err:
        line = data[: err.start].decode(codec, errors="replace").count("\n") + 1
        hint = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "latin-1"
        if codec != "utf-8":
            hint = "utf-8" if hint == "latin-1" else hint
        raise DataError(
            f"{path}:{line}: not valid {encoding} (byte 0x{data[err.start]:02x}: {err.reason}); "
            f"give the file's encoding with --encoding, e.g. --encoding {hint}"
        ) from None
    except UnicodeError as err:  # e.g. utf-16 with an odd number of bytes
        raise DataError(f"{path}: not valid {encoding} ({err}); give the file's encoding with --encoding") from None
    return text.removeprefix("\ufeff")


def _key(name: Any) -> str:
    return str(name).strip().lower()


def _rows(path: Path, encoding: str = "utf-8") -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """The column names and ``(line, row)`` of every non-blank record; keys lowercased."""
    text = read_text(path, encoding)
    if path.suffix.lower() == ".jsonl":
        rows, columns = [], {}
        for n, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}:{n}: not valid JSON ({err.msg})") from None
            except RecursionError:
                raise DataError(f"{path}:{n}: not valid JSON (nested too deeply)") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{n}: expected a JSON object per line, got {type(row).__name__}")
            row = {_key(k): v for k, v in row.items()}
            columns.update(dict.fromkeys(row))
            rows.append((n, row))
        return list(columns), rows
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))  # long reviews are fine
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows = []
    end = 0
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            if not any(field.strip() for field in record):
                continue  # blank line
            if header is None:
                header = [_key(h) for h in record]
                continue
            if len(record) != len(header):
                raise DataError(
                    f"{path}:{start}: {len(record)} fields, the header has {len(header)} "
                    f"({', '.join(header)}); quote a field that holds the delimiter"
                )
            rows.append((start, dict(zip(header, record))))
    except csv.Error as err:
        raise DataError(f"{path}:{reader.line_num}: bad {'TSV' if delimiter == chr(9) else 'CSV'}: {err}") from None
    return header or [], rows


def _string(path: Path, n: int, row: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = row.get(key)
        if value is None:
            continue
        if isinstance(value, (dict, list, bool)):
            raise DataError(f"{path}:{n}: {key} must be text, not {json.dumps(value)[:40]}")
        return str(value)
    return ""


def _label(path: Path, n: int, row: dict[str, Any]) -> str:
    value = row.get("label")
    if isinstance(value, (dict, list)):
        raise DataError(f"{path}:{n}: label must be a name or an index, not {json.dumps(value)[:40]}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    raw = "" if value is None else str(value).strip()
    if raw == "":
        raise DataError(f"{path}:{n}: missing label (a label column: a name or an index of the model's labels)")
    return raw


def load_file(
    path: str | Path,
    labels: Any = None,
    limit: int | None = None,
    *,
    encoding: str = "utf-8",
) -> Dataset:
    """Read a user's data file as a :class:`Dataset` (clear errors with file and line).

    ``labels``: a model (or its label names): every label of the file is mapped onto them
    (exact name, name in any case, or index; see :func:`pathologies.data.match_labels`).
    Without it the dataset's ``labels`` are the file's own names (integers: ``0..max``;
    names: sorted), to be mapped onto a model before any accuracy is computed.
    ``limit``: the first N examples (a positive integer). ``encoding``: any Python codec;
    a UTF-8 byte-order mark is dropped.
    """
    limit = check_limit(limit)
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    if path.suffix.lower() not in SUFFIXES:
        raise DataError(f"{path}: a data file is .jsonl, .csv or .tsv")
    columns, rows = _rows(path, encoding)
    found = ", ".join(c for c in columns if c) or "none"
    if path.suffix.lower() != ".jsonl":
        if not ({"premise", "hypothesis"} & set(columns)) and not ({"text", "sentence"} & set(columns)):
            raise DataError(f"{path}: no text column (text or sentence, or premise and hypothesis); columns: {found}")
        if "label" not in columns:
            raise DataError(f"{path}: no label column; columns: {found}")
    pairs = bool({"premise", "hypothesis"} & set(columns))
    if pairs and not {"premise", "hypothesis"} <= set(columns) and path.suffix.lower() != ".jsonl":
        missing = "hypothesis" if "premise" in columns else "premise"
        raise DataError(f"{path}: a sentence-pair file needs premise and hypothesis columns; no {missing} column (columns: {found})")
    if not rows:
        raise DataError(f"{path}: no examples")
    examples: list[Example] = []
    raw_labels: list[str] = []
    seen: dict[str, int] = {}
    for n, row in rows:
        raw = _label(path, n, row)
        uid = _string(path, n, row, "uid").strip() or f"{path.name}:{n}"
        if uid in seen:
            raise DataError(f"{path}:{n}: uid {uid!r} is already used on line {seen[uid]}")
        seen[uid] = n
        if pairs and path.suffix.lower() == ".jsonl" and not {"premise", "hypothesis"} & set(row):
            raise DataError(f"{path}:{n}: no premise and hypothesis in a file of sentence pairs")
        if pairs:
            premise, hypothesis = _string(path, n, row, "premise"), _string(path, n, row, "hypothesis")
            if not premise.split() or not hypothesis.split():
                raise DataError(f"{path}:{n}: a sentence pair needs both premise and hypothesis")
            examples.append(Example(tuple(hypothesis.split()), label=0, fixed=tuple(premise.split()), uid=uid))
        else:
            text = _string(path, n, row, "text", "sentence")
            if not text.split():
                raise DataError(f"{path}:{n}: empty text (columns: text or sentence)")
            examples.append(Example(tuple(text.split()), label=0, uid=uid))
        raw_labels.append(raw)
        if limit is not None and len(examples) == limit:
            break
    if all(as_index(r) is not None and as_index(r) >= 0 for r in raw_labels):
        names = [str(i) for i in range(max(as_index(r) for r in raw_labels) + 1)]
        index = [as_index(r) for r in raw_labels]
    else:
        names = sorted(set(raw_labels))
        index = [names.index(r) for r in raw_labels]
    examples = [replace(ex, label=i) for ex, i in zip(examples, index)]
    dataset = Dataset(str(path), "file", examples, names)
    return dataset if labels is None else match_labels(dataset, labels)
