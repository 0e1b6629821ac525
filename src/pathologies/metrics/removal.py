"""Removal-based metrics of an attribution method on a model, per example, batched across examples.

- comprehensiveness / sufficiency (DeYoung et al. 2020, as in the PCT paper): confidence drop
  p(y|x) - p(y|x') after removing the ``share`` (default 10%, at least one word) most / least
  important words;
- AOPC over the ERASER bins {1, 5, 10, 20, 50}%: comprehensiveness removes the top b%,
  sufficiency keeps only the top b% (ERASER's definitions);
- IR# / UR#: words removed, most / least important first and re-ranked after each removal,
  until the predicted label flips (the whole length when it never flips);
- I-Var / U-Var (PCT eq. 5): remove the most / least important word, rank the other words
  again, and take the variance of their rank shifts (rank 0 = most important; a word's old
  rank is taken among the words that remain, so a pure deletion shifts nothing).

Every perturbed input of every example goes through the scoring engine in one call per
stage; the iterative IR#/UR# advance all examples together, one step at a time.
"""

from __future__ import annotations

import math
from typing import Sequence

from ..attribution import AttributionMethod
from ..engine import ScoringEngine
from ..models import TorchClassifier
from ..ranks import ranking
from ..text import Example

ERASER_BINS = (0.01, 0.05, 0.10, 0.20, 0.50)


def n_for_share(share: float, length: int) -> int:
    """Words in a share of the input: ceil(share * L), at least 1, at most L."""
    return min(length, max(1, math.ceil(share * length)))


def rank_shift_variance(before: Sequence[float], after: Sequence[float], removed: int) -> float:
    """Variance of the rank shifts of the words left after removing word ``removed``."""
    old = {w: r for r, w in enumerate(x for x in ranking(before) if x != removed)}
    remaining = [i for i in range(len(before)) if i != removed]
    new = {remaining[j]: r for r, j in enumerate(ranking(after))}
    shifts = [new[i] - old[i] for i in remaining]
    if len(shifts) < 2:
        return 0.0
    mean = sum(shifts) / len(shifts)
    return sum((s - mean) ** 2 for s in shifts) / len(shifts)


def erasure_metrics(
    examples: Sequence[Example],
    scores: Sequence[Sequence[float]],
    targets: Sequence[int],
    engine: ScoringEngine,
    *,
    share: float = 0.10,
    bins: Sequence[float] = ERASER_BINS,
) -> list[dict[str, float]]:
    """Comprehensiveness, sufficiency and their AOPC for each example (one engine call)."""
    variants: list[Example] = []
    plan = []
    for ex, sc in zip(examples, scores):
        order = ranking(sc)
        L = len(ex.words)
        start = len(variants)
        n = n_for_share(share, L)
        variants.append(ex.without(order[:n]))  # comprehensiveness
        variants.append(ex.without(order[L - n :]))  # sufficiency
        for b in bins:
            nb = n_for_share(b, L)
            variants.append(ex.without(order[:nb]))  # AOPC comprehensiveness: top removed
            variants.append(ex.without(order[nb:]))  # AOPC sufficiency: only the top kept
        plan.append(start)
    probs = engine.probabilities(list(examples) + variants)
    full, rest = probs[: len(examples)], probs[len(examples) :]
    out = []
    for i, (start, t) in enumerate(zip(plan, targets)):
        p = float(full[i, t])
        drop = [p - float(rest[start + j, t]) for j in range(2 + 2 * len(bins))]
        out.append(
            {
                "comprehensiveness": drop[0],
                "sufficiency": drop[1],
                "aopc_comprehensiveness": sum(drop[2::2]) / len(bins),
                "aopc_sufficiency": sum(drop[3::2]) / len(bins),
            }
        )
    return out


def removals_until_flip(
    model: TorchClassifier,
    examples: Sequence[Example],
    targets: Sequence[int],
    method: AttributionMethod,
    engine: ScoringEngine,
    *,
    most_important: bool,
) -> list[int]:
    """IR# (``most_important``) or UR#: removals until the predicted label flips."""
    states = list(examples)
    counts = [0] * len(states)
    active = [i for i, ex in enumerate(states) if ex.words]
    while active:
        scores = method.scores(model, [states[i] for i in active], [targets[i] for i in active], engine=engine)
        for i, sc in zip(active, scores):
            order = ranking(sc)
            states[i] = states[i].without([order[0] if most_important else order[-1]])
            counts[i] += 1
        probs = engine.probabilities([states[i] for i in active])
        active = [i for i, p in zip(active, probs) if int(p.argmax()) == targets[i] and states[i].words]
    return counts


def rank_variances(
    model: TorchClassifier,
    examples: Sequence[Example],
    scores: Sequence[Sequence[float]],
    targets: Sequence[int],
    method: AttributionMethod,
    engine: ScoringEngine,
) -> list[dict[str, float]]:
    """I-Var and U-Var for each example (one attribution call for all reduced inputs)."""
    reduced, removed = [], []
    for ex, sc in zip(examples, scores):
        order = ranking(sc)
        for pos in (order[0], order[-1]):
            reduced.append(ex.without([pos]))
            removed.append(pos)
    after = method.scores(model, reduced, [t for t in targets for _ in range(2)], engine=engine)
    out = []
    for i, sc in enumerate(scores):
        out.append(
            {
                "i_var": rank_shift_variance(sc, after[2 * i], removed[2 * i]),
                "u_var": rank_shift_variance(sc, after[2 * i + 1], removed[2 * i + 1]),
            }
        )
    return out
