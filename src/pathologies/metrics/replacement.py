"""AUC_rep (Kim et al. 2020, §4.3): replace words in order of decreasing attribution by a word
sampled from a masked LM (seeded), up to 20% of the words, and take the area under the curve
of the target class probability (lower is better: the attribution found the words that matter).

The x axis is the share of the words replaced, scaled to [0, 1] over the replaced range;
each replacement is sampled given the sentence with the earlier replacements in place. All
examples advance together: one engine call per step.
"""

from __future__ import annotations

import math
import random
from typing import Sequence

import torch

from ..engine import ScoringEngine
from ..models.mlm import MaskedWordModel
from ..text import Example, example_seed
from .removal import ranking


def auc_rep(
    examples: Sequence[Example],
    scores: Sequence[Sequence[float]],
    targets: Sequence[int],
    mlm: MaskedWordModel,
    engine: ScoringEngine,
    *,
    share: float = 0.20,
    seed: int = 0,
) -> list[float]:
    """AUC_rep of each example."""
    states = list(examples)
    orders = [ranking(sc) for sc in scores]
    steps = [max(1, math.floor(share * len(ex.words))) for ex in examples]
    p0 = engine.probabilities(states)
    curves = [[float(p0[i, t])] for i, t in enumerate(targets)]
    rngs = [random.Random(example_seed(seed, ex)) for ex in examples]  # the one seed rule (text.py)
    for k in range(max(steps, default=0)):
        active = [i for i in range(len(states)) if k < steps[i]]
        for i in active:
            pos = orders[i][k]
            dist = mlm.distributions(states[i], [pos])[0]
            j = int(torch.multinomial(dist.probs.float(), 1, generator=torch.Generator().manual_seed(rngs[i].getrandbits(31))))
            words = list(states[i].words)
            words[pos] = dist.words[j]
            states[i] = states[i].with_words(words)
        probs = engine.probabilities([states[i] for i in active])
        for i, p in zip(active, probs):
            curves[i].append(float(p[targets[i]]))
    out = []
    for curve in curves:
        n = len(curve) - 1
        out.append(sum((a + b) / 2 for a, b in zip(curve, curve[1:])) / n if n else curve[0])
    return out
