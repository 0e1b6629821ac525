"""Rank correlation with leave-one-out (ferret's ``taucorr_loo``; Attanasio et al. 2023).

Kendall's tau-b between the method's word scores and leave-one-out's (p(y|x) - p(y|x
without the word)) on the same input and target: 1 when the method orders the words as
deleting them one at a time does. Undefined (None) for one-word inputs or constant scores.
"""

from ..base import MetricInfo, register
from ...ranks import kendall_tau_b


def compute(ctx):
    from ...attribution import get_method  # lazy: torch, only when computing
    loo = ctx.memo("loo-scores", lambda: get_method("loo").scores(ctx.model, ctx.examples, ctx.targets, engine=ctx.engine))
    return [kendall_tau_b(sc, ref) if len(sc) > 1 else None for sc, ref in zip(ctx.scores, loo)]


register(MetricInfo(
    "taucorr_loo", "Kendall's tau-b between the method's word scores and leave-one-out's", -1, 1, False,
    label="τ with LOO", compute=compute, order=200, paper="ferret (Attanasio et al. 2023)",
))
