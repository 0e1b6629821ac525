"""Integrated gradients and SmoothGrad through Captum, on the input embeddings.

Captum does the integration and the noise; this module only builds the embeddings, the
baseline and the forward function, and sums each word's pieces. The attributed output is the
target class probability. The IG baseline keeps special tokens and the fixed segment and
puts the padding embedding at every word of the perturbable segment.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from ..models import Encoded, TorchClassifier
from ..text import Example
from .base import AttributionMethod
from .registry import register


def _forward(model: TorchClassifier, enc: Encoded):
    keys = sorted(enc.extra)

    def forward(embeds: Tensor, attention_mask: Tensor, *extra: Tensor) -> Tensor:
        # Captum repeats these alongside the embeddings when it expands the batch.
        view = Encoded(
            input_ids=enc.input_ids,
            attention_mask=attention_mask,
            word_index=enc.word_index,
            zero_mask=enc.zero_mask,
            n_words=enc.n_words,
            extra=dict(zip(keys, extra)),
        )
        return torch.softmax(model.forward_embeddings(embeds, view), dim=-1)

    return forward, (enc.attention_mask, *(enc.extra[k] for k in keys))


def _word_sums(attr: Tensor, enc: Encoded) -> list[list[float]]:
    per_token = attr.sum(-1).detach().cpu()  # [B, T]
    out = []
    for b, n in enumerate(enc.n_words):
        index = enc.word_index[b]
        keep = index >= 0
        out.append(torch.zeros(n, dtype=per_token.dtype).index_add_(0, index[keep], per_token[b][keep]).tolist())
    return out


def _baseline(model: TorchClassifier, enc: Encoded) -> Tensor:
    pad_id = getattr(getattr(model, "tokenizer", None), "pad_token_id", None) or 0
    ids = enc.input_ids.masked_fill(enc.word_index.to(enc.input_ids.device) >= 0, pad_id)
    view = Encoded(ids, enc.attention_mask, enc.word_index, enc.zero_mask, enc.n_words, enc.extra)
    return model.embed(view).detach()


class CaptumMethod(AttributionMethod):
    """Runs a Captum attribution over batches of examples and sums each word's pieces."""

    batch_size: int = 16

    def _attribute(self, model, enc, embeds: Tensor, forward, extra: tuple, targets: list[int]) -> Tensor:
        raise NotImplementedError

    def scores(self, model, examples: Sequence[Example], targets: Sequence[int], engine=None):
        model.check_targets(targets)
        out: list[list[float]] = []
        for start in range(0, len(examples), self.batch_size):
            batch = list(examples[start : start + self.batch_size])
            enc = model.encode(batch)
            forward, extra = _forward(model, enc)
            embeds = model.embed_with_zeros(enc).detach()
            attr = self._attribute(model, enc, embeds, forward, extra, list(targets[start : start + self.batch_size]))
            out += _word_sums(attr, enc)
        return out


class IntegratedGradientsMethod(CaptumMethod):
    """Captum's IntegratedGradients; ``internal_batch_size`` bounds the rows per forward pass."""

    name = "integrated-gradients"

    def __init__(self, n_steps: int = 50, internal_batch_size: int | None = 256, batch_size: int = 16):
        self.n_steps = n_steps
        self.internal_batch_size = internal_batch_size
        self.batch_size = batch_size

    def rows_spent(self, example: Example) -> int:
        return self.n_steps

    def _attribute(self, model, enc, embeds, forward, extra, targets):
        from captum.attr import IntegratedGradients

        return IntegratedGradients(forward).attribute(
            embeds,
            baselines=_baseline(model, enc),
            target=targets,
            additional_forward_args=extra,
            n_steps=self.n_steps,
            internal_batch_size=self.internal_batch_size,
        )


class SmoothGradMethod(CaptumMethod):
    """Captum's NoiseTunnel (SmoothGrad) over input × gradient, summed over a word's pieces."""

    name = "smoothgrad"

    def __init__(
        self,
        nt_samples: int = 20,
        stdevs: float = 0.01,
        nt_samples_batch_size: int | None = 20,
        batch_size: int = 16,
        seed: int = 0,
    ):
        self.nt_samples = nt_samples
        self.stdevs = stdevs
        self.nt_samples_batch_size = nt_samples_batch_size
        self.batch_size = batch_size
        self.seed = seed

    def scores(self, model, examples, targets, engine=None):
        torch.manual_seed(self.seed)  # the noise is seeded: the same call gives the same scores
        return super().scores(model, examples, targets, engine)

    def rows_spent(self, example: Example) -> int:
        return self.nt_samples

    def _attribute(self, model, enc, embeds, forward, extra, targets):
        from captum.attr import InputXGradient, NoiseTunnel

        return NoiseTunnel(InputXGradient(forward)).attribute(
            embeds,
            nt_type="smoothgrad",
            nt_samples=self.nt_samples,
            nt_samples_batch_size=self.nt_samples_batch_size,
            stdevs=self.stdevs,
            target=targets,
            additional_forward_args=extra,
        )


register("integrated-gradients", lambda **kw: IntegratedGradientsMethod(**kw), description="Captum IntegratedGradients", scale="gradient")
register("smoothgrad", lambda **kw: SmoothGradMethod(**kw), description="Captum NoiseTunnel over input × gradient", scale="gradient")
