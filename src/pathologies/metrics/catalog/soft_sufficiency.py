"""Soft normalized sufficiency (Soft-NS, Zhao & Aletras 2023): every word's embedding kept
element-wise with probability equal to its normalized importance; sufficiency 1 − max(0,
p − p'), normalized against the input with every word zeroed (higher: the important words
suffice). See :mod:`pathologies.metrics.soft`."""

from ..base import MetricInfo, register


def compute(ctx):
    from ..soft import soft_erasure  # lazy: torch, only when computing

    rows = ctx.memo("soft-erasure", lambda: soft_erasure(ctx.model, ctx.examples, ctx.scores, ctx.targets))
    return [r["soft_sufficiency"] for r in rows]


register(MetricInfo(
    "soft_sufficiency", "sufficiency when words are kept element-wise in proportion to their importance, "
    "normalized against every word zeroed", float("-inf"), 1, False, label="Soft-NS", compute=compute,
    order=211, paper="Zhao & Aletras 2023 (ACL), Incorporating Attribution Importance for Improving Faithfulness Metrics",
))
