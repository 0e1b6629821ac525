"""Leave-one-out by deletion (Feng et al. 2018, eq. 1): each word removed from the input.

``difference``: p(y|x) - p(y|x without word i); ``log-odds``: the same as a weight of
evidence, log2 odds(y|x) - log2 odds(y|x without word i).
"""

from __future__ import annotations

from torch import Tensor

from ..text import Example, InputError
from .base import PerturbationMethod
from .registry import register
from .odds import weight_of_evidence

SCORES = ("difference", "log-odds")


class LeaveOneOut(PerturbationMethod):
    """Deletion of one word at a time; the fixed segment of a pair is never touched."""

    def __init__(self, score: str = "difference"):
        if score not in SCORES:
            raise InputError(f"leave-one-out score must be one of {', '.join(SCORES)}, not {score!r}")
        self.score_kind = score

    @property
    def name(self) -> str:  # type: ignore[override]
        return "loo" if self.score_kind == "difference" else "loo-log-odds"

    def variants(self, example: Example) -> list[Example]:
        return [example.without([i]) for i in range(len(example.words))]

    def score(self, p_full: float, p_variant: Tensor) -> Tensor:
        if self.score_kind == "difference":
            return p_full - p_variant
        return weight_of_evidence(p_full, p_variant).float()


register("loo", lambda **kw: LeaveOneOut(score="difference", **kw), description="leave-one-out by deletion", scale="probability")
register("loo-log-odds", lambda **kw: LeaveOneOut(score="log-odds", **kw), description="leave-one-out, weight of evidence", scale="evidence")
