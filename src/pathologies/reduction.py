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

The search itself (:class:`ReductionSearch`) is the same for every task; what "keeps the
prediction" means is the task's: the same label for a classifier (:class:`InputReducer`),
exactly the same answer span for extractive QA (:class:`pathologies.qa.reduction.QAReducer`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Sequence

from .attribution import AttributionMethod, PerturbationMethod, get_method
from .engine import ScoringEngine
from .models import TorchClassifier
from .progress import progress_bar
from .recommended import recommended_method
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
    """The search for one example. ``target``: the prediction to keep (a label, a span);
    ``item``: what the task needs beside the example to write the record (a QA item)."""

    original: Example
    target: Any
    beam: list[_State]
    minimal: list[_State]
    calls: int = 0
    steps: int = 0
    done: bool = False
    item: Any = None


@dataclass
class Check:
    """A variant as the model sees it: its prediction kept or not, its confidence in the kept
    prediction, and (fused with a gradient pass) the importance of its words."""

    kept: bool
    confidence: float
    scores: list[float] | None = None


class ReductionSearch:
    """Greedy (``beam=1``) or beam search of input reduction, whatever the task.

    The search (candidates from the ranking, the beam schedule, the greedy path kept in the
    beam, duplicates merged, the stop rules, the best minimal state, the random baseline of
    the same length) lives here once. A task says what its prediction is and whether a variant
    keeps it (:meth:`_predict`, :meth:`_check`), how words are ranked (:meth:`_rank`), how a
    random baseline is seeded and scored (:meth:`_baseline_seed`, :meth:`_score_baselines`),
    and what record a search becomes (:meth:`_record`): :class:`InputReducer` for
    classifiers (the same label), :class:`pathologies.qa.reduction.QAReducer` for extractive
    QA (exactly the same span).

    ``threshold``: a removal is kept only if the confidence stays at least this.
    ``max_steps``: stop after this many removals. ``min_words``: never reduce below this.
    """

    def __init__(
        self,
        *,
        beam: int = 1,
        k: int = 5,
        threshold: float | None = None,
        max_steps: int | None = None,
        min_words: int = 1,
        random_seed: int = 0,
    ):
        if beam < 1 or k < 1:
            raise InputError("beam and k must be at least 1")
        self.beam = beam
        self.k = k
        self.threshold = threshold
        self.max_steps = max_steps
        self.min_words = max(1, min_words)
        self.random_seed = random_seed

    # --- what a task says -----------------------------------------------------------------
    def _predict(self, examples: list[Example]) -> list[tuple[Any, float, list[float] | None]]:
        """Per example: the prediction to keep, the confidence in it, and the importance of its
        words when the same pass gives them (else None)."""
        raise NotImplementedError

    def _check(self, variants: list[Example], targets: list[Any]) -> list[Check]:
        """Whether each variant keeps its search's prediction, with its confidence."""
        raise NotImplementedError

    def _rank(self, examples: list[Example], targets: list[Any]) -> tuple[list[list[float]], list[int]]:
        """Importance of the words of each state for its prediction, and the model rows it cost."""
        raise NotImplementedError

    def _record(self, s: _Search, best: _State, path: list[ReductionStep]) -> Any:
        raise NotImplementedError

    def _baseline_seed(self, s: _Search, record: Any) -> int:
        raise NotImplementedError

    def _score_baselines(self, records: list[Any], searches: list[_Search], variants: list[Example]) -> None:
        """Set ``record.random_baseline`` from the random variants of the same length."""
        raise NotImplementedError

    # --- the search ---------------------------------------------------------------------------
    def _tries(self) -> int:
        return 1 if self.beam == 1 else self.k

    def _width(self, length: int) -> int:
        return 1 if self.beam == 1 else beam_size(self.beam, length)

    def _search(self, examples: list[Example], items: Sequence[Any] | None = None) -> list[Any]:
        """Reduce every example, all searches advancing together, step by step; the records
        with their random baselines."""
        searches = []
        for n, (ex, (target, confidence, scores)) in enumerate(zip(examples, self._predict(examples))):
            start = _State(ex, confidence, greedy=True, scores=scores)
            # An input already at the floor (one word) has nothing to remove.
            done = len(ex.words) <= self.min_words
            item = items[n] if items is not None else None
            searches.append(_Search(ex, target, [start], [start], calls=1, done=done, item=item))
        while True:
            active = [s for s in searches if not s.done]
            if not active:
                break
            self._step(active)
        records = [self._result(s) for s in searches]
        self._random_baselines(records, searches)
        return records

    def _rank_states(self, pairs: list[tuple[_Search, _State]]) -> None:
        """Rank the words of every state not yet ranked, in one call."""
        todo = [(s, st) for s, st in pairs if st.scores is None]
        if not todo:
            return
        scores, costs = self._rank([st.example for _, st in todo], [s.target for s, _ in todo])
        for (s, st), sc, cost in zip(todo, scores, costs):
            st.scores = sc
            s.calls += cost

    def _step(self, searches: list[_Search]) -> None:
        # 1. Rank the words of every beam state not yet ranked, in one call.
        states = [(s, st) for s in searches for st in s.beam]
        self._rank_states(states)
        # 2. Every candidate removal of every search, checked in one call.
        # A candidate: (search, state, position removed, on the greedy path).
        cands: list[tuple[_Search, _State, int, bool]] = []
        for s, st in states:
            sc = st.scores or []
            order = sorted(range(len(sc)), key=sc.__getitem__)[: self._tries()]
            cands += [(s, st, pos, st.greedy and rank == 0) for rank, pos in enumerate(order)]
        variants = [st.example.without([pos]) for _, st, pos, _ in cands]
        checks = self._check(variants, [s.target for s, _, _, _ in cands])
        by_search: dict[int, list[_State]] = {}
        for (s, st, pos, greedy), v, c in zip(cands, variants, checks):
            s.calls += 1
            if not c.kept or (self.threshold is not None and c.confidence < self.threshold):
                continue
            step = ReductionStep(list(st.example.words), st.confidence, list(st.scores or []), st.example.words[pos], pos)
            by_search.setdefault(id(s), []).append(_State(v, c.confidence, st.history + [step], greedy=greedy, scores=c.scores))
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

    def _result(self, s: _Search) -> Any:
        best = max(s.minimal, key=lambda st: (st.confidence, st.greedy))
        self._rank_states([(s, best)])  # the final state's heatmap, where no pass gave it yet
        path = best.history + [ReductionStep(list(best.example.words), best.confidence, list(best.scores or []))]
        return self._record(s, best, path)

    def _random_baselines(self, records: list[Any], searches: list[_Search]) -> None:
        """Remove words at random down to the reduced length, seeded per example
        (:meth:`_baseline_seed`): the same input gets the same baseline alone, anywhere in a
        batch, and from every verb."""
        variants = []
        for r, s in zip(records, searches):
            rng = random.Random(self._baseline_seed(s, r))
            original = s.original.words
            keep = sorted(rng.sample(range(len(original)), len(r.final)))
            variants.append(s.original.with_words([original[i] for i in keep]))
        self._score_baselines(records, searches, variants)


class InputReducer(ReductionSearch):
    """Greedy (``beam=1``) or beam search input reduction of a classifier's inputs through a
    scoring engine: a removal is kept while the predicted label stays the same.

    ``importance``: the method that ranks the words (default: the one the planted-shortcut
    results recommend for the model's family, :mod:`pathologies.recommended`).
    ``threshold``: a removal is kept only if the confidence in the label stays at least this.
    ``max_steps``: stop after this many removals. ``min_words``: never reduce below this.
    """

    def __init__(
        self,
        model: TorchClassifier,
        *,
        importance: str | AttributionMethod | None = None,
        beam: int = 1,
        k: int = 5,
        threshold: float | None = None,
        max_steps: int | None = None,
        min_words: int = 1,
        engine: ScoringEngine | None = None,
        random_seed: int = 0,
    ):
        super().__init__(beam=beam, k=k, threshold=threshold, max_steps=max_steps, min_words=min_words, random_seed=random_seed)
        self.model = model
        if importance is None:  # the method the planted-shortcut results recommend for this family
            importance = recommended_method(getattr(model, "family", None))
        self.method = get_method(importance) if isinstance(importance, str) else importance
        self.engine = engine or ScoringEngine(model)
        # Greedy search whose importance pass also gives the probabilities (gradients): fused.
        self._fused = beam == 1 and self.method.fuses_prediction

    def reduce(self, examples: Example | str | Sequence[Example | str]) -> list[Reduction]:
        """Reduce every example; all searches advance together, step by step."""
        return self._search([self.model.fit_to_limit(ex) for ex in as_examples(examples, what="reduce")])

    def _probabilities(self, variants: list[Example], targets: list[int] | None) -> tuple[Any, list[list[float]] | None]:
        """Probabilities of the variants and, when fused, their importance scores."""
        if self._fused:
            scores, probs, _ = self.method.attribute(self.model, variants, targets, self.engine)
            return probs, scores
        return self.engine.probabilities(variants), None

    def _predict(self, examples: list[Example]) -> list[tuple[Any, float, list[float] | None]]:
        probs, scores = self._probabilities(examples, None)
        out = []
        for n, p in enumerate(probs):
            target = int(p.argmax())
            out.append((target, float(p[target]), None if scores is None else scores[n]))
        return out

    def _check(self, variants: list[Example], targets: list[Any]) -> list[Check]:
        probs, scores = self._probabilities(variants, targets)
        return [
            Check(int(probs[n].argmax()) == t, float(probs[n, t]), None if scores is None else scores[n])
            for n, t in enumerate(targets)
        ]

    def _rank(self, examples: list[Example], targets: list[Any]) -> tuple[list[list[float]], list[int]]:
        scores = self.method.scores(self.model, examples, targets, engine=self.engine)
        return scores, [self._importance_cost(ex) for ex in examples]

    def _importance_cost(self, example: Example) -> int:
        """Model rows the importance method spends on one state (for the calls count)."""
        if isinstance(self.method, PerturbationMethod):
            return len(self.method.variants(example))
        return 1

    def _record(self, s: _Search, best: _State, path: list[ReductionStep]) -> Reduction:
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

    def _baseline_seed(self, s: _Search, record: Reduction) -> int:
        """The seed and the example's content alone (:func:`pathologies.text.example_seed`)."""
        return example_seed(self.random_seed, s.original)

    def _score_baselines(self, records: list[Reduction], searches: list[_Search], variants: list[Example]) -> None:
        probs = self.engine.probabilities(variants)
        for r, v, p in zip(records, variants, probs):
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
