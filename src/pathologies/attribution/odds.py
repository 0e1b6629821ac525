"""Weight of evidence: differences of log-odds, with probabilities clamped so they stay finite."""

from __future__ import annotations

import torch
from torch import Tensor

#: Probabilities are clamped to [EPS, 1 - EPS] before taking log-odds, so a probability of
#: exactly 0 or 1 gives a large but finite weight of evidence (about ±20 bits).
EPS = 1e-6


def log2_odds(p: Tensor | float) -> Tensor:
    """log2(p / (1 - p)) with p clamped to [EPS, 1 - EPS]."""
    p = torch.as_tensor(p, dtype=torch.float64).clamp(EPS, 1 - EPS)
    return torch.log2(p) - torch.log2(1 - p)


def weight_of_evidence(p_full: Tensor | float, p_without: Tensor | float) -> Tensor:
    """log2 odds(y|x) - log2 odds(y|x without the word) (Robnik-Šikonja & Kononenko 2008)."""
    return log2_odds(p_full) - log2_odds(p_without)
