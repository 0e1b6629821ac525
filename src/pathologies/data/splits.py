"""Seeded splits for data sets without an official one."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def shuffled(items: Sequence[T], seed: int) -> list[T]:
    """A seeded shuffle (the same seed always gives the same order)."""
    out = list(items)
    random.Random(seed).shuffle(out)
    return out


def holdout(items: Sequence[T], fraction: float, seed: int) -> tuple[list[T], list[T]]:
    """Seeded shuffle, then ``(rest, held_out)`` with ``len(rest) = int(n * (1 - fraction))``."""
    order = shuffled(items, seed)
    n_rest = int(len(order) * (1 - fraction) + 1e-9)
    return order[:n_rest], order[n_rest:]


def stratified(labels: Sequence[int], fractions: Sequence[float], seed: int) -> list[list[int]]:
    """Indices of ``labels`` split per class by ``fractions`` (seeded), each part in index order.

    Every part but the last gets ``round(class_size * fraction)`` of each class; the last
    part takes the rest.
    """
    rng = random.Random(seed)
    parts: list[list[int]] = [[] for _ in fractions]
    for cls in sorted(set(labels)):
        idx = [i for i, y in enumerate(labels) if y == cls]
        rng.shuffle(idx)
        start = 0
        for p, frac in enumerate(fractions):
            end = len(idx) if p == len(fractions) - 1 else start + round(len(idx) * frac)
            parts[p].extend(idx[start:end])
            start = end
    return [sorted(part) for part in parts]
