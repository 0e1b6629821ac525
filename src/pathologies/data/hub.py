"""The same data sets from the Hugging Face hub (needs ``pip install datasets`` and internet).

Hub copies differ from the offline files in places: ``sst2`` train on the hub is GLUE's
67k-phrase set (like ``sst2-phrases``), its test split has no labels; MR's train is the
hub's train + validation; SNLI and AG News have their real training sets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pathologies.data.clean import clean_agnews, clean_imdb
from pathologies.data.errors import DataError
from pathologies.data.splits import holdout, shuffled
from pathologies.text import Example

# How one of our splits is made from a hub split: as is, the 90% rest or 10% holdout of
# a seeded shuffle, or the whole split in a seeded shuffled order.
Part = str | tuple[str, str]


@dataclass(frozen=True)
class HubSpec:
    """Where a data set lives on the hub and which columns hold what."""

    repo: str
    text: str
    splits: dict[str, Part]
    fixed: str | None = None
    label: str = "label"
    clean: Callable[[str], str] | None = None


_STD = {"train": "train", "dev": "validation", "test": "test"}

HUB: dict[str, HubSpec] = {
    "sst2": HubSpec("stanfordnlp/sst2", "sentence", dict(_STD)),
    "sst5": HubSpec("SetFit/sst5", "text", dict(_STD)),
    "sst2-phrases": HubSpec("stanfordnlp/sst2", "sentence", {"train": "train"}),
    "mr": HubSpec(
        "cornell-movie-review-data/rotten_tomatoes",
        "text",
        {"train": "train+validation", "test": "test"},
    ),
    "snli": HubSpec("stanfordnlp/snli", "hypothesis", dict(_STD), fixed="premise"),
    "agnews": HubSpec(
        "fancyzhx/ag_news",
        "text",
        {"train": ("train", "rest"), "dev": ("train", "holdout"), "test": "test"},
        clean=clean_agnews,
    ),
    "imdb": HubSpec(
        "stanfordnlp/imdb",
        "text",
        {"train": ("train", "rest"), "dev": ("train", "holdout"), "test": ("test", "shuffled")},
        clean=clean_imdb,
    ),
}


def _hf_load(repo: str, split: str) -> Any:
    try:
        import datasets
    except ImportError:
        raise DataError(
            "source='hub' needs the Hugging Face datasets library: pip install datasets"
        ) from None
    try:
        return datasets.load_dataset(repo, split=split)
    except Exception as e:  # network, missing repo, unknown split: all user-facing
        raise DataError(
            f"cannot load {repo!r} split {split!r} with datasets.load_dataset: {e}"
        ) from e


def read_hub(
    name: str, split: str, n_labels: int, seed: int, repo: str | None = None
) -> list[Example]:
    """Examples of a canonical ``(name, split)`` from the hub, or from ``repo``: another
    repo id or a local folder that ``datasets.load_dataset`` reads.

    Rows without a gold label (-1) are dropped; a split without any labelled row is an error.
    """
    spec = HUB[name]
    repo = repo or spec.repo
    part = spec.splits[split]
    hub_split, how = (part, "all") if isinstance(part, str) else part
    ds = _hf_load(repo, hub_split)
    columns = [spec.text, spec.label] + ([spec.fixed] if spec.fixed else [])
    missing = [c for c in columns if c not in ds.column_names]
    if missing:
        raise DataError(
            f"{repo} ({hub_split}): missing column(s) {', '.join(missing)}; "
            f"has {', '.join(ds.column_names)}"
        )
    texts = list(ds[spec.text])
    labels = list(ds[spec.label])
    fixed = list(ds[spec.fixed]) if spec.fixed else [None] * len(texts)
    rows = []
    for i, (text, label, fix) in enumerate(zip(texts, labels, fixed, strict=True)):
        if label is None or label == -1:
            continue
        if not 0 <= int(label) < n_labels:
            raise DataError(
                f"{repo} ({hub_split}) row {i}: label {label!r} outside 0-{n_labels - 1}"
            )
        words = (spec.clean(text) if spec.clean else text).split()
        fix_words = fix.split() if fix is not None else None
        if not words or (spec.fixed and not fix_words):
            raise DataError(f"{repo} ({hub_split}) row {i}: empty text")
        rows.append((words, int(label), fix_words))
    if texts and not rows:
        raise DataError(
            f"{repo} ({hub_split}) has no gold labels; use another split or source='local'"
        )
    if how == "rest":
        rows = holdout(rows, 0.1, seed)[0]
    elif how == "holdout":
        rows = holdout(rows, 0.1, seed)[1]
    elif how == "shuffled":
        rows = shuffled(rows, seed)
    return [
        Example(words, label, fixed=fix, fixed_first=True, uid=f"{name}:{split}:{i}")
        for i, (words, label, fix) in enumerate(rows)
    ]
