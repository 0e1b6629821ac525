"""Expected calibration error (Guo et al. 2017) from per-example confidence and correctness."""

from __future__ import annotations

from typing import Sequence


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], n_bins: int = 15
) -> float:
    """Sum over equal-width confidence bins of (bin share) × |accuracy − mean confidence|."""
    if not confidences:
        return 0.0
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(n_bins)]
    for c, ok in zip(confidences, correct):
        bins[min(n_bins - 1, int(c * n_bins))].append((c, ok))
    total = len(confidences)
    ece = 0.0
    for b in bins:
        if b:
            acc = sum(ok for _, ok in b) / len(b)
            conf = sum(c for c, _ in b) / len(b)
            ece += len(b) / total * abs(acc - conf)
    return ece
