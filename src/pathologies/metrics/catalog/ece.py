"""Expected calibration error, 15 equal-width confidence bins (Guo et al. 2017)."""

from ..base import MetricInfo, register
from ..calibration import expected_calibration_error


def summarize(records):
    gold = [r for r in records if r.get("label") is not None]
    if not gold:
        return None
    return expected_calibration_error([r["confidence"] for r in gold], [r["predicted"] == r["label"] for r in gold])


register(MetricInfo(
    "ece", "expected calibration error (15 equal-width confidence bins)", 0, 1, True, label="ECE",
    per="dataset", summarize=summarize, order=140, paper="Guo et al. 2017",
))
