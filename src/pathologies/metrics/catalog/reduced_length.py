"""Reduced length (Feng et al. 2018): words left after greedy input reduction ranked by the method."""

from ..base import INF, MetricInfo, register


def compute(ctx):
    return [len(r.final) for r in ctx.reductions()]


register(MetricInfo(
    "reduced_length", "words left after greedy input reduction ranked by the method", 0, INF, False,
    label="reduced length", compute=compute, group="reduction", order=150, paper="Feng et al. 2018",
))
