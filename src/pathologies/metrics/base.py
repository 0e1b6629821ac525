"""The metric registry: what every metric declares, and how it is computed.

A metric is one file in :mod:`pathologies.metrics.catalog` that calls :func:`register` with
a :class:`MetricInfo`: its name, the label people read (F(X), IR#, ...), its range and
direction, what it needs besides the model (a masked LM, a DkNN index, word tags), whether
it is per example or per data set, and its function. The audit, the command line, the
report and the trust check read this registry; nothing else lists metrics.

This module and the catalog load without torch (``Run.load`` and ``report`` read labels and
directions from here); a metric's function imports what it computes with when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..text import InputError

if TYPE_CHECKING:  # pragma: no cover
    from ..attribution import AttributionMethod, MethodResult
    from ..engine import ScoringEngine
    from ..models import TorchClassifier
    from ..text import Example

INF = float("inf")

#: What a metric may need besides the model, and how a user gives it.
NEEDS = {
    "mlm": "a masked LM: --mlm DIR",
    "index": "a DkNN index: --index DIR (pathologies dknn fit)",
    "tags": "word-level tags in the data (SST)",
}


@dataclass
class MetricContext:
    """Everything a per-example metric may read for one method on a group of examples.

    The shared computations (erasure variants, removals until the label flips, rank
    variances, reductions) are computed once per context and shared by the metrics that
    read them, through the engine's cache.
    """

    model: "TorchClassifier"
    examples: Sequence["Example"]
    method: "AttributionMethod"
    result: "MethodResult"
    engine: "ScoringEngine"
    #: The base record of each example: predicted, target, confidence, label, words.
    records: list[dict[str, Any]]
    share: float = 0.10
    bins: Sequence[float] = (0.01, 0.05, 0.10, 0.20, 0.50)
    mlm: Any = None
    dknn_out: Any = None
    #: Greedy reductions ranked by this method, when the caller has them already.
    given_reductions: Sequence[Any] | None = None
    _memo: dict[str, Any] = field(default_factory=dict)

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per context; later calls with ``key`` get the same value."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    @property
    def scores(self) -> list[list[float]]:
        return self.result.scores

    @property
    def targets(self) -> list[int]:
        return self.result.targets

    def erasure(self) -> list[dict[str, float]]:
        """Comprehensiveness, sufficiency and their AOPC for every example (one engine call)."""
        from .removal import erasure_metrics  # lazy: torch, only when computing

        return self.memo("erasure", lambda: erasure_metrics(
            self.examples, self.scores, self.targets, self.engine, share=self.share, bins=self.bins))

    def flips(self, most_important: bool) -> list[int]:
        """Words removed (most or least important first, re-ranked) until the label flips."""
        from .removal import removals_until_flip  # lazy: torch, only when computing

        return self.memo(f"flips-{most_important}", lambda: removals_until_flip(
            self.model, self.examples, self.targets, self.method, self.engine, most_important=most_important))

    def rank_variances(self) -> list[dict[str, float]]:
        """I-Var and U-Var of every example."""
        from .removal import rank_variances  # lazy: torch, only when computing

        return self.memo("rank_variances", lambda: rank_variances(
            self.model, self.examples, self.scores, self.targets, self.method, self.engine))

    def reductions(self) -> list[Any]:
        """Greedy input reductions ranked by the method (the caller's, when given)."""
        if self.given_reductions is not None:
            return list(self.given_reductions)
        from ..reduction import InputReducer  # lazy: torch, only when computing

        return self.memo("reductions", lambda: InputReducer(
            self.model, importance=self.method, engine=self.engine).reduce(self.examples))


@dataclass(frozen=True)
class MetricInfo:
    """A metric: its metadata and its function.

    ``compute`` (per-example metrics): ``compute(ctx) -> [value or None per example]``, None
    where the metric does not apply. ``summarize`` (per-data-set metrics): ``summarize(records)
    -> value or None`` over the per-example records (predicted, label, confidence, ...).
    """

    name: str
    description: str
    low: float
    high: float
    lower_is_better: bool
    #: The name people read (F(X), IR#, AOPC comp., ...).
    label: str = ""
    #: What the metric needs besides the model: keys of :data:`NEEDS`.
    needs: tuple[str, ...] = ()
    #: ``example`` (one value per example, averaged over the data set) or ``dataset``.
    per: str = "example"
    compute: Callable[[MetricContext], Sequence[float | None]] | None = field(default=None, compare=False, repr=False)
    summarize: Callable[[Sequence[dict[str, Any]]], float | None] | None = field(default=None, compare=False, repr=False)
    #: Computed when no metrics are named (``AuditSpec``'s and ``audit --metrics``'s default).
    default: bool = False
    #: A name that asks for this metric together with others (``reduction``, ``dknn``).
    group: str | None = None
    #: Needs a method that can score a changed input (imported scores cannot).
    reranks: bool = False
    #: Position in tables (lower first); new metrics go after the built-in ones.
    order: int = 1000
    #: Where the metric comes from.
    paper: str = ""

    @property
    def display(self) -> str:
        return self.label or self.name

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "label": self.display,
            "needs": list(self.needs),
            "description": self.description,
            "range": [self.low, self.high],
            "lower_is_better": self.lower_is_better,
        }


#: Every registered metric by name, in table order.
METRICS: dict[str, MetricInfo] = {}


def register(info: MetricInfo) -> MetricInfo:
    """Add a metric to the registry (a name registered twice is an error)."""
    if info.name in METRICS or info.name in groups():
        raise ValueError(f"metric {info.name!r} is registered already")
    if info.per not in ("example", "dataset"):
        raise ValueError(f"{info.name}: per must be 'example' or 'dataset', not {info.per!r}")
    if (info.per == "example") != (info.compute is not None) or (info.per == "dataset") != (info.summarize is not None):
        raise ValueError(f"{info.name}: a per-example metric gives compute, a per-data-set metric summarize")
    unknown = [n for n in info.needs if n not in NEEDS]
    if unknown:
        raise ValueError(f"{info.name}: unknown needs {unknown}; known: {', '.join(NEEDS)}")
    items = sorted([*METRICS.values(), info], key=lambda m: m.order)
    METRICS.clear()
    METRICS.update((m.name, m) for m in items)
    return info


def known() -> list[str]:
    """Names of the per-example metrics (those an audit can be asked for), in table order."""
    return [m.name for m in METRICS.values() if m.per == "example"]


def defaults() -> list[str]:
    """The metrics computed when none are named."""
    return [m.name for m in METRICS.values() if m.default]


def groups() -> dict[str, list[str]]:
    """Group names (``reduction``, ``dknn``) and the metrics each stands for."""
    out: dict[str, list[str]] = {}
    for m in METRICS.values():
        if m.group:
            out.setdefault(m.group, []).append(m.name)
    return out


def expand_metrics(metrics: Sequence[str]) -> list[str]:
    """Check the names; a group name stands for its metrics."""
    grouped = groups()
    out: list[str] = []
    for m in metrics:
        out += grouped.get(m, [m])
    names = known()
    unknown = [m for m in out if m not in names]
    if unknown:
        raise InputError(f"unknown metric(s) {', '.join(unknown)}; known: {', '.join(names)}, {', '.join(grouped)}")
    return out


def check_needs(metrics: Sequence[str], *, mlm: bool, index: bool) -> None:
    """A clear error when a metric needs a resource that was not given (tags are the data's)."""
    given = {"mlm": mlm, "index": index, "tags": True}
    for m in metrics:
        missing = [n for n in METRICS[m].needs if not given[n]]
        if missing:
            raise InputError(f"{m} needs {NEEDS[missing[0]]}")
