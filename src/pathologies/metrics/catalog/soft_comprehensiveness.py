"""Soft normalized comprehensiveness (Soft-NC, Zhao & Aletras 2023): every word's embedding
kept element-wise with probability 1 − its normalized importance; the confidence drop,
normalized by the drop with every word zeroed. See :mod:`pathologies.metrics.soft`."""

from ..base import MetricInfo, register


def compute(ctx):
    from ..soft import soft_erasure  # lazy: torch, only when computing

    rows = ctx.memo("soft-erasure", lambda: soft_erasure(ctx.model, ctx.examples, ctx.scores, ctx.targets))
    return [r["soft_comprehensiveness"] for r in rows]


register(MetricInfo(
    "soft_comprehensiveness", "confidence drop when words are dropped element-wise in proportion to their importance, "
    "normalized by the drop with every word zeroed", 0, float("inf"), False, label="Soft-NC", compute=compute,
    order=210, paper="Zhao & Aletras 2023 (ACL), Incorporating Attribution Importance for Improving Faithfulness Metrics",
))
