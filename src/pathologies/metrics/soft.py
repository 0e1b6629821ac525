"""Soft erasure (Zhao & Aletras 2023, "Incorporating Attribution Importance for Improving
Faithfulness Metrics", ACL): instead of deleting the top-k words, every word's input
embedding is kept element by element with a probability given by its importance.

For one example with target y and scores s, the importance of word i is the min-max
normalized score q_i = (s_i − min s) / (max s − min s) (0.5 for every word when all scores are
equal). A perturbed input x' multiplies each embedding element of word i's pieces by an
independent Bernoulli draw: kept with probability q_i (sufficiency: the important words
stay) or 1 − q_i (comprehensiveness: the important words go). Special tokens and the fixed
segment of a pair are kept. With p = p(y|x), p' = p(y|x') averaged over ``SAMPLES`` seeded
draws, and p₀ = p(y|every word's embedding zeroed):

- Soft-S(x, x') = 1 − max(0, p − p'),  S(x, 0) = 1 − max(0, p − p₀)
- **Soft-NS** = (Soft-S(x, x'_suff) − S(x, 0)) / (1 − S(x, 0))   (higher: more sufficient)
- **Soft-NC** = max(0, p − p'_comp) / (1 − S(x, 0))             (higher: more comprehensive)

Both are undefined (None) when zeroing every word does not lower p (1 − S(x, 0) = 0). The
draws are seeded per example (``text.example_seed``), so a value never depends on the batch.
"""

from __future__ import annotations

from typing import Sequence

import torch

from ..text import Example, example_seed

#: Bernoulli draws averaged per example and direction.
SAMPLES = 10


def importance(scores: Sequence[float]) -> list[float]:
    """Min-max normalized scores in [0, 1] (0.5 each when they are all equal)."""
    lo, hi = min(scores), max(scores)
    if hi == lo:
        return [0.5] * len(scores)
    return [(s - lo) / (hi - lo) for s in scores]


def _target_probs(model, embeds: torch.Tensor, enc, targets: Sequence[int]) -> torch.Tensor:
    logits = model.forward_embeddings(embeds, enc)
    probs = torch.softmax(logits.float(), dim=-1)
    return probs[torch.arange(len(targets)), torch.tensor(list(targets), device=probs.device)].cpu()


def soft_erasure(
    model, examples: Sequence[Example], scores: Sequence[Sequence[float]], targets: Sequence[int],
    *, samples: int = SAMPLES, seed: int = 0,
) -> list[dict[str, float | None]]:
    """Soft-NC and Soft-NS of every example (``soft_comprehensiveness``, ``soft_sufficiency``)."""
    out: list[dict[str, float | None]] = []
    if not examples:
        return out
    with torch.inference_mode():
        enc = model.encode(list(examples))
        embeds = model.embed_with_zeros(enc)
        B, T, D = embeds.shape
        word = enc.word_index.to(embeds.device)
        is_word = word >= 0
        q = torch.zeros(B, T, device=embeds.device)
        for b, sc in enumerate(scores):
            imp = torch.tensor(importance(list(sc)) if len(sc) else [], device=embeds.device, dtype=torch.float32)
            if len(sc):
                q[b] = torch.where(is_word[b], imp[word[b].clamp(min=0)], q[b])
        p = _target_probs(model, embeds, enc, targets)
        p0 = _target_probs(model, embeds * (~is_word).unsqueeze(-1).to(embeds.dtype), enc, targets)
        gens = [torch.Generator().manual_seed(example_seed(seed, ex, "soft-erasure") % (2**63)) for ex in examples]
        acc = {"suff": torch.zeros(B), "comp": torch.zeros(B)}
        for _ in range(samples):
            u = torch.stack([torch.rand(T, D, generator=g) for g in gens]).to(embeds.device)
            for name, keep in (("suff", q), ("comp", 1.0 - q)):
                keep = torch.where(is_word, keep, torch.ones_like(keep))
                mask = (u < keep.unsqueeze(-1)).to(embeds.dtype)
                acc[name] += _target_probs(model, embeds * mask, enc, targets)
    for b in range(B):
        pb, p0b = float(p[b]), float(p0[b])
        s0 = 1.0 - max(0.0, pb - p0b)
        denom = 1.0 - s0
        ps, pc = float(acc["suff"][b]) / samples, float(acc["comp"][b]) / samples
        if denom <= 0:
            out.append({"soft_comprehensiveness": None, "soft_sufficiency": None})
            continue
        out.append({
            "soft_comprehensiveness": max(0.0, pb - pc) / denom,
            "soft_sufficiency": ((1.0 - max(0.0, pb - ps)) - s0) / denom,
        })
    return out
