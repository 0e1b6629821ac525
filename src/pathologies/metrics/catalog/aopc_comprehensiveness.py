"""AOPC comprehensiveness: comprehensiveness averaged over the ERASER bins 1/5/10/20/50%."""

from ..base import MetricInfo, register


def compute(ctx):
    return [m["aopc_comprehensiveness"] for m in ctx.erasure()]


register(MetricInfo(
    "aopc_comprehensiveness", "comprehensiveness averaged over the ERASER bins 1/5/10/20/50%", -1, 1, False,
    label="AOPC comp.", compute=compute, default=True, order=50, paper="DeYoung et al. 2020 (ERASER)",
))
