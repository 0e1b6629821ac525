"""What data sets exist, their splits and labels; where the data folder is; spec strings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pathologies.data.errors import DataError

DATA_ENV = "PATHOLOGIES_DATA"

BINARY = ["negative", "positive"]
FIVE = ["very negative", "negative", "neutral", "positive", "very positive"]


@dataclass(frozen=True)
class DatasetInfo:
    """A data set's label names, its local splits, and which split to train and evaluate on."""

    name: str
    labels: list[str]
    splits: tuple[str, ...]
    train_split: str
    eval_split: str
    is_pair: bool
    description: str


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo(
            "sst2",
            BINARY,
            ("train", "dev", "test"),
            "train",
            "dev",
            False,
            "Stanford Sentiment Treebank, binary (Socher et al. 2013): whole sentences, root "
            "label 0-1 negative, 3-4 positive, neutral dropped; word tags are the leaf labels 0-4. "
            "The files are sorted by sentiment: examples come in a seeded shuffled order.",
        ),
        DatasetInfo(
            "sst5",
            FIVE,
            ("train", "dev", "test"),
            "train",
            "dev",
            False,
            "Stanford Sentiment Treebank, five classes: whole sentences with their root label; "
            "word tags are the leaf labels 0-4; seeded shuffled order, as for sst2.",
        ),
        DatasetInfo(
            "sst2-phrases",
            BINARY,
            ("train",),
            "train",
            "train",
            False,
            "GLUE-style SST-2 training set: every non-neutral node of the SST train trees, "
            "binarized, deduplicated by word sequence. Train only; evaluate on sst2:dev.",
        ),
        DatasetInfo(
            "mr",
            BINARY,
            ("train", "test"),
            "train",
            "test",
            False,
            "Movie review sentence polarity v1.0 (Pang & Lee 2005). No official split: a seeded "
            "90/10 shuffle split; 'dev' is accepted as another name for the held-out 10% ('test').",
        ),
        DatasetInfo(
            "snli",
            ["entailment", "neutral", "contradiction"],
            ("dev", "test"),
            "dev",
            "test",
            True,
            "SNLI 1.0 (Bowman et al. 2015): premise fixed and first, hypothesis perturbed. "
            "Offline only dev and test exist (the 550k training pairs are not available): "
            "train on dev, evaluate on test. The hub source also offers 'train'.",
        ),
        DatasetInfo(
            "agnews",
            ["World", "Sports", "Business", "Sci/Tech"],
            ("train", "dev", "test"),
            "train",
            "test",
            False,
            "AG News (Zhang et al. 2015), title + description. Offline only the 7,600-row test "
            "set exists: a seeded stratified 80/10/10 split of it (the 120k training rows are "
            "not available). The hub source splits its real train set 90/10 into train/dev.",
        ),
        DatasetInfo(
            "imdb",
            BINARY,
            ("train", "dev", "test"),
            "train",
            "test",
            False,
            "Large Movie Review Dataset v1.0 (Maas et al. 2011): 'train' is a seeded 90% of the "
            "25,000 training reviews, 'dev' the other 10%, 'test' all 25,000 test reviews.",
        ),
    ]
}

# Other names accepted for a split; the loaded data set carries the canonical name.
SPLIT_ALIASES: dict[str, dict[str, str]] = {"mr": {"dev": "test"}}


def get_info(name: str) -> DatasetInfo:
    """The registry entry of ``name``; :class:`DataError` listing the known names otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(DATASETS)
        raise DataError(f"unknown data set {name!r}; known data sets: {known}") from None


def check_split(info: DatasetInfo, split: str | None, splits: tuple[str, ...] | None = None) -> str:
    """The canonical split name (``None`` -> the eval split); :class:`DataError` if unknown."""
    splits = splits if splits is not None else info.splits
    if split is None:
        return info.eval_split
    split = SPLIT_ALIASES.get(info.name, {}).get(split, split)
    if split not in splits:
        raise DataError(
            f"unknown split {split!r} of data set {info.name!r}; splits: {', '.join(splits)}"
        )
    return split


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data folder: ``data_dir``, else ``$PATHOLOGIES_DATA``; :class:`DataError` if neither."""
    if data_dir is None or str(data_dir) == "":
        env = os.environ.get(DATA_ENV, "")
        if not env:
            raise DataError(
                f"no data folder given: pass --data-dir (data_dir=...) or set {DATA_ENV}"
            )
        data_dir, origin = env, f" (from {DATA_ENV})"
    else:
        origin = ""
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise DataError(f"data folder not found: {path}{origin}")
    return path


def parse_spec(spec: str) -> tuple[str, str | None, int | None]:
    """``"name[:split[:limit]]"`` -> ``(name, split or None, limit or None)``.

    ``"sst2:dev:200"`` -> ``("sst2", "dev", 200)``; an empty split (``"sst2::50"``)
    means the default split. The name is not checked here.
    """
    parts = [p.strip() for p in spec.strip().split(":")]
    if len(parts) > 3 or not parts[0]:
        raise DataError(f"bad data spec {spec!r}: expected NAME[:SPLIT[:LIMIT]], e.g. sst2:dev:200")
    name = parts[0]
    split = parts[1] if len(parts) > 1 and parts[1] else None
    limit = None
    if len(parts) == 3 and parts[2]:
        try:
            limit = int(parts[2])
        except ValueError:
            raise DataError(
                f"bad data spec {spec!r}: limit {parts[2]!r} is not an integer"
            ) from None
        if limit < 1:
            raise DataError(f"bad data spec {spec!r}: limit must be a positive integer, not {limit}")
    return name, split, limit
