"""The result records every view reads: attributions, reductions, trust cards.

Plain dataclasses at the bottom of the package (no torch, no model): they serialize to
JSON and load back. They display in notebooks through the HTML renderers that the view
layer registers here (:func:`register_html`, done by ``pathologies.report.views`` when it
is imported, which ``import pathologies`` does inside IPython); records import no view.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Sequence

from .text import InputError

#: HTML renderers by record class name, registered by the view layer.
_HTML: dict[str, Callable[[Any], str]] = {}


def register_html(kind: str, render: Callable[[Any], str]) -> None:
    """Make ``render(record) -> str`` the HTML display of records of class ``kind``."""
    _HTML[kind] = render


def label_name(labels: Sequence[str] | None, index: int | None, missing: str | None = None) -> str | None:
    """The one index -> class-name lookup: the name when the labels have it, else the index
    as text; ``missing`` when there is no index."""
    if index is None:
        return missing
    return labels[index] if labels and 0 <= index < len(labels) else str(index)


class Displayable:
    """A record that displays in Jupyter through the renderer registered for its class."""

    def _repr_html_(self) -> str | None:
        render = _HTML.get(type(self).__name__)
        return render(self) if render is not None else None  # None: IPython shows the text repr


class JsonRecord(Displayable):
    """A dataclass record that serializes to JSON and loads back (unknown keys ignored)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]):
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass
class Attribution(JsonRecord):
    """One score per word of the perturbable segment, for one target class."""

    words: list[str]
    scores: list[float]
    target: int
    probs: list[float]
    method: str
    settings: dict[str, Any] = field(default_factory=dict)
    fixed: list[str] | None = None
    fixed_first: bool = True
    label: int | None = None
    uid: str | None = None
    labels: list[str] | None = None
    #: For methods that bound their error: the interval each score is known to lie in.
    bounds: list[list[float]] | None = None
    #: For methods that estimate by sampling: each score's standard error.
    errors: list[float] | None = None
    #: Model rows (forward passes of one input, or input+backward for gradients) spent.
    rows: int | None = None

    @property
    def predicted(self) -> int:
        return max(range(len(self.probs)), key=self.probs.__getitem__)



@dataclass
class ReductionStep:
    """One state of the path: its words, confidence in the kept label, importance scores,
    and the word removed next (None at the end)."""

    words: list[str]
    confidence: float
    scores: list[float]
    removed: str | None = None
    removed_index: int | None = None


@dataclass
class Reduction(Displayable):
    """The result of reducing one example."""

    uid: str | None
    original: list[str]
    final: list[str]
    predicted: int
    original_confidence: float
    final_confidence: float
    path: list[ReductionStep]
    all_minimal: list[list[str]]
    model_calls: int
    importance: str
    beam: int
    k: int
    fixed: list[str] | None = None
    fixed_first: bool = True
    label: int | None = None
    labels: list[str] | None = None
    random_baseline: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Reduction":
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        d["path"] = [ReductionStep(**s) for s in d["path"]]
        return cls(**d)


@dataclass
class Signal:
    """One piece of evidence: its number, a plain sentence, and what to do about it."""

    name: str
    value: float | None
    sentence: str
    status: str = "info"
    advice: str | None = None
    #: This signal's share of the trust score, in [0, 1]; None when it does not enter it.
    component: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrustCard(Displayable):
    """Everything the trust check says about one prediction."""

    words: list[str]
    predicted: int
    confidence: float
    verdict: str
    score: float
    reasons: list[str]
    signals: list[Signal]
    methods: list[str]
    primary: str | None = None
    heatmap: list[float] | None = None
    labels: list[str] | None = None
    label: int | None = None
    uid: str | None = None
    fixed: list[str] | None = None
    fixed_first: bool = True

    @property
    def predicted_label(self) -> str:
        return label_name(self.labels, self.predicted)

    @property
    def correct(self) -> bool | None:
        return None if self.label is None else self.label == self.predicted

    def signal(self, name: str) -> Signal | None:
        return next((s for s in self.signals if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TrustCard":
        known = cls.__dataclass_fields__
        d = {k: v for k, v in d.items() if k in known}
        d["signals"] = [s if isinstance(s, Signal) else Signal(**s) for s in d.get("signals", [])]
        return cls(**d)



def summarize(records: Sequence[Reduction | dict]) -> dict[str, Any]:
    """Data-set summary of reductions: lengths, share reduced to 1 or 2 words, confidence,
    accuracy on original and reduced inputs, and the random baseline at the same lengths."""
    rs = [r if isinstance(r, Reduction) else Reduction.from_dict(r) for r in records]
    if not rs:
        raise InputError("no reductions to summarize")
    n = len(rs)
    orig = [len(r.original) for r in rs]
    red = [len(r.final) for r in rs]
    with_gold = [r for r in rs if r.label is not None]
    hist: dict[int, int] = {}
    for x in red:
        hist[x] = hist.get(x, 0) + 1
    rand = [r.random_baseline for r in rs if r.random_baseline]
    out = {
        "examples": n,
        "mean_original_length": sum(orig) / n,
        "mean_reduced_length": sum(red) / n,
        "reduced_length_histogram": dict(sorted(hist.items())),
        "share_reduced_to_1": sum(x == 1 for x in red) / n,
        "share_reduced_to_2_or_less": sum(x <= 2 for x in red) / n,
        "mean_confidence_original": sum(r.original_confidence for r in rs) / n,
        "mean_confidence_reduced": sum(r.final_confidence for r in rs) / n,
        "mean_model_calls": sum(r.model_calls for r in rs) / n,
    }
    if with_gold:
        acc = sum(r.predicted == r.label for r in with_gold) / len(with_gold)
        # The prediction is kept along every path, so accuracy on reduced inputs is the same.
        out["accuracy_original"] = acc
        out["accuracy_reduced"] = acc
    if rand:
        out["random_mean_confidence"] = sum(b["confidence"] for b in rand) / len(rand)
        out["random_share_prediction_kept"] = sum(b["kept_prediction"] for b in rand) / len(rand)
    return out
