"""Metrics of models and attribution methods on whole data sets."""

from .base import METRICS, MetricInfo
from .calibration import expected_calibration_error
from .evaluate import DKNN, KNOWN, PER_EXAMPLE, REDUCTION, aggregate, evaluate_examples, expand_metrics, metric_records
from .removal import ERASER_BINS, n_for_share, rank_shift_variance, ranking

__all__ = [
    "ERASER_BINS",
    "METRICS",
    "MetricInfo",
    "PER_EXAMPLE",
    "aggregate",
    "evaluate_examples",
    "expand_metrics",
    "metric_records",
    "DKNN",
    "KNOWN",
    "REDUCTION",
    "expected_calibration_error",
    "n_for_share",
    "rank_shift_variance",
    "ranking",
]
