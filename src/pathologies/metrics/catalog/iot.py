"""IoT (Kim et al. 2020, §4.4): share of SST positive-tagged words among the top-10 words, correct positive sentences."""

from ..base import MetricInfo, register
from ..plausibility import iot


def compute(ctx):
    n = len(ctx.model.labels)
    out = []
    for ex, sc, r in zip(ctx.examples, ctx.scores, ctx.records):
        correct_positive = n == 2 and ex.label == r["predicted"] == n - 1
        out.append(iot(sc, ex.tags) if ex.tags is not None and correct_positive else None)
    return out


register(MetricInfo(
    "iot", "IoT: share of SST positive-tagged words among the top-10 words, correct positive sentences", 0, 1, False,
    label="IoT", needs=("tags",), compute=compute, order=86, paper="Kim et al. 2020",
))
