"""Metrics of models and attribution methods on whole data sets.

:data:`METRICS` is the registry (one file per metric in :mod:`pathologies.metrics.catalog`,
registered on import); it loads without torch, as does offline aggregation. The
per-example computations load on first use.
"""

from . import catalog  # noqa: F401  (registers the built-in metrics)
from .aggregate import aggregate
from .base import METRICS, MetricContext, MetricInfo, check_needs, defaults, expand_metrics, groups, known, register
from .calibration import expected_calibration_error

#: The names as they are after the built-in metrics registered (use ``known()`` etc. to see
#: metrics registered later).
PER_EXAMPLE = tuple(defaults())
KNOWN = tuple(known())
REDUCTION = tuple(groups()["reduction"])
DKNN = tuple(groups()["dknn"])

_LAZY = {
    "evaluate_examples": "evaluate",
    "metric_records": "evaluate",
    "ERASER_BINS": "removal",
    "n_for_share": "removal",
    "rank_shift_variance": "removal",
    "ranking": "removal",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib  # lazy: the per-example computations import torch

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DKNN",
    "ERASER_BINS",
    "KNOWN",
    "METRICS",
    "MetricContext",
    "MetricInfo",
    "PER_EXAMPLE",
    "REDUCTION",
    "aggregate",
    "check_needs",
    "defaults",
    "evaluate_examples",
    "expand_metrics",
    "expected_calibration_error",
    "groups",
    "known",
    "metric_records",
    "n_for_share",
    "rank_shift_variance",
    "ranking",
    "register",
]
