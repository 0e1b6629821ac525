"""F(X): mean confidence of the predicted class on the original inputs (PCT paper, Table 1)."""

from ..base import MetricInfo, register


def summarize(records):
    return sum(r["confidence"] for r in records) / len(records) if records else None


register(MetricInfo(
    "fx", "F(X): mean confidence of the predicted class on the original inputs", 0, 1, False, label="F(X)",
    per="dataset", summarize=summarize, order=20,
))
