"""Normalized AOPC (Edin et al. 2025, "Normalized AOPC: Fixing Misleading Faithfulness
Metrics for Feature Attribution Explainability", ACL).

AOPC of a removal order π over the L words of an example with target y:
AOPC(π) = 1/(L + 1) · Σ_{k=0..L} (p(y|x) − p(y|x without the first k words of π)), the empty
input included (scored as every family scores it). A method's AOPC is that of its ranking
(``ranks.ranking``: descending score, ties by position). The paper normalizes by the best and
worst AOPC any order reaches on that example: NAOPC = (AOPC − AOPC_min) / (AOPC_max −
AOPC_min), so values compare across inputs and models whose AOPC ranges differ.

AOPC_max and AOPC_min come from a beam search over removal orders (``BEAM`` states, the
paper's approximation for inputs too long for all L! orders; this is our own beam over the
engine, not the input-reduction beam, whose objective is another): at each step every state
is extended by each remaining word, states removing the same set of words are merged (the
best partial sum kept), and the ``BEAM`` states with the largest (smallest) partial sum of
drops are kept. Keeping the best partial sum per set is exact (what follows depends only on
the set), so a beam as wide as the largest level (C(L, L/2) sets) gives the true optimum; the
test checks that against brute force over all orders. The method's own order is also an order, so the bounds are widened to
include it: NAOPC lies in [0, 1] and is undefined (None) where max = min. Cost: about
BEAM · L² / 2 model rows per direction and example, through the engine's shared batches.
"""

from __future__ import annotations

from typing import Sequence

from ..engine import ScoringEngine
from ..ranks import ranking
from ..text import Example

#: Beam width of the best- and worst-order searches.
BEAM = 5


def aopc_of_order(drops: Sequence[float]) -> float:
    """AOPC from the drops after removing 0, 1, ..., L words (``drops[0]`` = 0)."""
    return sum(drops) / len(drops)


def _search(examples, targets, full, engine: ScoringEngine, *, best: bool, beam: int) -> list[float]:
    """AOPC of the best (``best``) or worst order found by beam search, per example."""
    sign = 1.0 if best else -1.0
    states = [[(0.0, frozenset())] for _ in examples]  # (partial sum of drops, removed positions)
    for _ in range(max(len(ex.words) for ex in examples)):
        cand: list[tuple[int, float, frozenset]] = []
        for e, ex in enumerate(examples):
            for total, removed in states[e]:
                for i in range(len(ex.words)):
                    if i not in removed:
                        cand.append((e, total, removed | {i}))
        if not cand:
            break
        probs = engine.probabilities([examples[e].without(r) for e, _, r in cand])
        merged: list[dict[frozenset, float]] = [{} for _ in examples]
        for (e, total, r), row in zip(cand, probs):
            t = total + full[e] - float(row[targets[e]])
            old = merged[e].get(r)
            if old is None or sign * t > sign * old:
                merged[e][r] = t
        for e in range(len(examples)):
            if merged[e]:
                ranked = sorted(merged[e].items(), key=lambda kv: (-sign * kv[1], sorted(kv[0])))
                states[e] = [(t, r) for r, t in ranked[:beam]]
    out = []
    for e, ex in enumerate(examples):
        pick = max if best else min
        out.append(pick(t for t, _ in states[e]) / (len(ex.words) + 1))
    return out


def naopc(
    examples: Sequence[Example], scores: Sequence[Sequence[float]], targets: Sequence[int], engine: ScoringEngine,
    *, beam: int = BEAM,
) -> list[dict[str, float | None]]:
    """AOPC, its beam-search bounds and NAOPC of every example."""
    examples, targets = list(examples), list(targets)
    if not examples:
        return []
    full_probs = engine.probabilities(examples)
    full = [float(full_probs[e, t]) for e, t in enumerate(targets)]
    variants, spans = [], []
    for ex, sc in zip(examples, scores):
        order = ranking(sc)
        spans.append(len(variants))
        variants += [ex.without(order[:k]) for k in range(1, len(ex.words) + 1)]
    probs = engine.probabilities(variants)
    own = []
    for e, ex in enumerate(examples):
        drops = [0.0] + [full[e] - float(probs[spans[e] + k, targets[e]]) for k in range(len(ex.words))]
        own.append(aopc_of_order(drops))
    hi = _search(examples, targets, full, engine, best=True, beam=beam)
    lo = _search(examples, targets, full, engine, best=False, beam=beam)
    out = []
    for a, h, l in zip(own, hi, lo):
        h, l = max(h, a), min(l, a)
        out.append({"aopc": a, "aopc_max": h, "aopc_min": l, "naopc": (a - l) / (h - l) if h > l else None})
    return out
