"""Erasure by replacement (Li et al. 2016 style): each word replaced by [PAD], [UNK] or a zero
embedding, keeping the input's length. Score = p(y|x) - p(y|x with word i replaced)."""

from __future__ import annotations

from torch import Tensor

from ..models import PAD_WORD, UNK_WORD, ZERO_WORD
from ..text import Example, InputError
from .base import PerturbationMethod
from .registry import register

BASELINES = {"pad": PAD_WORD, "unk": UNK_WORD, "zero": ZERO_WORD}


class Erasure(PerturbationMethod):
    """Replace one word at a time by a baseline token; a word's pieces become one token."""

    def __init__(self, baseline: str = "unk"):
        if baseline not in BASELINES:
            raise InputError(f"erasure baseline must be one of {', '.join(BASELINES)}, not {baseline!r}")
        self.baseline = baseline

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"erasure-{self.baseline}"

    def variants(self, example: Example) -> list[Example]:
        token = BASELINES[self.baseline]
        words = list(example.words)
        return [example.with_words(words[:i] + [token] + words[i + 1 :]) for i in range(len(words))]

    def score(self, p_full: float, p_variant: Tensor) -> Tensor:
        return p_full - p_variant


register("erasure-pad", lambda **kw: Erasure(baseline="pad", **kw), description="word replaced by [PAD]", scale="probability")
register("erasure-unk", lambda **kw: Erasure(baseline="unk", **kw), description="word replaced by [UNK]", scale="probability")
register("erasure-zero", lambda **kw: Erasure(baseline="zero", **kw), description="word embedding set to zero", scale="probability")
