"""DkNN conformity (Wallace et al. 2018): share of the nearest neighbours, all layers, agreeing with the model."""

from ..base import MetricInfo, register


def compute(ctx):
    out = ctx.dknn_out
    return [None] * len(ctx.examples) if out is None else [float(c) for c in out.conformity]


register(MetricInfo(
    "conformity", "share of the DkNN neighbours, all layers, agreeing with the model; needs an index", 0, 1, False,
    label="DkNN conformity", needs=("index",), compute=compute, group="dknn", order=190, paper="Wallace et al. 2018",
))
