"""``load_dataset``: one entry point for local files and the hub."""

from __future__ import annotations

import os
from pathlib import Path

from pathologies.data.dataset import Dataset
from pathologies.data.errors import DataError
from pathologies.data.registry import DATA_ENV, check_split, get_info, resolve_data_dir

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
    if limit is not None and limit < 1:
        raise DataError(f"limit must be a positive integer, not {limit!r}")
    if source == "auto":
        given = data_dir not in (None, "") or bool(os.environ.get(DATA_ENV))
        source = "local" if given and hub_repo is None else "hub"
    labels = list(info.labels)
    if source == "local":
        from pathologies.data.local import read_local

        split = check_split(info, split)
        examples, file_labels = read_local(name, split, resolve_data_dir(data_dir), seed)
        labels = file_labels or labels
    else:
        from pathologies.data.hub import HUB, read_hub

        split = check_split(info, split, tuple(HUB[name].splits))
        examples = read_hub(name, split, len(labels), seed, repo=hub_repo)
    if limit is not None:
        examples = examples[:limit]
    return Dataset(name, split, examples, labels)
