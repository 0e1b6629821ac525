"""UR#: words removed, least important first (re-ranked after each removal), until the label flips (PCT)."""

from ..base import INF, MetricInfo, register


def compute(ctx):
    return ctx.flips(most_important=False)


register(MetricInfo(
    "ur", "UR#: words removed, least important first (re-ranked), until the label flips", 0, INF, False, label="UR#",
    compute=compute, default=True, order=80, paper="PCT",
))
