"""AOPC sufficiency: keep only the top words, averaged over the ERASER bins."""

from ..base import MetricInfo, register


def compute(ctx):
    return [m["aopc_sufficiency"] for m in ctx.erasure()]


register(MetricInfo(
    "aopc_sufficiency", "sufficiency (keep only the top words) averaged over the ERASER bins", -1, 1, True,
    label="AOPC suff.", compute=compute, default=True, order=60, paper="DeYoung et al. 2020 (ERASER)",
))
