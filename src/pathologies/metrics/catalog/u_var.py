"""U-Var: the rank-shift variance after removing the least important word (PCT eq. 5)."""

from ..base import INF, MetricInfo, register


def compute(ctx):
    return [m["u_var"] for m in ctx.rank_variances()]


register(MetricInfo(
    "u_var", "U-Var: the same after removing the least important word", 0, INF, True, label="U-Var",
    compute=compute, default=True, reranks=True, order=100, paper="PCT eq. 5",
))
