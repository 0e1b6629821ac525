"""Plausibility as token-level AUPRC against SST's human sentiment tags (the soft-score
plausibility of ERASER, DeYoung et al. 2020, with SST's leaf labels as the rationale).

The human rationale of a binary SST sentence predicted positive (negative) is its words tagged
positive, leaf label 3–4 (negative, 0–1): the words annotators read as evidence for the
predicted class. The metric is the average precision of the method's ranking (descending
score, ties by position) against that rationale; None for a sentence with no such word, or
without tags, or for data with more than two classes.
"""

from ..base import MetricInfo, register

EVIDENCE_TAGS = {0: (0, 1), 1: (3, 4)}


def average_precision(scores, relevant) -> float | None:
    """Average precision of the ranking by ``scores`` against the set ``relevant`` (positions)."""
    from ...ranks import ranking

    if not relevant:
        return None
    hits, total = 0, 0.0
    for n, i in enumerate(ranking(scores), start=1):
        if i in relevant:
            hits += 1
            total += hits / n
    return total / len(relevant)


def compute(ctx):
    out = []
    binary = len(ctx.model.labels) == 2
    for ex, sc, r in zip(ctx.examples, ctx.scores, ctx.records):
        if not binary or ex.tags is None:
            out.append(None)
            continue
        tags = EVIDENCE_TAGS[r["predicted"]]
        out.append(average_precision(sc, {i for i, t in enumerate(ex.tags) if t in tags}))
    return out


register(MetricInfo(
    "plausibility_auprc", "average precision of the word ranking against the words SST annotators tagged as "
    "evidence for the predicted class", 0, 1, False, label="AUPRC (SST tags)", needs=("tags",), compute=compute,
    order=213, paper="DeYoung et al. 2020 (ERASER) token-level AUPRC; SST leaf labels (Socher et al. 2013) as rationale",
))
