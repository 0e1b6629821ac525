"""Question reduction (Feng et al. 2018, §4): remove question words while the predicted
answer span stays exactly the same.

The criterion is the span itself: a removal is kept only if the model, run on the shorter
question (with its own context windows), predicts the very same context words ``(start,
end)`` (or the null answer again, for a null prediction). Confidence is the span's
probability. Words are ranked by an attribution method for the original span (gradient by
default, or ``loo``; see :mod:`pathologies.qa.explain`), re-ranked after every removal.
The search is the classifiers' own (:class:`pathologies.reduction.ReductionSearch`: greedy,
or beam search keeping ``max(1, min(k, L - 3))`` states at length ``L`` with the greedy path
among them, so beam search never ends longer than greedy); this module says only what
keeping the prediction means for QA and what record a search becomes. All states of all
questions are ranked and checked together: one attribution call and one engine call per step.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

from ..attribution.base import AttributionMethod
from ..records import ReductionStep
from ..reduction import Check, ReductionSearch, _Search, _State
from ..models.qa import QAModel
from ..text import Example
from .engine import QAEngine
from .explain import as_items, qa_method, span_probability, word_importance
from .records import QAReduction


class QAReducer(ReductionSearch):
    """Greedy (``beam=1``) or beam-search reduction of questions, the span kept exactly.

    ``importance``: the ranking method (``gradient``, ``loo``, ... or an instance);
    ``max_steps``: stop after this many removals; ``min_words``: never below this.
    """

    def __init__(
        self,
        model: QAModel,
        *,
        importance: str | AttributionMethod = "gradient",
        beam: int = 1,
        k: int = 5,
        max_steps: int | None = None,
        min_words: int = 1,
        engine: QAEngine | None = None,
        random_seed: int = 0,
    ):
        super().__init__(beam=beam, k=k, max_steps=max_steps, min_words=min_words, random_seed=random_seed)
        self.model = model
        self.method = qa_method(importance)
        self.engine = engine or QAEngine(model)

    def reduce(self, inputs: Any) -> list[QAReduction]:
        """Reduce every question; all searches advance together, step by step."""
        items = as_items(inputs)
        return self._search([it.example() for it in items], items)

    def _predict(self, examples: list[Example]) -> list[tuple[Any, float, list[float] | None]]:
        return [(tuple(p.span), math.exp(p.logp), None) for p in self.engine.scores(examples)]

    def _check(self, variants: list[Example], targets: list[Any]) -> list[Check]:
        """Kept: the very same span (context words, or the null answer again)."""
        return [Check(tuple(sc.span) == t, math.exp(sc.logp)) for sc, t in zip(self.engine.scores(variants), targets)]

    def _rank(self, examples: list[Example], targets: list[Any]) -> tuple[list[list[float]], list[int]]:
        return word_importance(self.model, examples, targets, self.method, self.engine)

    def _record(self, s: _Search, best: _State, path: list[ReductionStep]) -> QAReduction:
        it = s.item
        return QAReduction(
            uid=it.uid,
            original=list(s.original.words),
            final=list(best.example.words),
            span=list(s.target),
            span_chars=list(it.char_span(s.target)),
            answer=it.answer_text(s.target),
            original_confidence=path[0].confidence,
            final_confidence=best.confidence,
            path=path,
            all_minimal=[list(st.example.words) for st in s.minimal],
            model_calls=s.calls,
            importance=self.method.name,
            beam=self.beam,
            k=self._tries(),
            context=it.context,
            gold=[t for t, _ in it.answers],
            is_impossible=it.is_impossible,
        )

    def _baseline_seed(self, s: _Search, record: QAReduction) -> int:
        """Seeded per question: the seed, its id and its words."""
        return zlib.crc32(f"{self.random_seed}:{record.uid}:{' '.join(record.original)}".encode())

    def _score_baselines(self, records: list[QAReduction], searches: list[_Search], variants: list[Example]) -> None:
        """Did the random question of the same length keep the span, and its probability."""
        for r, v, sc, s in zip(records, variants, self.engine.scores(variants), searches):
            r.random_baseline = {
                "words": list(v.words),
                "span": list(sc.span),
                "kept_span": tuple(sc.span) == s.target,
                "confidence": span_probability(sc, s.target),
                "seed": self.random_seed,
            }


def reduce_questions(model: QAModel, inputs: Any, **settings) -> list[QAReduction]:
    """Reduce the questions of SQuAD data, QAItems or QA Examples (see :class:`QAReducer`)."""
    return QAReducer(model, **settings).reduce(inputs)
