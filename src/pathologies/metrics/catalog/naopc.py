"""Normalized AOPC (Edin et al. 2025): the AOPC of the method's removal order between the
worst and the best order a beam search finds for that example. See :mod:`pathologies.metrics.naopc`."""

from ..base import MetricInfo, register


def compute(ctx):
    from ..naopc import naopc  # lazy: torch, only when computing

    rows = ctx.memo("naopc", lambda: naopc(ctx.examples, ctx.scores, ctx.targets, ctx.engine))
    return [r["naopc"] for r in rows]


register(MetricInfo(
    "naopc", "AOPC (all words removed one by one, in the method's order) normalized between the worst and best "
    "orders found by beam search (width 5)", 0, 1, False, label="NAOPC", compute=compute, order=212,
    paper="Edin et al. 2025 (ACL), Normalized AOPC: Fixing Misleading Faithfulness Metrics for Feature Attribution Explainability",
))
