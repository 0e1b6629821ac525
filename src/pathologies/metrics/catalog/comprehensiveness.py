"""Comprehensiveness: p(y|x) - p(y|x without the top 10% words) (DeYoung et al. 2020; the PCT paper's share)."""

from ..base import MetricInfo, register


def compute(ctx):
    return [m["comprehensiveness"] for m in ctx.erasure()]


register(MetricInfo(
    "comprehensiveness", "confidence drop after removing the most important words", -1, 1, False, label="Comp.",
    compute=compute, default=True, order=30, paper="DeYoung et al. 2020 (ERASER)",
))
