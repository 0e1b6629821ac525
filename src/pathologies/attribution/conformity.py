"""Conformity leave-one-out (Wallace et al. 2018): how a word's removal changes DkNN conformity.

Score of word i = conformity(x) - conformity(x without word i), where conformity is the share
of the input's nearest training neighbours, over all layers of a fitted :class:`DkNN`, that
carry the target class (by default the class the model predicts for the full input).
``score="credibility"`` uses the calibrated DkNN p-value of the target class instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from torch import Tensor

from ..dknn import DkNN
from ..engine import ScoringEngine
from ..models import TorchClassifier
from ..text import Example, InputError
from .base import AttributionMethod
from .registry import register


SCORES = ("conformity", "credibility")


class ConformityLOO(AttributionMethod):
    """Deletion of one word at a time, scored by DkNN conformity (or credibility)."""

    def __init__(self, index: str | Path | DkNN | None = None, score: str = "conformity"):
        if score not in SCORES:
            raise InputError(f"conformity score must be one of {', '.join(SCORES)}, not {score!r}")
        if index is None:
            raise InputError(
                "the conformity method needs a DkNN index: index=PATH (build one with "
                "`pathologies dknn fit`) or index=a fitted DkNN"
            )
        if isinstance(index, DkNN):
            self._dknn = index
            index = getattr(index, "path_", None)
        else:
            self._dknn = DkNN.load(index)
        self._dknn._check_fitted()
        if score == "credibility" and self._dknn.calibration_ is None:
            raise InputError("score='credibility' needs a calibrated DkNN index (dknn fit --calibration ...)")
        self.index = None if index is None else str(index)
        self.score_kind = score

    @property
    def name(self) -> str:  # type: ignore[override]
        return "conformity" if self.score_kind == "conformity" else "conformity-credibility"

    fuses_prediction = True

    def rows_spent(self, example: Example) -> int:
        return 1 + len(example.words)

    @property
    def dknn(self) -> DkNN:
        return self._dknn

    def settings(self) -> dict[str, Any]:
        """JSON-serializable: the index path (None for an unsaved in-memory index), not the index."""
        d = self._dknn
        return {
            "index": self.index,
            "score": self.score_kind,
            "k": d.k,
            "metric": d.metric,
            "layers": list(d.layers_),
        }

    def scores(
        self,
        model: TorchClassifier,
        examples: Sequence[Example],
        targets: Sequence[int],
        engine: "ScoringEngine | None" = None,
    ) -> list[list[float]]:
        return self._run(model, examples, targets, engine)[0]

    def attribute(self, model, examples, targets, engine):
        """Scores, probabilities and targets (None: the model's predicted classes) in one pass."""
        return self._run(model, examples, targets, engine)

    def _run(
        self,
        model: TorchClassifier,
        examples: Sequence[Example],
        targets: Sequence[int] | None,
        engine: "ScoringEngine | None",
    ) -> tuple[list[list[float]], Tensor, list[int]]:
        self._dknn.check_model(model)
        engine = engine or ScoringEngine(model)
        originals = list(examples)
        n = len(originals)
        variants: list[Example] = []
        spans = []
        for ex in originals:
            spans.append((n + len(variants), n + len(variants) + len(ex.words)))
            variants += [ex.without([i]) for i in range(len(ex.words))]
        rows = originals + variants
        reps = engine.representations(rows)  # also fills the engine's score cache
        probs = engine.probabilities(rows)
        if targets is None:
            targets = probs[:n].argmax(1).tolist()
        else:
            model.check_targets(targets)
            targets = [int(t) for t in targets]
        row_targets = np.empty(len(rows), dtype=np.int64)
        row_targets[:n] = targets
        for (a, b), t in zip(spans, targets):
            row_targets[a:b] = t
        out = self._dknn.from_representations(reps, probs)
        if self.score_kind == "conformity":
            value = out.conformity_of(row_targets)
        else:
            value = out.p_value_of(row_targets)
        scores = [(value[i] - value[a:b]).tolist() for i, (a, b) in enumerate(spans)]
        return scores, probs[:n], targets


register("conformity", lambda **kw: ConformityLOO(**{"score": "conformity", **kw}), needs=("index",), description="DkNN conformity leave-one-out", scale="evidence")
register("conformity-credibility", lambda **kw: ConformityLOO(**{"score": "credibility", **kw}), needs=("index",), description="DkNN credibility leave-one-out", scale="evidence")
