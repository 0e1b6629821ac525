"""AUC_rep (Kim et al. 2020): top words (up to 20%) replaced by masked-LM samples; area under p(y)."""

from ..base import MetricInfo, register


def compute(ctx):
    from ..replacement import auc_rep  # lazy: torch, only when computing

    return auc_rep(ctx.examples, ctx.scores, ctx.targets, ctx.mlm, ctx.engine)


register(MetricInfo(
    "auc_rep", "AUC_rep: target probability as the top words (up to 20%) are replaced by masked-LM samples",
    0, 1, True, label="AUC_rep", needs=("mlm",), compute=compute, order=82, paper="Kim et al. 2020",
))
