"""Question reduction (Feng et al. 2018, §4): remove question words while the predicted
answer span stays exactly the same.

The criterion is the span itself: a removal is kept only if the model, run on the shorter
question (with its own context windows), predicts the very same context words ``(start,
end)`` (or the null answer again, for a null prediction). Confidence is the span's
probability. Words are ranked by an attribution method for the original span (gradient by
default, or ``loo``; see :mod:`pathologies.qa.explain`), re-ranked after every removal;
greedy search tries the least important word, beam search the ``k`` least important words
of every state, keeping ``max(1, min(k, L - 3))`` states at length ``L`` (the greedy path
always among them, so beam search never ends longer than greedy). All states of all
questions are ranked and checked together: one attribution call and one engine call per step.
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass, field
from typing import Any

from ..attribution.base import AttributionMethod
from ..data.squad import QAItem
from ..records import ReductionStep
from ..reduction import beam_size
from ..models.qa import QAModel
from ..text import Example, InputError
from .engine import QAEngine
from .explain import as_items, qa_method, span_probability, word_importance
from .records import QAReduction


@dataclass
class _State:
    example: Example
    confidence: float
    history: list[ReductionStep] = field(default_factory=list)
    greedy: bool = False
    scores: list[float] | None = None


@dataclass
class _Search:
    item: QAItem
    original: Example
    span: tuple[int, int]
    beam: list[_State]
    minimal: list[_State]
    calls: int = 0
    steps: int = 0
    done: bool = False


class QAReducer:
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
        if beam < 1 or k < 1:
            raise InputError("beam and k must be at least 1")
        self.model = model
        self.method = qa_method(importance)
        self.beam = beam
        self.k = k
        self.max_steps = max_steps
        self.min_words = max(1, min_words)
        self.engine = engine or QAEngine(model)
        self.random_seed = random_seed

    def _tries(self) -> int:
        return 1 if self.beam == 1 else self.k

    def _width(self, length: int) -> int:
        return 1 if self.beam == 1 else beam_size(self.beam, length)

    def reduce(self, inputs: Any) -> list[QAReduction]:
        """Reduce every question; all searches advance together, step by step."""
        items = as_items(inputs)
        examples = [it.example() for it in items]
        preds = self.engine.scores(examples)
        searches = []
        for it, ex, p in zip(items, examples, preds):
            start = _State(ex, math.exp(p.logp), greedy=True)
            done = len(ex.words) <= self.min_words
            searches.append(_Search(it, ex, tuple(p.span), [start], [start], calls=1, done=done))
        while True:
            active = [s for s in searches if not s.done]
            if not active:
                break
            self._step(active)
        out = [self._result(s) for s in searches]
        self._random_baselines(out, searches)
        return out

    def _rank(self, pairs: list[tuple[_Search, _State]]) -> None:
        todo = [(s, st) for s, st in pairs if st.scores is None]
        if not todo:
            return
        scores, rows = word_importance(
            self.model, [st.example for _, st in todo], [s.span for s, _ in todo], self.method, self.engine
        )
        for (s, st), sc, r in zip(todo, scores, rows):
            st.scores = sc
            s.calls += r

    def _step(self, searches: list[_Search]) -> None:
        states = [(s, st) for s in searches for st in s.beam]
        self._rank(states)
        cands: list[tuple[_Search, _State, int, bool]] = []
        for s, st in states:
            sc = st.scores or []
            order = sorted(range(len(sc)), key=sc.__getitem__)[: self._tries()]
            cands += [(s, st, pos, st.greedy and rank == 0) for rank, pos in enumerate(order)]
        variants = [st.example.without([pos]) for _, st, pos, _ in cands]
        scored = self.engine.scores(variants)
        kept: dict[int, list[_State]] = {}
        for (s, st, pos, greedy), v, sc in zip(cands, variants, scored):
            s.calls += 1
            if tuple(sc.span) != s.span:
                continue
            step = ReductionStep(list(st.example.words), st.confidence, list(st.scores or []), st.example.words[pos], pos)
            kept.setdefault(id(s), []).append(_State(v, math.exp(sc.logp), st.history + [step], greedy=greedy))
        for s in searches:
            survivors = _dedupe(kept.get(id(s), []))
            s.steps += 1
            if not survivors:
                s.done = True
                continue
            s.minimal = survivors
            length = len(s.beam[0].example.words)
            greedy = [c for c in survivors if c.greedy]
            others = sorted((c for c in survivors if not c.greedy), key=lambda c: -c.confidence)
            s.beam = (greedy + others)[: max(self._width(length), len(greedy))]
            if len(survivors[0].example.words) <= self.min_words or (self.max_steps is not None and s.steps >= self.max_steps):
                s.done = True

    def _result(self, s: _Search) -> QAReduction:
        best = max(s.minimal, key=lambda st: (st.confidence, st.greedy))
        if best.scores is None:
            self._rank([(s, best)])
        path = best.history + [ReductionStep(list(best.example.words), best.confidence, list(best.scores or []))]
        it = s.item
        return QAReduction(
            uid=it.uid,
            original=list(s.original.words),
            final=list(best.example.words),
            span=list(s.span),
            span_chars=list(it.char_span(s.span)),
            answer=it.answer_text(s.span),
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

    def _random_baselines(self, reductions: list[QAReduction], searches: list[_Search]) -> None:
        """Question words removed at random (seeded per question) down to the reduced length."""
        variants = []
        for r, s in zip(reductions, searches):
            rng = random.Random(zlib.crc32(f"{self.random_seed}:{r.uid}:{' '.join(r.original)}".encode()))
            keep = sorted(rng.sample(range(len(r.original)), len(r.final)))
            variants.append(s.original.with_words([r.original[i] for i in keep]))
        for r, v, sc, s in zip(reductions, variants, self.engine.scores(variants), searches):
            r.random_baseline = {
                "words": list(v.words),
                "span": list(sc.span),
                "kept_span": tuple(sc.span) == s.span,
                "confidence": span_probability(sc, s.span),
                "seed": self.random_seed,
            }


def _dedupe(states: list[_State]) -> list[_State]:
    seen: dict[tuple, _State] = {}
    for st in states:
        key = st.example.words
        if key not in seen or (st.greedy and not seen[key].greedy):
            seen[key] = st
    return list(seen.values())


def reduce_questions(model: QAModel, inputs: Any, **settings) -> list[QAReduction]:
    """Reduce the questions of SQuAD data, QAItems or QA Examples (see :class:`QAReducer`)."""
    return QAReducer(model, **settings).reduce(inputs)
