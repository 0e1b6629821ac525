"""Sufficiency (as in the PCT paper): p(y|x) - p(y|x without the bottom 10% words)."""

from ..base import MetricInfo, register


def compute(ctx):
    return [m["sufficiency"] for m in ctx.erasure()]


register(MetricInfo(
    "sufficiency", "confidence drop after removing the least important words", -1, 1, True, label="Suff.",
    compute=compute, default=True, order=40, paper="DeYoung et al. 2020 (ERASER); PCT",
))
