"""Neutral-word score (Kim et al. 2020): mean scaled attribution of SST neutral-tagged words."""

from ..base import MetricInfo, register
from ..plausibility import neutral_score


def compute(ctx):
    return [neutral_score(sc, ex.tags) if ex.tags is not None else None for ex, sc in zip(ctx.examples, ctx.scores)]


register(MetricInfo(
    "neutral", "mean scaled attribution of SST neutral-tagged words", -1, 1, True, label="neutral-word score",
    needs=("tags",), compute=compute, order=84, paper="Kim et al. 2020",
))
