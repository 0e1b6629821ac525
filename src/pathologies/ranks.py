"""Rank statistics, pure and hand-checkable: average ranks, Spearman's rho, Kendall's tau-b."""

from __future__ import annotations

import math
from itertools import combinations
from typing import Sequence


def ranking(scores: Sequence[float]) -> list[int]:
    """Word indices from most to least important (ties: earlier word first): the one order
    every metric, view and trust signal ranks words by."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


def average_ranks(values: Sequence[float]) -> list[float]:
    """Ranks 1..n, ties sharing their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for m in range(i, j + 1):
            ranks[order[m]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Spearman's rho (Pearson correlation of average ranks); None when undefined (n < 2 or a
    constant input)."""
    if len(a) != len(b):
        raise ValueError("spearman: sequences of different lengths")
    if len(a) < 2:
        return None
    ra, rb = average_ranks(a), average_ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra)
    vb = sum((y - mb) ** 2 for y in rb)
    if va == 0 or vb == 0:
        return None
    return cov / math.sqrt(va * vb)


def kendall_tau_b(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Kendall's tau-b (ties corrected); None when undefined."""
    if len(a) != len(b):
        raise ValueError("kendall: sequences of different lengths")
    concordant = discordant = ties_a = ties_b = 0
    for i, j in combinations(range(len(a)), 2):
        da, db = a[i] - a[j], b[i] - b[j]
        if da == 0 and db == 0:
            continue
        if da == 0:
            ties_a += 1
        elif db == 0:
            ties_b += 1
        elif (da > 0) == (db > 0):
            concordant += 1
        else:
            discordant += 1
    denom = math.sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b))
    if denom == 0:
        return None
    return (concordant - discordant) / denom


def auroc(positive: Sequence[float], negative: Sequence[float]) -> float | None:
    """P(a positive scores above a negative), ties counting half (Mann–Whitney U from average
    ranks); None if a side is empty."""
    if not positive or not negative:
        return None
    ranks = average_ranks(list(positive) + list(negative))
    n = len(positive)
    return (sum(ranks[:n]) - n * (n + 1) / 2) / (n * len(negative))
