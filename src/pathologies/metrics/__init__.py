"""Metrics of models and attribution methods on whole data sets.

What needs no model (metric metadata, offline aggregation) loads without torch; the
per-example computations load on first use.
"""

from .aggregate import aggregate
from .base import DKNN, EXTRA, KNOWN, METRICS, PER_EXAMPLE, REDUCTION, MetricInfo
from .calibration import expected_calibration_error

_LAZY = {
    "evaluate_examples": "evaluate",
    "expand_metrics": "evaluate",
    "metric_records": "evaluate",
    "check_needs": "evaluate",
    "ERASER_BINS": "removal",
    "n_for_share": "removal",
    "rank_shift_variance": "removal",
    "ranking": "removal",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DKNN",
    "ERASER_BINS",
    "EXTRA",
    "KNOWN",
    "METRICS",
    "MetricInfo",
    "PER_EXAMPLE",
    "REDUCTION",
    "aggregate",
    "check_needs",
    "evaluate_examples",
    "expand_metrics",
    "expected_calibration_error",
    "metric_records",
    "n_for_share",
    "rank_shift_variance",
    "ranking",
]
