"""Accuracy: share of predictions equal to the gold label (examples with a gold label)."""

from ..base import MetricInfo, register


def summarize(records):
    gold = [r for r in records if r.get("label") is not None]
    return sum(r["predicted"] == r["label"] for r in gold) / len(gold) if gold else None


register(MetricInfo(
    "accuracy", "share of predictions equal to the gold label", 0, 1, False, label="accuracy",
    per="dataset", summarize=summarize, order=10,
))
