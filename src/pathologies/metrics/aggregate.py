"""Data-set figures from per-example metric records alone (no model): offline summaries."""

from __future__ import annotations

from typing import Any, Sequence

from ..text import InputError
from .base import METRICS


def aggregate(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Data-set figures from per-example records, in table order: the per-data-set metrics
    (accuracy, F(X), ECE, ...) from their ``summarize``, the mean of every per-example one."""
    if not records:
        raise InputError("no records to aggregate")
    out: dict[str, float] = {}
    for name, info in METRICS.items():
        if info.per == "dataset":
            value = info.summarize(records)
        else:
            vals = [r[name] for r in records if r.get(name) is not None]
            value = sum(vals) / len(vals) if vals else None
        if value is not None:
            out[name] = value
    return out
