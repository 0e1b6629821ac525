"""Data sets as lists of :class:`~pathologies.text.Example`: SST, MR, SNLI, AG News, IMDB.

``load_dataset("sst2", "dev")`` reads the offline data folder (``data_dir`` or
``$PATHOLOGIES_DATA``) or, with ``source="hub"``, the Hugging Face hub.

Splits without a natural mixed order come in a seeded shuffled order (``seed``), so that
``limit`` (the first N) sees every label: the SST files are sorted by sentiment and the
IMDB folders by label. MR, AG News and IMDB train/dev are seeded splits.

``load_data(spec, labels=model)`` reads what ``--data`` names (a data set or a user's
.jsonl/.csv/.tsv file) with its labels mapped onto the model's (``match_labels``).
"""

from pathologies.data.dataset import Dataset
from pathologies.data.errors import DataError
from pathologies.data.files import load_file
from pathologies.data.labels import check_limit, match_labels
from pathologies.data.loader import load_data, load_dataset
from pathologies.data.registry import DATASETS, DatasetInfo, parse_spec, resolve_data_dir

__all__ = [
    "DATASETS",
    "DataError",
    "Dataset",
    "DatasetInfo",
    "check_limit",
    "load_data",
    "load_dataset",
    "load_file",
    "match_labels",
    "parse_spec",
    "resolve_data_dir",
]
