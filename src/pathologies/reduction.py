"""Input reduction (Feng et al. 2018): remove the least important word while the prediction holds.

At every step the remaining words of the perturbable segment are ranked by an attribution
method (input gradient by default; any method of the toolkit), re-ranked after each removal,
and the least important are tried. Greedy search tries the single least important word;
beam search tries the ``k`` least important words of every beam state and keeps
``max(1, min(k, L - 3))`` states at length ``L``. The greedy path is always one of the beam's
states, so beam search never ends longer than greedy search.

All beam states of all examples are ranked and scored together: one attribution call and
one engine call per step for the whole batch of examples. Greedy search with a gradient-style
method (one whose pass also yields the probabilities) fuses the two: the forward+backward pass
on each candidate both checks its prediction and ranks its words for the next step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Sequence

from .attribution import AttributionMethod, PerturbationMethod, get_method
from .engine import ScoringEngine
from .models import TorchClassifier
from .progress import progress_bar
from .records import Reduction, ReductionStep, summarize  # noqa: F401  (re-exported)
from .runs import JsonlRun
from .text import Example, InputError, as_examples, example_seed


def beam_size(k: int, length: int) -> int:
    """The paper's schedule: max(1, min(k, L - 3)) states kept at length L."""
    return max(1, min(k, length - 3))


@dataclass
class _State:
    example: Example
    confidence: float
    history: list[ReductionStep] = field(default_factory=list)
    greedy: bool = False
    scores: list[float] | None = None  # importance of its words, once ranked


@dataclass
class _Search:
    """The search for one example."""

    original: Example
    target: int
    beam: list[_State]
    minimal: list[_State]
    calls: int = 0
    steps: int = 0
    done: bool = False


class InputReducer:
    """Greedy (``beam=1``) or beam search input reduction through a scoring engine.

    ``threshold``: a removal is kept only if the confidence in the label stays at least this.
    ``max_steps``: stop after this many removals. ``min_words``: never reduce below this.
    """

    def __init__(
        self,
        model: TorchClassifier,
        *,
        importance: str | AttributionMethod = "gradient",
        beam: int = 1,
        k: int = 5,
        threshold: float | None = None,
        max_steps: int | None = None,
        min_words: int = 1,
        engine: ScoringEngine | None = None,
        random_seed: int = 0,
    ):
        if beam < 1 or k < 1:
            raise InputError("beam and k must be at least 1")
        self.model = model
        self.method = get_method(importance) if isinstance(importance, str) else importance
        self.beam = beam
        self.k = k
        self.threshold = threshold
        self.max_steps = max_steps
        self.min_words = max(1, min_words)
        self.engine = engine or ScoringEngine(model)
        self.random_seed = random_seed
        # Greedy search whose importance pass also gives the probabilities (gradients): fused.
        self._fused = beam == 1 and self.method.fuses_prediction

    def _tries(self) -> int:
        return 1 if self.beam == 1 else self.k

    def _width(self, length: int) -> int:
        return 1 if self.beam == 1 else beam_size(self.beam, length)

    def _check(self, variants: list[Example], targets: list[int]) -> tuple[Any, list[list[float]] | None]:
        """Probabilities of the variants and, when fused, their importance scores."""
        if self._fused:
            scores, probs, _ = self.method.attribute(self.model, variants, targets, self.engine)
            return probs, scores
        return self.engine.probabilities(variants), None

    def reduce(self, examples: Example | str | Sequence[Example | str]) -> list[Reduction]:
        """Reduce every example; all searches advance together, step by step."""
        examples = [self.model.fit_to_limit(ex) for ex in as_examples(examples, what="reduce")]
        if self._fused:
            scores, probs, _ = self.method.attribute(self.model, examples, None, self.engine)
        else:
            probs, scores = self.engine.probabilities(examples), [None] * len(examples)
        searches = []
        for ex, p, sc in zip(examples, probs, scores):
            target = int(p.argmax())
            start = _State(ex, float(p[target]), greedy=True, scores=sc)
            # An input already at the floor (one word) has nothing to remove.
            done = len(ex.words) <= self.min_words
            searches.append(_Search(ex, target, [start], [start], calls=1, done=done))
        while True:
            active = [s for s in searches if not s.done]
            if not active:
                break
            self._step(active)
        reductions = [self._result(s) for s in searches]
        self._random_baselines(reductions, searches)
        return reductions

    def _step(self, searches: list[_Search]) -> None:
        # 1. Rank the words of every beam state not yet ranked, in one attribution call.
        states = [(s, st) for s in searches for st in s.beam]
        unranked = [(s, st) for s, st in states if st.scores is None]
        if unranked:
            ranked = self.method.scores(
                self.model, [st.example for _, st in unranked], [s.target for s, _ in unranked], engine=self.engine
            )
            for (s, st), sc in zip(unranked, ranked):
                st.scores = sc
                s.calls += self._importance_cost(st.example)
        # 2. Every candidate removal of every search, scored in one call (engine, or fused pass).
        # A candidate: (search, state, position removed, on the greedy path).
        cands: list[tuple[_Search, _State, int, bool]] = []
        for s, st in states:
            sc = st.scores
            order = sorted(range(len(sc)), key=sc.__getitem__)[: self._tries()]
            cands += [(s, st, pos, st.greedy and rank == 0) for rank, pos in enumerate(order)]
        variants = [st.example.without([pos]) for _, st, pos, _ in cands]
        probs, cand_scores = self._check(variants, [s.target for s, _, _, _ in cands])
        by_search: dict[int, list[_State]] = {}
        for n, ((s, st, pos, greedy), v) in enumerate(zip(cands, variants)):
            s.calls += 1
            p = float(probs[n, s.target])
            if int(probs[n].argmax()) != s.target or (self.threshold is not None and p < self.threshold):
                continue
            step = ReductionStep(list(st.example.words), st.confidence, list(st.scores), st.example.words[pos], pos)
            sc = None if cand_scores is None else cand_scores[n]
            by_search.setdefault(id(s), []).append(_State(v, p, st.history + [step], greedy=greedy, scores=sc))
        for s in searches:
            kept = _dedupe(by_search.get(id(s), []))
            s.steps += 1
            if not kept:
                s.done = True
                continue
            s.minimal = kept
            length = len(s.beam[0].example.words)
            greedy = [c for c in kept if c.greedy]
            others = sorted((c for c in kept if not c.greedy), key=lambda c: -c.confidence)
            s.beam = (greedy + others)[: max(self._width(length), len(greedy))]
            remaining = len(kept[0].example.words)
            if remaining <= self.min_words or (self.max_steps is not None and s.steps >= self.max_steps):
                s.done = True

    def _importance_cost(self, example: Example) -> int:
        """Model rows the importance method spends on one state (for the calls count)."""
        if isinstance(self.method, PerturbationMethod):
            return len(self.method.variants(example))
        return 1

    def _result(self, s: _Search) -> Reduction:
        best = max(s.minimal, key=lambda st: (st.confidence, st.greedy))
        final_scores = best.scores
        if final_scores is None:
            final_scores = self.method.scores(self.model, [best.example], [s.target], engine=self.engine)[0]
            s.calls += self._importance_cost(best.example)
        path = best.history + [ReductionStep(list(best.example.words), best.confidence, list(final_scores))]
        ex = s.original
        return Reduction(
            uid=ex.uid,
            original=list(ex.words),
            final=list(best.example.words),
            predicted=s.target,
            original_confidence=path[0].confidence,
            final_confidence=best.confidence,
            path=path,
            all_minimal=[list(st.example.words) for st in s.minimal],
            model_calls=s.calls,
            importance=self.method.name,
            beam=self.beam,
            k=self._tries(),
            fixed=list(ex.fixed) if ex.fixed is not None else None,
            fixed_first=ex.fixed_first,
            label=ex.label,
            labels=list(self.model.labels),
        )

    def _random_baselines(self, reductions: list[Reduction], searches: list[_Search]) -> None:
        """Remove words at random down to the reduced length, seeded by the seed and the
        example's content alone (:func:`pathologies.text.example_seed`): the same sentence gets
        the same baseline alone, anywhere in a batch, and from every verb."""
        variants = []
        for r, s in zip(reductions, searches):
            rng = random.Random(example_seed(self.random_seed, s.original))
            keep = sorted(rng.sample(range(len(r.original)), len(r.final)))
            variants.append(s.original.with_words([r.original[i] for i in keep]))
        probs = self.engine.probabilities(variants)
        for r, v, p in zip(reductions, variants, probs):
            pred = int(p.argmax())
            r.random_baseline = {
                "words": list(v.words),
                "predicted": pred,
                "confidence": float(p[r.predicted]),
                "kept_prediction": pred == r.predicted,
                "seed": self.random_seed,
            }


def _dedupe(states: list[_State]) -> list[_State]:
    seen: dict[tuple, _State] = {}
    for st in states:
        key = st.example.words
        if key not in seen or (st.greedy and not seen[key].greedy):
            seen[key] = st
    return list(seen.values())


def reduce_inputs(
    model: TorchClassifier, examples: Example | str | Sequence[Example | str], **settings
) -> list[Reduction]:
    """Input reduction of a text, an example, a data set, or many texts or examples (see
    :class:`InputReducer`)."""
    return InputReducer(model, **settings).reduce(examples)


def reduce_to_file(
    model: TorchClassifier,
    examples: Sequence[Example],
    out: str,
    *,
    chunk: int = 32,
    show_progress: bool = True,
    **settings,
) -> list[dict]:
    """Reduce a data set into a JSON-lines file, ``chunk`` examples (searched together) at a
    time; examples already in the file are skipped, so an interrupted run resumes.

    The training objectives' cache of reductions; user-facing runs write a run folder
    (:func:`pathologies.audit.audit` with ``reduce=...``), which records provenance.
    """
    run = JsonlRun(out)
    chunks = run.pending_chunks(as_examples(examples, what="reduce"), chunk)
    reducer = InputReducer(model, **settings)
    with progress_bar("reduce", sum(map(len, chunks)), show_progress) as advance:
        for part in chunks:
            run.append(r.to_dict() for r in reducer.reduce(part))
            advance(len(part))
    return run.records
