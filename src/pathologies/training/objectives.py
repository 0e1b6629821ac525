"""Training objectives that fix pathologies: entropy regularization on reduced examples
(Feng et al. 2018, eq. 2) and Pathological Contrastive Training (PCT, eqs. 6–7).

Both plug into :func:`pathologies.training.loop.fit` as an extra loss added to the
cross-entropy. With λ = 0 or α = 0 they compute nothing at all (no forward pass, no random
numbers drawn), so training is exactly the plain objective.
"""

from __future__ import annotations

import math
import random
from typing import Sequence

import torch
from torch import Tensor

from ..attribution.gradient import word_scores
from ..models import TorchClassifier
from ..reduction import InputReducer, reduce_to_file
from ..text import Example, InputError, as_examples

#: PCT defaults per model family (the paper's settings): (alpha, tau).
PCT_DEFAULTS = {"textcnn": (0.1, 0.7), "bilstm": (0.1, 0.7), "hf": (0.15, 0.15)}


def entropy(logits: Tensor) -> Tensor:
    """Mean entropy (nats) of the output distributions of a batch."""
    logp = torch.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum(-1).mean()


class EntropyRegularizer:
    """loss += -λ · H(p(·|x̃)) on a batch of reduced examples x̃, alternating with each regular batch."""

    def __init__(self, reduced: Sequence[Example], lam: float = 1e-3, batch_size: int = 32, seed: int = 13):
        if lam and not reduced:
            raise InputError("entropy regularization needs reduced examples")
        self.reduced = list(reduced)
        self.lam = lam
        self.batch_size = batch_size
        self._rng = random.Random(seed)
        self._queue: list[Example] = []

    def _next_batch(self) -> list[Example]:
        if len(self._queue) < self.batch_size:
            more = list(self.reduced)
            self._rng.shuffle(more)
            self._queue += more
        batch, self._queue = self._queue[: self.batch_size], self._queue[self.batch_size :]
        return batch

    def __call__(self, model: TorchClassifier, batch: list[Example], logits: Tensor) -> Tensor | None:
        if not self.lam:
            return None
        reduced = self._next_batch()
        enc = model.encode(reduced)
        return -self.lam * entropy(model.forward_embeddings(model.embed_with_zeros(enc), enc))


def multi_positive_nt_xent(anchor: Tensor, positives: Tensor, negatives: Tensor, tau: float) -> Tensor:
    """Multi-positive NT-Xent for one anchor (PCT eq. 6).

    ``-1/|P| Σ_p log( exp(s(a,p)/τ) / Σ_{c ∈ P ∪ N} exp(s(a,c)/τ) )`` with cosine similarity s.
    """
    cands = torch.cat([positives, negatives], dim=0)
    sims = torch.nn.functional.cosine_similarity(anchor[None, :], cands, dim=-1) / tau
    log_denominator = torch.logsumexp(sims, dim=0)
    return -(sims[: positives.shape[0]] - log_denominator).mean()


def removal_sets(example: Example, saliency: Sequence[float], share: float) -> tuple[list[Example], list[Example]]:
    """PCT's sets by cumulative removal of the top / bottom ``share`` of words by saliency.

    Positives: the original and the original with 1..n least salient words removed;
    negatives: the original with 1..n most salient words removed (n = ceil(share · L)).
    """
    L = len(example.words)
    n = min(L - 1, max(1, math.ceil(share * L))) if L > 1 else 0
    order = sorted(range(L), key=lambda i: -saliency[i])
    positives = [example] + [example.without(order[L - k :]) for k in range(1, n + 1)]
    negatives = [example.without(order[:k]) for k in range(1, n + 1)]
    return positives, negatives


class PCTLoss:
    """loss += α · mean over the batch of the multi-positive NT-Xent of each sentence."""

    def __init__(self, alpha: float, tau: float, share: float = 0.10):
        if tau <= 0:
            raise InputError("the PCT temperature tau must be positive")
        self.alpha = alpha
        self.tau = tau
        self.share = share

    def __call__(self, model: TorchClassifier, batch: list[Example], logits: Tensor) -> Tensor | None:
        if not self.alpha:
            return None
        # Gradient saliency of the gold class, without dropout, not part of the loss graph.
        model.module.eval()
        grads = model.embedding_gradients(batch, [ex.label for ex in batch])
        model.module.train()
        anchors, spans, variants = [], [], []
        for ex, g in zip(batch, grads):
            pos, neg = removal_sets(ex, word_scores(g, "abs"), self.share)
            if not neg:
                continue  # a one-word sentence has nothing to contrast
            anchors.append(len(variants))
            variants += pos + neg
            spans.append((len(pos), len(neg)))
        if not anchors:
            return None
        enc = model.encode(variants)
        _, reps = model.hidden(model.embed_with_zeros(enc), enc)
        z = reps.sentence
        losses = []
        for start, (n_pos, n_neg) in zip(anchors, spans):
            anchor = z[start]
            positives = z[start + 1 : start + n_pos]
            negatives = z[start + n_pos : start + n_pos + n_neg]
            if positives.shape[0] == 0:
                positives = z[start : start + 1]  # only the original itself
            losses.append(multi_positive_nt_xent(anchor, positives, negatives, self.tau))
        return self.alpha * torch.stack(losses).mean()


def reduced_training_examples(
    model: TorchClassifier,
    train: Sequence[Example],
    *,
    cache: str | None = None,
    beam: int = 5,
    random_removal: bool = False,
    seed: int = 13,
    show_progress: bool = True,
) -> list[Example]:
    """Every minimum-length reduced version of every training example (beam search, Feng et al.).

    ``random_removal``: instead, as many versions of the same lengths with words removed at
    random (the baseline). ``cache``: a JSON-lines file of the reductions; a rerun resumes.
    Each reduced example keeps the uid of the training example it came from.
    """
    import zlib

    train = as_examples(train)
    settings = dict(beam=beam, k=beam, show_progress=show_progress) if cache else {}
    if cache:
        records = reduce_to_file(model, train, cache, **settings)
    else:
        records = [r.to_dict() for r in InputReducer(model, beam=beam, k=beam).reduce(train)]
    by_uid = {ex.uid: ex for ex in train}
    out = []
    for r in records:
        ex = by_uid.get(r["uid"])
        if ex is None:
            continue  # a cache written for other data: only this training set is used
        versions = r["all_minimal"]
        if random_removal:
            rng = random.Random(zlib.crc32(f"{seed}:{r['uid']}".encode()))
            versions = [
                [ex.words[i] for i in sorted(rng.sample(range(len(ex.words)), len(v)))] for v in versions
            ]
        out += [ex.with_words(v) for v in versions]
    return out
