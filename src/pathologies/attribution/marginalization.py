"""Input marginalization (Kim et al. 2020): instead of erasing a word, marginalize it over the
words a likelihood model finds plausible there.

    p(y | x₋ᵢ) = Σ_c p(y | x with c at i) · q(c | x₋ᵢ) / Σ_c q(c | x₋ᵢ)     (eq. 4)
    score_i    = log2 odds(y | x) − log2 odds(y | x₋ᵢ)                    (eq. 1)

Candidates c: those with likelihood ≥ σ (``sigma``, default 1e-5; at least the most likely one), the ``top_n`` most likely,
or, in the ``adaptive`` mode, the most likely words in growing rounds until the likelihood
mass not yet evaluated is at most ``tol``. Because p(y | ·) lies in [0, 1], the unevaluated
mass R bounds the error: p(y | x₋ᵢ) lies in [S, S + R] for the evaluated sum S; the adaptive
mode estimates the tail by the likelihood-weighted mean over the evaluated head and returns
the resulting interval of each score (``bounds``). Every candidate of every word of every
example goes through the scoring engine in shared batches (one engine call per round).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from ..models.mlm import MaskedWordModel, WordDistribution
from ..text import Example, InputError
from .base import AttributionMethod
from .odds import weight_of_evidence

MODES = ("sigma", "top-n", "adaptive")


@dataclass
class _Word:
    """The marginalization of one word: its distribution and how far it has been evaluated."""

    example: int
    position: int
    dist: WordDistribution
    evaluated: int = 0
    weighted: float = 0.0  # Σ q_c p(y|c) over the evaluated candidates
    mass: float = 0.0  # Σ q_c over the evaluated candidates
    rows: list[int] = field(default_factory=list)


class Marginalization(AttributionMethod):
    """Weight of evidence of each word, marginalized over a likelihood model's candidates."""

    name = "marginalization"

    def __init__(
        self,
        mlm: MaskedWordModel | str,
        mode: str = "sigma",
        sigma: float = 1e-5,
        top_n: int = 100,
        tol: float = 0.02,
        first_round: int = 16,
        growth: int = 4,
        max_candidates: int | None = None,
    ):
        if mode not in MODES:
            raise InputError(f"marginalization mode must be one of {', '.join(MODES)}, not {mode!r}")
        if isinstance(mlm, str):
            from ..models.mlm import load_mlm

            self._mlm_path = mlm
            mlm = load_mlm(mlm)
        else:
            self._mlm_path = getattr(mlm, "name", "mlm")
        self._mlm = mlm
        self.mode = mode
        self.sigma = sigma
        self.top_n = top_n
        self.tol = tol
        self.first_round = first_round
        self.growth = growth
        self.max_candidates = max_candidates
        self._bounds: dict[tuple, list[tuple[float, float]]] = {}
        self._counts: dict[tuple, list[int]] = {}

    def settings(self) -> dict:
        s = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        s["mlm"] = str(self._mlm_path)
        return s

    def _limit(self, dist: WordDistribution) -> int:
        """How many candidates the fixed modes evaluate."""
        if self.mode == "top-n":
            n = self.top_n
        else:
            n = int((dist.probs >= self.sigma).sum())
        return max(1, min(n, self._cap(dist)))

    def _cap(self, dist: WordDistribution) -> int:
        """The most candidates any mode evaluates (``max_candidates``, else all)."""
        return min(len(dist.words), self.max_candidates) if self.max_candidates else len(dist.words)

    def scores(self, model, examples: Sequence[Example], targets: Sequence[int], engine=None):
        from ..engine import ScoringEngine

        model.check_targets(targets)
        engine = engine or ScoringEngine(model)
        examples = list(examples)
        full = engine.probabilities(examples)
        words: list[_Word] = []
        for e, ex in enumerate(examples):
            dists = self._mlm.distributions(ex, list(range(len(ex.words))))
            words += [_Word(e, i, d) for i, d in enumerate(dists)]
        pending = list(words)
        round_size = self.first_round
        while pending:
            variants, owners = [], []
            for w in pending:
                stop = self._limit(w.dist) if self.mode != "adaptive" else min(self._cap(w.dist), w.evaluated + round_size)
                ex = examples[w.example]
                for c in range(w.evaluated, stop):
                    variants.append(ex.with_words(ex.words[: w.position] + (w.dist.words[c],) + ex.words[w.position + 1 :]))
                    owners.append((w, c))
                w.evaluated = stop
            probs = engine.probabilities(variants)
            for (w, c), p in zip(owners, probs):
                q = float(w.dist.probs[c])
                w.weighted += q * float(p[targets[w.example]])
                w.mass += q
            if self.mode != "adaptive":
                break
            pending = [w for w in pending if 1.0 - w.mass > self.tol and w.evaluated < self._cap(w.dist)]
            round_size *= self.growth
        out: list[list[float]] = [[0.0] * len(ex.words) for ex in examples]
        bounds: list[list[tuple[float, float]]] = [[(0.0, 0.0)] * len(ex.words) for ex in examples]
        counts: list[list[int]] = [[0] * len(ex.words) for ex in examples]
        for w in words:
            p_full = float(full[w.example, targets[w.example]])
            mean = w.weighted / w.mass if w.mass > 0 else p_full
            if self.mode == "adaptive":
                rest = max(0.0, 1.0 - w.mass)
                estimate = w.weighted + rest * mean  # the tail at the head's weighted mean
                lo, hi = w.weighted, w.weighted + rest  # p(y|x−i) can be no further out than this
                bounds[w.example][w.position] = (
                    float(weight_of_evidence(p_full, hi)),
                    float(weight_of_evidence(p_full, lo)),
                )
            else:
                estimate = mean  # eq. 4: normalized by the kept likelihood mass
            out[w.example][w.position] = float(weight_of_evidence(p_full, estimate))
            counts[w.example][w.position] = w.evaluated
        for ex, b, n in zip(examples, bounds, counts):
            self._bounds[ex.key()] = b
            self._counts[ex.key()] = n
        return out

    def score_bounds(self, example: Example) -> list[tuple[float, float]] | None:
        """For the adaptive mode: the interval each score of ``example`` is known to lie in."""
        return self._bounds.get(example.key()) if self.mode == "adaptive" else None

    def candidates_evaluated(self, example: Example) -> list[int] | None:
        """How many candidates were evaluated for each word of ``example``."""
        return self._counts.get(example.key())


def marginalize_group(
    model,
    mlm: MaskedWordModel,
    example: Example,
    positions: Sequence[int],
    target: int | None = None,
    *,
    sigma: float = 1e-5,
    max_combinations: int = 20_000,
    engine=None,
) -> float:
    """Joint marginalization of several words (eq. 3): weight of evidence of the group.

    The joint likelihood of a combination is approximated by the product of each position's
    likelihood with the others in place (a masked LM gives no joint distribution); combinations
    with likelihood ≥ σ are kept, at most ``max_combinations``, most likely first.
    """
    from ..engine import ScoringEngine

    positions = sorted(set(positions))
    if not positions or any(not 0 <= p < len(example.words) for p in positions):
        raise InputError(f"group positions must be word indices of the example (0..{len(example.words) - 1})")
    engine = engine or ScoringEngine(model)
    p_full_row = engine.probabilities([example])[0]
    target = int(p_full_row.argmax()) if target is None else target
    dists = mlm.distributions(example, positions)
    combos: list[tuple[float, tuple[str, ...]]] = [(1.0, ())]
    for d in dists:
        keep = int((d.probs >= sigma).sum()) or 1
        combos = [
            (q * float(d.probs[c]), words + (d.words[c],))
            for q, words in combos
            for c in range(min(keep, len(d.words)))
            if q * float(d.probs[c]) >= sigma
        ]
        combos.sort(key=lambda t: -t[0])
        combos = combos[:max_combinations]
    if not combos:
        raise InputError("no combination of candidates reaches the likelihood threshold σ")
    variants = []
    for _, words in combos:
        new = list(example.words)
        for pos, w in zip(positions, words):
            new[pos] = w
        variants.append(example.with_words(new))
    probs = engine.probabilities(variants)[:, target].double()
    q = torch.tensor([c[0] for c in combos], dtype=torch.float64)
    p_without = float((q * probs).sum() / q.sum())
    return float(weight_of_evidence(float(p_full_row[target]), p_without))
