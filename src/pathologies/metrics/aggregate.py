"""Data-set figures from per-example metric records alone (no model): offline summaries."""

from __future__ import annotations

from typing import Any, Sequence

from ..text import InputError
from .base import KNOWN, METRICS
from .calibration import expected_calibration_error


def aggregate(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Data-set figures from per-example records: means, accuracy, F(X) and ECE."""
    if not records:
        raise InputError("no records to aggregate")
    out: dict[str, float] = {}
    gold = [r for r in records if r.get("label") is not None]
    if gold:
        out["accuracy"] = sum(r["predicted"] == r["label"] for r in gold) / len(gold)
        out["ece"] = expected_calibration_error(
            [r["confidence"] for r in gold], [r["predicted"] == r["label"] for r in gold]
        )
    out["fx"] = sum(r["confidence"] for r in records) / len(records)
    for name in KNOWN:
        vals = [r[name] for r in records if r.get(name) is not None]
        if vals:
            out[name] = sum(vals) / len(vals)
    return {k: out[k] for k in METRICS if k in out}
