"""The data behind the report's figures, computed once in a run and stored with its records.

- confidence after removal (PCT's Figure 2): the confidence in the predicted class with
  0..15 most / least important words removed, words ranked once on the original input;
- a projection of sentence representations (PCT's Figure 3): the original, the original with
  1..n least important words removed (positives) and with 1..n most important removed
  (negatives), projected on their first two principal components.

The views only draw these records; they never need the model.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..engine import ScoringEngine
from ..text import Example
from .removal import ranking

MAX_REMOVED = 15
MAX_PROJECTED = 8


def removal_curves(
    examples: Sequence[Example],
    scores: Sequence[Sequence[float]],
    targets: Sequence[int],
    engine: ScoringEngine,
    max_removed: int = MAX_REMOVED,
) -> list[dict[str, list[float]]]:
    """Per example: confidence in the target with k = 0..max_removed important / unimportant
    words removed (k stops one word short of the whole input). One engine call."""
    variants, keys = [], []
    for i, (ex, sc) in enumerate(zip(examples, scores)):
        order = ranking(sc)
        for k in range(0, min(max_removed, len(ex.words) - 1) + 1):
            variants.append(ex.without(order[:k]))
            keys.append((i, "important"))
            if k:
                variants.append(ex.without(order[len(order) - k :]))
                keys.append((i, "unimportant"))
    probs = engine.probabilities(variants)
    out: list[dict[str, list[float]]] = [{"important": [], "unimportant": []} for _ in examples]
    for (i, kind), p in zip(keys, probs):
        value = float(p[targets[i]])
        out[i][kind].append(value)
        if kind == "important" and len(out[i]["important"]) == 1:
            out[i]["unimportant"].append(value)  # k = 0 is the original input for both
    return out


def representation_projection(
    engine: ScoringEngine, example: Example, scores: Sequence[float], max_removed: int = MAX_PROJECTED
) -> dict[str, Any]:
    """2-D PCA coordinates of the example's sentence representation and of its reduced
    versions: ``points`` [[x, y], ...], ``kind`` (original / unimportant / important removed)
    and ``k`` (words removed) per point."""
    order = ranking(scores)
    n = min(max_removed, len(example.words) - 1)
    positives = [example.without(order[len(order) - k :]) for k in range(1, n + 1)]
    negatives = [example.without(order[:k]) for k in range(1, n + 1)]
    reps = engine.representations([example] + positives + negatives).sentence.numpy().astype(np.float64)
    centered = reps - reps.mean(0)
    if len(reps) > 1 and np.abs(centered).max() > 0:
        _, _, vt = np.linalg.svd(centered, full_matrices=False)
        xy = centered @ vt[:2].T
        if xy.shape[1] < 2:
            xy = np.pad(xy, ((0, 0), (0, 2 - xy.shape[1])))
    else:
        xy = np.zeros((len(reps), 2))
    return {
        "points": [[float(a), float(b)] for a, b in xy],
        "kind": ["original"] + ["unimportant removed"] * n + ["important removed"] * n,
        "k": [0] + list(range(1, n + 1)) * 2,
    }
