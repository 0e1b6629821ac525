"""Input gradient (Feng et al. 2018, sec. 2.1): embedding · gradient, summed over a word's pieces.

Variants: ``signed`` (embedding · gradient, the first-order effect of the word on the target
logit), ``abs`` (its absolute value) and ``l2`` (the L2 norm of the gradient over the word's
pieces, AllenNLP's "simple gradient" magnitude).
"""

from __future__ import annotations

from typing import Sequence

import torch

from ..engine import token_batches
from ..models import TokenGradients, TorchClassifier
from ..text import Example, InputError
from .base import AttributionMethod
from .registry import register

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

    fuses_prediction = True

    def __init__(self, variant: str = "signed", batch_tokens: int = 4096, max_batch: int = 64):
        if variant not in VARIANTS:
            raise InputError(f"gradient variant must be one of {', '.join(VARIANTS)}, not {variant!r}")
        self.variant = variant
        self.batch_tokens = batch_tokens
        self.max_batch = max_batch

    @property
    def name(self) -> str:  # type: ignore[override]
        return "gradient" if self.variant == "signed" else f"gradient-{self.variant}"

    def scores(
        self, model: TorchClassifier, examples: Sequence[Example], targets: Sequence[int], engine=None
    ) -> list[list[float]]:
        model.check_targets(targets)
        return [word_scores(g, self.variant) for g in self._gradients(model, examples, targets)]

    def attribute(self, model, examples, targets, engine):
        """One forward+backward pass gives the prediction, the probabilities and the scores."""
        grads = self._gradients(model, examples, targets)
        probs = torch.stack([g.probs for g in grads]) if grads else torch.empty(0, model.n_labels)
        return [word_scores(g, self.variant) for g in grads], probs, [g.target for g in grads]

    def _gradients(self, model, examples, targets) -> list[TokenGradients]:
        """Token gradients in length-sorted batches (little padding), in the input order."""
        out: list = [None] * len(examples)
        lengths = [model.n_tokens(ex) for ex in examples]
        for batch in token_batches(lengths, self.batch_tokens, self.max_batch):
            sub = None if targets is None else [targets[i] for i in batch]
            for i, g in zip(batch, model.embedding_gradients([examples[i] for i in batch], sub)):
                out[i] = g
        return out


register("gradient", lambda **kw: InputGradient(variant="signed", **kw), description="embedding · gradient, summed over pieces", scale="gradient")
register("gradient-abs", lambda **kw: InputGradient(variant="abs", **kw), description="|embedding · gradient|", scale="magnitude")
register("gradient-l2", lambda **kw: InputGradient(variant="l2", **kw), description="L2 norm of the gradient", scale="magnitude")
