"""The attribution record and the small interface every attribution method implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

from torch import Tensor

from ..engine import ScoringEngine
from ..models import TorchClassifier
from ..records import Attribution
from ..text import Example


@dataclass
class MethodResult:
    """What a method computes for a batch of examples, one entry per example."""

    scores: list[list[float]]
    probs: Tensor
    targets: list[int]
    #: Standard error of each score (methods that estimate by sampling), else None.
    errors: list[list[float] | None] | None = None
    #: Interval each score is known to lie in (methods that bound their error), else None.
    bounds: list[list[list[float]] | None] | None = None
    #: Model rows spent per example.
    rows: list[int] | None = None

    def attributions(
        self, examples: Sequence[Example], method: str, settings: dict[str, Any], labels: Sequence[str]
    ) -> list[Attribution]:
        """The :class:`Attribution` record of each example (the one builder: ``explain`` and the audit)."""
        return [
            Attribution(
                words=list(ex.words),
                scores=self.scores[i],
                target=self.targets[i],
                probs=[float(x) for x in self.probs[i]],
                method=method,
                settings=settings,
                fixed=list(ex.fixed) if ex.fixed is not None else None,
                fixed_first=ex.fixed_first,
                label=ex.label,
                uid=ex.uid,
                labels=list(labels),
                bounds=self.bounds[i] if self.bounds else None,
                errors=self.errors[i] if self.errors else None,
                rows=self.rows[i] if self.rows else None,
            )
            for i, ex in enumerate(examples)
        ]


class AttributionMethod(ABC):
    """A method scores every word of each example for a target class, batched across examples."""

    name: str = "method"
    #: The pass that scores the words also yields the class probabilities (gradient-style
    #: methods): input reduction then checks and ranks a candidate in one pass.
    fuses_prediction: ClassVar[bool] = False

    def settings(self) -> dict[str, Any]:
        """The method's parameters, recorded with every result."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    @abstractmethod
    def scores(
        self,
        model: TorchClassifier,
        examples: Sequence[Example],
        targets: Sequence[int],
        engine: "ScoringEngine | None" = None,
    ) -> list[list[float]]:
        """One list of word scores per example; perturbation methods score through ``engine``."""


    def attribute(
        self,
        model: TorchClassifier,
        examples: Sequence[Example],
        targets: Sequence[int] | None,
        engine: "ScoringEngine",
    ) -> tuple[list[list[float]], Tensor, list[int]]:
        """Scores, class probabilities and targets (None: the predicted classes)."""
        probs = engine.probabilities(examples)
        if targets is None:
            targets = probs.argmax(1).tolist()
        return self.scores(model, examples, targets, engine=engine), probs, list(targets)

    def run(
        self,
        model: TorchClassifier,
        examples: Sequence[Example],
        targets: Sequence[int] | None,
        engine: "ScoringEngine",
    ) -> MethodResult:
        """Everything the method gives for ``examples``: scores, probabilities, targets, and
        where the method has them, standard errors, bounds and the model rows spent."""
        scores, probs, targets = self.attribute(model, examples, targets, engine)
        errors = [self.score_errors(ex) for ex in examples]
        bounds = [self.score_bounds(ex) for ex in examples]
        return MethodResult(
            scores=[[float(x) for x in sc] for sc in scores],
            probs=probs,
            targets=[int(t) for t in targets],
            errors=[None if e is None else [float(x) for x in e] for e in errors] if any(e is not None for e in errors) else None,
            bounds=[None if b is None else [[float(x) for x in iv] for iv in b] for b in bounds] if any(b is not None for b in bounds) else None,
            rows=[self.rows_spent(ex) for ex in examples],
        )

    # --- capabilities: methods that have these override them -----------------------
    def score_errors(self, example: Example) -> list[float] | None:
        """Each score's standard error, for methods that estimate by sampling."""
        return None

    def score_bounds(self, example: Example) -> list[tuple[float, float]] | None:
        """The interval each score is known to lie in, for methods that bound their error."""
        return None

    def rows_spent(self, example: Example) -> int:
        """Model rows the method spends on one example (one pass by default)."""
        return 1


class PerturbationMethod(AttributionMethod):
    """Scores words by how the target probability changes on perturbed copies of the input.

    Every variant of every example goes to the scoring engine in one call.
    """

    @abstractmethod
    def variants(self, example: Example) -> list[Example]:
        """The perturbed copies of ``example``, one per word."""

    @abstractmethod
    def score(self, p_full: float, p_variant: Tensor) -> Tensor:
        """Word scores from the target probability on the input and on each variant."""

    def rows_spent(self, example: Example) -> int:
        return 1 + len(example.words)

    def scores(self, model, examples, targets, engine=None):
        engine = engine or ScoringEngine(model)
        originals = list(examples)
        variants, spans = [], []
        for ex in originals:
            vs = self.variants(ex)
            spans.append((len(variants), len(variants) + len(vs)))
            variants += vs
        probs = engine.probabilities(originals + variants)
        full, rest = probs[: len(originals)], probs[len(originals) :]
        out = []
        for i, ((a, b), t) in enumerate(zip(spans, targets)):
            out.append(self.score(float(full[i, t]), rest[a:b, t]).tolist())
        return out
