"""The records of question-answering analyses: plain dataclasses that serialize to JSON.

No torch, no model. In Jupyter they display through the HTML views that
:mod:`pathologies.cli_qa` registers (``import pathologies.cli_qa``). Spans are context words ``[start, end]`` (inclusive; ``[-1, -1]`` the
null answer) with their characters ``[start, end)`` in the original context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ..records import JsonRecord, ReductionStep
from ..text import InputError

#: What the methods explain (recorded in every attribution).
TARGET = "span"


@dataclass
class QAAttribution(JsonRecord):
    """One score per question word, for the predicted answer span."""

    uid: str
    words: list[str]
    scores: list[float]
    method: str
    span: list[int]
    span_chars: list[int]
    answer: str
    probability: float
    #: What the scores explain: ``span probability`` (perturbation methods: p(span|x) with
    #: the word vs without it; integrated gradients of p(span)) or ``span log-probability``
    #: (gradients of log p_start + log p_end).
    target: str
    settings: dict[str, Any] = field(default_factory=dict)
    context: str = ""
    gold: list[str] = field(default_factory=list)
    is_impossible: bool = False
    rows: int | None = None



@dataclass
class QAReduction(JsonRecord):
    """A question reduced while the predicted span stays exactly the same (Feng et al. 2018, §4)."""

    uid: str
    original: list[str]
    final: list[str]
    span: list[int]
    span_chars: list[int]
    answer: str
    original_confidence: float  # p(span | question), the span's probability
    final_confidence: float
    path: list[ReductionStep]
    all_minimal: list[list[str]]
    model_calls: int
    importance: str
    beam: int
    k: int
    context: str = ""
    gold: list[str] = field(default_factory=list)
    is_impossible: bool = False
    random_baseline: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "QAReduction":
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        d["path"] = [ReductionStep(**s) for s in d["path"]]
        return cls(**d)


def summarize_qa(records: Sequence[QAReduction | dict]) -> dict[str, Any]:
    """Data-set summary of question reductions: lengths, share reduced to 1 or 2 words,
    span confidence on original and reduced questions, the random baseline of the same
    length, and SQuAD exact match / F1 of the predicted answers (the same on reduced
    questions, since the span is kept)."""
    from ..data.squad import exact_match, f1_score

    rs = [r if isinstance(r, QAReduction) else QAReduction.from_dict(r) for r in records]
    if not rs:
        raise InputError("no reductions to summarize")
    n = len(rs)
    red = [len(r.final) for r in rs]
    hist: dict[int, int] = {}
    for x in red:
        hist[x] = hist.get(x, 0) + 1
    out: dict[str, Any] = {
        "examples": n,
        "mean_original_length": sum(len(r.original) for r in rs) / n,
        "mean_reduced_length": sum(red) / n,
        "reduced_length_histogram": dict(sorted(hist.items())),
        "share_reduced_to_1": sum(x == 1 for x in red) / n,
        "share_reduced_to_2_or_less": sum(x <= 2 for x in red) / n,
        "mean_confidence_original": sum(r.original_confidence for r in rs) / n,
        "mean_confidence_reduced": sum(r.final_confidence for r in rs) / n,
        "mean_model_calls": sum(r.model_calls for r in rs) / n,
        "exact_match": sum(exact_match(r.answer, r.gold) for r in rs) / n,
        "f1": sum(f1_score(r.answer, r.gold) for r in rs) / n,
    }
    rand = [r.random_baseline for r in rs if r.random_baseline]
    if rand:
        out["random_mean_confidence"] = sum(b["confidence"] for b in rand) / len(rand)
        out["random_share_span_kept"] = sum(b["kept_span"] for b in rand) / len(rand)
    return out
