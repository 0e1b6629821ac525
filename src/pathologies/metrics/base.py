"""What every metric declares: its name, its range and whether lower is better."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    name: str
    description: str
    low: float
    high: float
    lower_is_better: bool
    #: The name people read (F(X), IR#, AOPC comp., ...).
    label: str = ""
    #: What the metric needs besides the model: "mlm", "index" or "tags".
    needs: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        return self.label or self.name

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "label": self.display,
            "needs": list(self.needs),
            "description": self.description,
            "range": [self.low, self.high],
            "lower_is_better": self.lower_is_better,
        }


INF = float("inf")

METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in [
        MetricInfo("accuracy", "share of predictions equal to the gold label", 0, 1, False, label="accuracy"),
        MetricInfo("fx", "F(X): mean confidence of the predicted class on the original inputs", 0, 1, False, label="F(X)"),
        MetricInfo("comprehensiveness", "confidence drop after removing the most important words", -1, 1, False, label="Comp."),
        MetricInfo("sufficiency", "confidence drop after removing the least important words", -1, 1, True, label="Suff."),
        MetricInfo("aopc_comprehensiveness", "comprehensiveness averaged over the ERASER bins 1/5/10/20/50%", -1, 1, False, label="AOPC comp."),
        MetricInfo("aopc_sufficiency", "sufficiency (keep only the top words) averaged over the ERASER bins", -1, 1, True, label="AOPC suff."),
        MetricInfo("ir", "IR#: words removed, most important first (re-ranked), until the label flips", 0, INF, True, label="IR#"),
        MetricInfo("ur", "UR#: words removed, least important first (re-ranked), until the label flips", 0, INF, False, label="UR#"),
        MetricInfo("i_var", "I-Var: variance of the other words' saliency rank shifts after removing the most important word", 0, INF, True, label="I-Var"),
        MetricInfo("u_var", "U-Var: the same after removing the least important word", 0, INF, True, label="U-Var"),
        MetricInfo("auc_rep", "AUC_rep: target probability as the top words (up to 20%) are replaced by masked-LM samples", 0, 1, True, label="AUC_rep", needs=('mlm',)),
        MetricInfo("iot", "IoT: share of SST positive-tagged words among the top-10 words, correct positive sentences", 0, 1, False, label="IoT", needs=('tags',)),
        MetricInfo("neutral", "mean scaled attribution of SST neutral-tagged words", -1, 1, True, label="neutral-word score", needs=('tags',)),
        MetricInfo("ece", "expected calibration error (15 equal-width confidence bins)", 0, 1, True, label="ECE"),
        MetricInfo("reduced_length", "words left after greedy input reduction ranked by the method", 0, INF, False, label="reduced length"),
        MetricInfo("reduced_confidence", "confidence in the kept label on the reduced inputs", 0, 1, True, label="reduced confidence"),
        MetricInfo("random_confidence", "confidence in that label after random removal to the same length", 0, 1, False, label="random-removal confidence"),
        MetricInfo("credibility", "DkNN credibility (conformal p-value) of the DkNN prediction; needs an index", 0, 1, False, label="DkNN credibility", needs=('index',)),
        MetricInfo("conformity", "share of the DkNN neighbours, all layers, agreeing with the model; needs an index", 0, 1, False, label="DkNN conformity", needs=('index',)),
    ]
}

PER_EXAMPLE = ("comprehensiveness", "sufficiency", "aopc_comprehensiveness", "aopc_sufficiency", "ir", "ur", "i_var", "u_var")
#: Metrics that need more than the model: tags of the data (iot, neutral) or a masked LM (auc_rep).
EXTRA = ("auc_rep", "iot", "neutral")
#: Input reduction (greedy, ranked by the method) and its random baseline: ``reduction`` asks for all three.
REDUCTION = ("reduced_length", "reduced_confidence", "random_confidence")
#: Model-level DkNN figures, given an index (``index``): credibility and conformity.
DKNN = ("credibility", "conformity")
KNOWN = PER_EXAMPLE + EXTRA + REDUCTION + DKNN
