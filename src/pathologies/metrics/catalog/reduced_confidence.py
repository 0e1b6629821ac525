"""Confidence in the kept label on the reduced inputs (Feng et al. 2018)."""

from ..base import MetricInfo, register


def compute(ctx):
    return [r.final_confidence for r in ctx.reductions()]


register(MetricInfo(
    "reduced_confidence", "confidence in the kept label on the reduced inputs", 0, 1, True,
    label="reduced confidence", compute=compute, group="reduction", order=160, paper="Feng et al. 2018",
))
