"""Input marginalization (Kim et al. 2020): instead of erasing a word, marginalize it over the
words a likelihood model finds plausible there.

    p(y | x₋ᵢ) = Σ_c p(y | x with c at i) · q(c | x₋ᵢ) / Σ_c q(c | x₋ᵢ)     (eq. 4)
    score_i    = log2 odds(y | x) − log2 odds(y | x₋ᵢ)                    (eq. 1)

Modes (which candidates c are evaluated):

- ``sigma``: those with likelihood ≥ σ (default 1e-5; at least the most likely one);
- ``top-n``: the ``top_n`` most likely;
- ``adaptive`` (an estimator of the full marginalization, sum over the whole vocabulary): the
  ``head`` most likely words are evaluated exactly; the rest of the likelihood mass R is
  estimated from a stratified sample of the tail, drawn in proportion to q (systematic
  sampling over the cumulative tail mass, seeded by sentence and position):
  p̂ = Σ_head q p(y|c) + R · mean over the draws of p(y|c), which is unbiased. Words whose
  standard error, carried into bits of weight of evidence, is above ``tol`` get more draws
  (the sample grows ``growth``-fold per round, at most ``max_draws``). A masked LM that
  spreads its mass flat over thousands of words (ours does) makes truncation expensive, and
  a mass-based stop never triggers; sampling's error does not depend on how flat the tail is.
  Each score comes with its standard error (``score_errors``) and with a hard bound
  (``score_bounds``): p(y | ·) lies in [0, 1], so p(y | x₋ᵢ) lies in [S, S + R].

Every candidate of every word of every example goes through the scoring engine in shared
batches (one engine call per round).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Sequence

import torch

from ..engine import ScoringEngine
from ..models.mlm import MaskedWordModel, WordDistribution, load_mlm
from ..text import Example, InputError
from .base import AttributionMethod
from .registry import register
from .odds import EPS, weight_of_evidence

MODES = ("sigma", "top-n", "adaptive")


@dataclass
class _Word:
    """The marginalization of one word: its distribution and what has been evaluated."""

    example: int
    position: int
    dist: WordDistribution
    evaluated: int = 0  # candidates evaluated exactly (the most likely ones)
    weighted: float = 0.0  # Σ q_c p(y|c) over them
    mass: float = 0.0  # Σ q_c over them
    rest: float = 0.0  # likelihood mass of the candidates not evaluated exactly (adaptive)
    draws: list[float] = field(default_factory=list)  # p(y|c) of the tail draws (adaptive)
    distinct: set[int] = field(default_factory=set)  # distinct tail candidates drawn
    generator: torch.Generator | None = None

    def tail_estimate(self) -> tuple[float, float]:
        """p̂(y | x₋ᵢ) and its standard error (adaptive mode)."""
        if not self.draws:  # nothing drawn (no tail, or no budget): eq. 4 over the head
            return self.weighted / self.mass, 0.0
        p = torch.tensor(self.draws, dtype=torch.float64)
        sd = float(p.std()) if len(p) > 1 else 0.5  # one draw says nothing of the spread
        return self.weighted + self.rest * float(p.mean()), self.rest * sd / math.sqrt(len(p))


def _bits(p_hat: float, se: float) -> float:
    """A standard error of p(y | x₋ᵢ) carried into bits of log2 odds (first-order)."""
    p = min(max(p_hat, EPS), 1 - EPS)
    return se / (p * (1 - p) * math.log(2))


class Marginalization(AttributionMethod):
    """Weight of evidence of each word, marginalized over a likelihood model's candidates."""

    name = "marginalization"

    def __init__(
        self,
        mlm: MaskedWordModel | str,
        mode: str = "sigma",
        sigma: float = 1e-5,
        top_n: int = 100,
        head: int = 32,
        draws: int = 96,
        tol: float = 0.05,
        growth: int = 2,
        max_draws: int = 384,
        seed: int = 0,
        max_candidates: int | None = None,
    ):
        if mode not in MODES:
            raise InputError(f"marginalization mode must be one of {', '.join(MODES)}, not {mode!r}")
        if min(head, draws, max_draws) < 0 or growth < 2 or tol < 0:
            raise InputError("marginalization needs head, draws, max_draws ≥ 0, growth ≥ 2 and tol ≥ 0")
        if isinstance(mlm, str):
            self._mlm_path = mlm
            mlm = load_mlm(mlm)
        else:
            self._mlm_path = getattr(mlm, "name", "mlm")
        self._mlm = mlm
        self.mode = mode
        self.sigma = sigma
        self.top_n = top_n
        self.head = head
        self.draws = draws
        self.tol = tol
        self.growth = growth
        self.max_draws = max_draws
        self.seed = seed
        self.max_candidates = max_candidates
        self._bounds: dict[tuple, list[tuple[float, float]]] = {}
        self._errors: dict[tuple, list[float]] = {}
        self._counts: dict[tuple, list[int]] = {}

    def settings(self) -> dict:
        s = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        s["mlm"] = str(self._mlm_path)
        return s

    def _limit(self, dist: WordDistribution) -> int:
        """How many of the most likely candidates are evaluated exactly."""
        if self.mode == "top-n":
            n = self.top_n
        elif self.mode == "adaptive":
            n = self.head
        else:
            n = int((dist.probs >= self.sigma).sum())
        cap = min(len(dist.words), self.max_candidates) if self.max_candidates else len(dist.words)
        return max(1, min(n, cap))

    def _draw_budget(self, w: _Word) -> int:
        """How many tail draws the word may still get."""
        limit = self.max_draws
        if self.max_candidates:
            limit = min(limit, max(0, self.max_candidates - w.evaluated))
        if w.rest <= 0.0:
            return 0
        return max(0, limit - len(w.draws))

    def _sample_tail(self, w: _Word, k: int) -> list[int]:
        """``k`` systematic draws from the tail, in proportion to likelihood."""
        tail = w.dist.probs[w.evaluated :]
        cum = torch.cumsum(tail, 0)
        u = (torch.rand(1, generator=w.generator, dtype=torch.float64) + torch.arange(k, dtype=torch.float64)) / k
        idx = torch.searchsorted(cum, u * cum[-1]).clamp(max=len(tail) - 1)
        return (idx + w.evaluated).tolist()

    def scores(self, model, examples: Sequence[Example], targets: Sequence[int], engine=None):
        model.check_targets(targets)
        engine = engine or ScoringEngine(model)
        examples = list(examples)
        full = engine.probabilities(examples)
        words: list[_Word] = []
        for e, ex in enumerate(examples):
            dists = self._mlm.distributions(ex, list(range(len(ex.words))))
            for i, d in enumerate(dists):
                gen = torch.Generator().manual_seed(zlib.crc32(f"{self.seed}:{ex.key()}:{i}".encode()))
                words.append(_Word(e, i, d, generator=gen))
        pending, first = list(words), True
        while pending:
            variants, owners = [], []
            for w in pending:
                ex = examples[w.example]
                if first:
                    picks = [(c, False) for c in range(self._limit(w.dist))]
                    w.evaluated = len(picks)
                    if self.mode == "adaptive":
                        w.rest = float(w.dist.probs[w.evaluated :].sum())
                        k = min(self.draws, self._draw_budget(w))
                        picks += [(c, True) for c in self._sample_tail(w, k)] if k else []
                else:
                    k = min(len(w.draws) * (self.growth - 1), self._draw_budget(w))
                    picks = [(c, True) for c in self._sample_tail(w, k)]
                for c, drawn in picks:
                    variants.append(ex.with_words(ex.words[: w.position] + (w.dist.words[c],) + ex.words[w.position + 1 :]))
                    owners.append((w, c, drawn))
            probs = engine.probabilities(variants)
            for (w, c, drawn), p in zip(owners, probs):
                py = float(p[targets[w.example]])
                if drawn:
                    w.draws.append(py)
                    w.distinct.add(c)
                else:
                    q = float(w.dist.probs[c])
                    w.weighted += q * py
                    w.mass += q
            first = False
            if self.mode != "adaptive":
                break
            pending = [w for w in pending if w.draws and self._draw_budget(w)
                       and _bits(*w.tail_estimate()) > self.tol]
        out: list[list[float]] = [[0.0] * len(ex.words) for ex in examples]
        bounds: list[list[tuple[float, float]]] = [[(0.0, 0.0)] * len(ex.words) for ex in examples]
        errors: list[list[float]] = [[0.0] * len(ex.words) for ex in examples]
        counts: list[list[int]] = [[0] * len(ex.words) for ex in examples]
        for w in words:
            p_full = float(full[w.example, targets[w.example]])
            if self.mode == "adaptive":
                estimate, se = w.tail_estimate()
                lo, hi = w.weighted, w.weighted + w.rest  # p(y|x−i) can be no further out than this
                bounds[w.example][w.position] = (
                    float(weight_of_evidence(p_full, hi)),
                    float(weight_of_evidence(p_full, lo)),
                )
                errors[w.example][w.position] = _bits(estimate, se)
            else:
                estimate = w.weighted / w.mass  # eq. 4: normalized by the kept likelihood mass
            out[w.example][w.position] = float(weight_of_evidence(p_full, estimate))
            counts[w.example][w.position] = w.evaluated + len(w.distinct)
        for ex, b, s, n in zip(examples, bounds, errors, counts):
            self._bounds[ex.key()] = b
            self._errors[ex.key()] = s
            self._counts[ex.key()] = n
        return out

    def score_bounds(self, example: Example) -> list[tuple[float, float]] | None:
        """For the adaptive mode: the interval each score of ``example`` is known to lie in."""
        return self._bounds.get(example.key()) if self.mode == "adaptive" else None

    def score_errors(self, example: Example) -> list[float] | None:
        """For the adaptive mode: each score's standard error in bits (from the tail sample)."""
        return self._errors.get(example.key()) if self.mode == "adaptive" else None

    def rows_spent(self, example: Example) -> int:
        counts = self._counts.get(example.key())
        return 1 + (sum(counts) if counts else 0)

    def candidates_evaluated(self, example: Example) -> list[int] | None:
        """How many distinct candidates were evaluated for each word of ``example``."""
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


register("marginalization", lambda **kw: Marginalization(**kw), needs=("mlm",), description="input marginalization over a masked LM", scale="evidence")
register("marginalization-adaptive", lambda **kw: Marginalization(**{"mode": "adaptive", **kw}), needs=("mlm",), description="adaptive input marginalization with standard errors", scale="evidence")
