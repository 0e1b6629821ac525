"""Agreement of attributions with SST's word-level sentiment tags (Kim et al. 2020, §4.4).

IoT = |P ∩ T| / |P|: P = the words tagged positive (leaf label 3 or 4), T = the ``top_k``
(default 10) most highly attributed words; on correctly classified positive sentences that
have at least one positive-tagged word. Neutral score: the mean attribution of the words
tagged neutral (2), after scaling each sentence's attributions by its largest |score| so
methods with different units compare (lower is better).
"""

from __future__ import annotations

from typing import Sequence

from ..ranks import ranking

POSITIVE_TAGS = (3, 4)
NEUTRAL_TAG = 2


def iot(scores: Sequence[float], tags: Sequence[int], top_k: int = 10) -> float | None:
    """|P ∩ T| / |P| for one sentence; None when it has no positive-tagged word."""
    positive = {i for i, t in enumerate(tags) if t in POSITIVE_TAGS}
    if not positive:
        return None
    top = set(ranking(scores)[:top_k])
    return len(positive & top) / len(positive)


def neutral_score(scores: Sequence[float], tags: Sequence[int]) -> float | None:
    """Mean scaled attribution of the neutral-tagged words; None when there are none."""
    scale = max((abs(s) for s in scores), default=0.0)
    neutral = [s / scale if scale else 0.0 for s, t in zip(scores, tags) if t == NEUTRAL_TAG]
    return sum(neutral) / len(neutral) if neutral else None
