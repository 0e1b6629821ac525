"""I-Var: variance of the other words' saliency-rank shifts after removing the most important word (PCT eq. 5)."""

from ..base import INF, MetricInfo, register


def compute(ctx):
    return [m["i_var"] for m in ctx.rank_variances()]


register(MetricInfo(
    "i_var", "I-Var: variance of the other words' saliency rank shifts after removing the most important word",
    0, INF, True, label="I-Var", compute=compute, default=True, reranks=True, order=90, paper="PCT eq. 5",
))
