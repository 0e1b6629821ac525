"""One chunk of an audit: every record for a group of examples, through one scoring engine.

A chunk is computed the same way whether the run is fresh, resumed or spread over workers:
a fresh engine per chunk (the cache is shared by the chunk's methods, metrics, reduction and
figures), the same examples in the same order. So a resumed run, or a chunk computed on
another worker with the same software, gives the same numbers as an uninterrupted run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ..attribution import AttributionMethod
from ..engine import ScoringEngine
from ..metrics import METRICS, metric_records
from ..metrics.figures import removal_curves, representation_projection
from ..models import TorchClassifier
from ..records import Attribution
from ..reduction import InputReducer
from ..text import Example
from ..trust import trust_card
from .imported import ImportedScores
from .spec import AuditSpec, reranked


@dataclass
class AuditPlan:
    """The spec with its method objects and loaded resources (a masked LM, a DkNN index)."""

    spec: AuditSpec
    methods: dict[str, AttributionMethod]
    reducer_method: AttributionMethod | None = None
    mlm: Any = None
    dknn: Any = None
    #: How a worker elsewhere rebuilds this plan: the model's folder or hub name, the
    #: device, the masked LM and index paths (None where given as objects only).
    sources: dict[str, Any] = field(default_factory=dict)


#: The key order of an attribution record in a run folder.
ATTRIBUTION_KEYS = (
    "uid", "method", "words", "scores", "target", "probs", "label", "fixed", "fixed_first", "labels", "settings",
    "errors", "bounds", "rows",
)


def attribution_record(att: Attribution, index: int) -> dict[str, Any]:
    """An attribution as a run record: its position in the data, then its fields."""
    d = att.to_dict()
    return {"index": index, **{k: d[k] for k in ATTRIBUTION_KEYS}}


def audit_chunk(
    model: TorchClassifier, examples: Sequence[Example], positions: Sequence[int], plan: AuditPlan
) -> dict[str, list[dict[str, Any]]]:
    """All records of one chunk: attributions, per-example metrics, reductions, figure data."""
    spec = plan.spec
    engine = ScoringEngine(model)
    examples = list(examples)
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in ("attributions", "metrics", "reductions", "curves", "projections", "trust")}
    fixed_targets = None if spec.target is None else [model.label_index(spec.target)] * len(examples)
    results = {}
    for name, method in plan.methods.items():
        res = method.run(model, examples, fixed_targets, engine)
        results[name] = res
        atts = res.attributions(examples, method.name, method.settings(), model.labels)
        out["attributions"] += [attribution_record(a, pos) for a, pos in zip(atts, positions)]
    reductions = None
    if plan.reducer_method is not None:
        reducer = InputReducer(
            model, importance=plan.reducer_method, beam=spec.beam, k=spec.beam, engine=engine, random_seed=spec.seed
        )
        reductions = reducer.reduce(examples)
        credibility = None
        if plan.dknn is not None and getattr(plan.dknn, "calibration_", None) is not None:
            reduced = [ex.with_words(r.final) for ex, r in zip(examples, reductions)]
            credibility = plan.dknn.predict(model, reduced, engine).credibility
        for i, (r, pos) in enumerate(zip(reductions, positions)):
            rec = {"index": pos, **r.to_dict()}
            if credibility is not None:
                rec["final_credibility"] = float(credibility[i])
            out["reductions"].append(rec)
    dknn_out = None
    if plan.dknn is not None and (spec.trust or any("index" in METRICS[m].needs for m in spec.metrics)):
        dknn_out = plan.dknn.predict(model, examples, engine)
    if spec.metrics:
        for name, method in plan.methods.items():
            imported = isinstance(method, ImportedScores)
            same = (
                reductions is not None and spec.beam == 1 and plan.reducer_method is method
            )  # the run's greedy reduction is this method's: reuse it
            rows = metric_records(
                model, examples, method, results[name], spec.metrics, engine,
                share=spec.share, mlm=plan.mlm, dknn_out=dknn_out,
                reductions=reductions if same else None, reranks=not imported,
            )
            for r, pos in zip(rows, positions):
                r["index"] = pos
                if imported:
                    r["not_computed"] = reranked(spec.metrics)
            out["metrics"] += rows
    if plan.methods and (spec.curves or spec.show):
        first = next(iter(plan.methods))
        res = results[first]
        if spec.curves:
            curves = removal_curves(examples, res.scores, res.targets, engine)
            out["curves"] = [
                {"index": pos, "uid": ex.uid, "method": first, **c} for ex, pos, c in zip(examples, positions, curves)
            ]
        for i, (ex, pos) in enumerate(zip(examples, positions)):
            if pos < spec.show and len(ex.words) > 1:
                proj = representation_projection(engine, ex, res.scores[i])
                out["projections"].append({"index": pos, "uid": ex.uid, "method": first, "words": len(ex.words), **proj})
    if spec.trust:
        out["trust"] = trust_records(out, examples, positions, reductions, dknn_out)
    return out


def trust_records(out, examples, positions, reductions, dknn_out) -> list[dict[str, Any]]:
    """A trust card per example from the chunk's own records (no model call)."""
    by_pos: dict[int, dict[str, Any]] = {}
    for r in out["attributions"]:
        by_pos.setdefault(r["index"], {})[r["method"]] = Attribution.from_dict(r)
    faith: dict[int, dict[str, Any]] = {}
    for r in out["metrics"]:
        faith.setdefault(r["index"], {})[r["method"]] = {k: r[k] for k in ("comprehensiveness", "sufficiency") if k in r}
    dknn_rows = dknn_out.records() if dknn_out is not None else [None] * len(examples)
    cards = []
    for i, pos in enumerate(positions):
        card = trust_card(by_pos[pos], faith.get(pos), reductions[i] if reductions else None, dknn_rows[i])
        cards.append({"index": pos, **card.to_dict()})
    return cards
