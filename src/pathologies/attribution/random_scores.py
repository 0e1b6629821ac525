"""Random scores: the baseline every attribution method must beat.

Each word gets a score drawn uniformly from [-1, 1], seeded by the example's content
(``text.example_seed``), so the same sentence gets the same scores wherever it is asked.
A faithfulness metric, or a planted-shortcut test, that ranks a method no better than this
one says the method finds nothing.
"""

from __future__ import annotations

import random
from typing import Sequence

from ..text import Example, example_seed
from .base import AttributionMethod
from .registry import register


class RandomScores(AttributionMethod):
    """Seeded uniform scores in [-1, 1] (one model pass, for the probabilities only)."""

    name = "random"

    def __init__(self, seed: int = 0):
        self.seed = int(seed)

    def scores(self, model, examples: Sequence[Example], targets, engine=None) -> list[list[float]]:
        out = []
        for ex in examples:
            rng = random.Random(example_seed(self.seed, ex, "random-scores"))
            out.append([rng.uniform(-1.0, 1.0) for _ in ex.words])
        return out


register("random", RandomScores, description="seeded random scores: the baseline to beat", scale="score")
