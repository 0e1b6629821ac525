"""DkNN credibility (Papernot & McDaniel 2018): conformal p-value of the DkNN prediction."""

from ..base import MetricInfo, register


def compute(ctx):
    out = ctx.dknn_out
    if out is None or out.p_values is None:
        return [None] * len(ctx.examples)
    return [float(c) for c in out.credibility]


register(MetricInfo(
    "credibility", "DkNN credibility (conformal p-value) of the DkNN prediction; needs an index", 0, 1, False,
    label="DkNN credibility", needs=("index",), compute=compute, group="dknn", order=180,
    paper="Papernot & McDaniel 2018",
))
