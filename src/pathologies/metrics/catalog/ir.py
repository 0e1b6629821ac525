"""IR#: words removed, most important first (re-ranked after each removal), until the label flips (PCT)."""

from ..base import INF, MetricInfo, register


def compute(ctx):
    return ctx.flips(most_important=True)


register(MetricInfo(
    "ir", "IR#: words removed, most important first (re-ranked), until the label flips", 0, INF, True, label="IR#",
    compute=compute, default=True, order=70, paper="PCT",
))
