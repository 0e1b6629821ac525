"""The attribution record and the small interface every attribution method implements."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from ..models import TorchClassifier
from ..text import Example


@dataclass
class Attribution:
    """One score per word of the perturbable segment, for one target class."""

    words: list[str]
    scores: list[float]
    target: int
    probs: list[float]
    method: str
    settings: dict[str, Any] = field(default_factory=dict)
    fixed: list[str] | None = None
    fixed_first: bool = True
    label: int | None = None
    uid: str | None = None
    labels: list[str] | None = None

    @property
    def predicted(self) -> int:
        return max(range(len(self.probs)), key=self.probs.__getitem__)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Attribution":
        return cls(**d)


class AttributionMethod(ABC):
    """A method scores every word of each example for a target class, batched across examples."""

    name: str = "method"

    def settings(self) -> dict[str, Any]:
        """The method's parameters, recorded with every result."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    @abstractmethod
    def scores(
        self, model: TorchClassifier, examples: Sequence[Example], targets: Sequence[int]
    ) -> list[list[float]]:
        """One list of word scores per example."""
