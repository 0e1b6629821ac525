"""The loaded data set: a named, labelled list of examples."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import overload

from pathologies.text import Example
from pathologies.data.registry import DATASETS


@dataclass
class Dataset:
    """Examples of one split of one data set; ``labels[i]`` names label index ``i``."""

    name: str
    split: str
    examples: list[Example] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)

    @property
    def is_pair(self) -> bool:
        """Whether the examples are sentence pairs (they carry a fixed segment)."""
        if self.examples:
            return self.examples[0].is_pair
        info = DATASETS.get(self.name)
        return bool(info and info.is_pair)

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[Example]:
        return iter(self.examples)

    @overload
    def __getitem__(self, index: int) -> Example: ...
    @overload
    def __getitem__(self, index: slice) -> list[Example]: ...
    def __getitem__(self, index: int | slice) -> Example | list[Example]:
        return self.examples[index]

    def label_counts(self) -> dict[str, int]:
        """How many examples carry each label name (unlabelled ones are left out)."""
        counts = Counter(ex.label for ex in self.examples if ex.label is not None)
        return {name: counts.get(i, 0) for i, name in enumerate(self.labels)}

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, split={self.split!r}, "
            f"n={len(self.examples)}, labels={self.labels!r})"
        )
