"""Input gradient (Feng et al. 2018, sec. 2.1): embedding · gradient, summed over a word's pieces.

Variants: ``signed`` (embedding · gradient, the first-order effect of the word on the target
logit), ``abs`` (its absolute value) and ``l2`` (the L2 norm of the gradient over the word's
pieces, AllenNLP's "simple gradient" magnitude).
"""

from __future__ import annotations

from typing import Sequence

import torch

from ..models import TokenGradients, TorchClassifier
from ..text import Example, InputError
from .base import AttributionMethod

VARIANTS = ("signed", "abs", "l2")


def word_scores(tg: TokenGradients, variant: str) -> list[float]:
    """Aggregate token gradients into one score per word (special tokens dropped)."""
    keep = tg.word_index >= 0
    index = tg.word_index[keep]
    if variant == "l2":
        sq = (tg.gradients[keep] ** 2).sum(-1)
        out = torch.zeros(tg.n_words).index_add_(0, index, sq).sqrt()
    else:
        dot = (tg.embeddings[keep] * tg.gradients[keep]).sum(-1)
        out = torch.zeros(tg.n_words).index_add_(0, index, dot)
        if variant == "abs":
            out = out.abs()
    return out.tolist()


class InputGradient(AttributionMethod):
    """Gradient of the target logit with respect to the input embeddings."""

    def __init__(self, variant: str = "signed", batch_size: int = 64):
        if variant not in VARIANTS:
            raise InputError(f"gradient variant must be one of {', '.join(VARIANTS)}, not {variant!r}")
        self.variant = variant
        self.batch_size = batch_size

    @property
    def name(self) -> str:  # type: ignore[override]
        return "gradient" if self.variant == "signed" else f"gradient-{self.variant}"

    def scores(
        self, model: TorchClassifier, examples: Sequence[Example], targets: Sequence[int], engine=None
    ) -> list[list[float]]:
        out: list[list[float]] = []
        for start in range(0, len(examples), self.batch_size):
            batch = examples[start : start + self.batch_size]
            grads = model.embedding_gradients(batch, targets[start : start + self.batch_size])
            out += [word_scores(g, self.variant) for g in grads]
        return out
