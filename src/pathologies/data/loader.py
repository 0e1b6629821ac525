"""``load_dataset``: one entry point for local files and the hub."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pathologies.data.dataset import Dataset
from pathologies.data.errors import DataError
from pathologies.data.files import SUFFIXES, load_file
from pathologies.data.hub import HUB, read_hub
from pathologies.data.labels import check_limit, match_labels
from pathologies.data.local import read_local
from pathologies.data.registry import DATA_ENV, check_split, get_info, parse_spec, resolve_data_dir

SOURCES = ("auto", "local", "hub")


def load_dataset(
    name: str,
    split: str | None = None,
    *,
    data_dir: str | Path | None = None,
    source: str = "auto",
    seed: int = 13,
    limit: int | None = None,
    hub_repo: str | None = None,
) -> Dataset:
    """Load one split of a registered data set as :class:`Dataset`.

    ``split`` None means the data set's eval split. ``source``: ``"local"`` reads the data
    folder (``data_dir`` or ``$PATHOLOGIES_DATA``), ``"hub"`` the Hugging Face hub (or
    ``hub_repo``: another repo id or a local folder with the same columns), ``"auto"``
    the data folder when one is given (argument or environment), else the hub.
    ``seed`` drives the seeded splits (MR, AG News, IMDB); ``limit`` keeps the first N.
    """
    info = get_info(name)
    if source not in SOURCES:
        raise DataError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    limit = check_limit(limit)
    if source == "auto":
        given = data_dir not in (None, "") or bool(os.environ.get(DATA_ENV))
        source = "local" if given and hub_repo is None else "hub"
    labels = list(info.labels)
    if source == "local":
        split = check_split(info, split)
        examples, file_labels = read_local(name, split, resolve_data_dir(data_dir), seed)
        labels = file_labels or labels
    else:
        split = check_split(info, split, tuple(HUB[name].splits))
        examples = read_hub(name, split, len(labels), seed, repo=hub_repo)
    if limit is not None:
        examples = examples[:limit]
    return Dataset(name, split, examples, labels)


def load_data(
    spec: str | Path,
    *,
    limit: int | str | None = None,
    data_dir: str | Path | None = None,
    encoding: str = "utf-8",
    labels: Any = None,
    seed: int = 13,
) -> Dataset:
    """What ``--data`` names: a user's .jsonl/.csv/.tsv file, or ``NAME[:SPLIT[:LIMIT]]``.

    ``limit`` (a positive integer; it wins over the spec's LIMIT) keeps the first N examples.
    ``encoding`` applies to a user's file. ``labels`` (a model, or its label names) maps the
    data's labels onto the model's (:func:`match_labels`): a user's file by name or index,
    a named data set by name; a label with no match is a :class:`DataError`. Without it the
    labels are the data's own, to be matched with ``match_labels`` once the model is loaded.
    """
    limit = check_limit(limit)
    text = str(spec).strip()
    if not text:
        raise DataError("empty --data: give NAME:SPLIT (e.g. sst2:dev) or a .jsonl/.csv/.tsv file")
    if Path(text).suffix.lower() in SUFFIXES or Path(text).expanduser().is_file():
        dataset = load_file(Path(text).expanduser(), limit=limit, encoding=encoding)
    else:
        name, split, spec_limit = parse_spec(text)
        dataset = load_dataset(name, split, data_dir=data_dir, limit=limit or spec_limit, seed=seed)
        if not dataset.examples:
            raise DataError(f"{text}: no examples")
    return dataset if labels is None else match_labels(dataset, labels)
