"""Confidence in the kept label after random removal to the reduced length (the reduction's baseline)."""

from ..base import MetricInfo, register


def compute(ctx):
    return [r.random_baseline["confidence"] for r in ctx.reductions()]


register(MetricInfo(
    "random_confidence", "confidence in that label after random removal to the same length", 0, 1, False,
    label="random-removal confidence", compute=compute, group="reduction", order=170,
))
