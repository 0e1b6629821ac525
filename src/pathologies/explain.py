"""``explain``: attributions for one example or a whole data set, batched across examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from .attribution import Attribution, AttributionMethod, get_method
from .engine import ScoringEngine
from .models import TorchClassifier
from .text import Example, as_examples


def explain(
    model: TorchClassifier,
    examples: Example | str | Iterable[Example | str] | Any,
    method: str | AttributionMethod = "gradient",
    *,
    target: int | str | None = None,
    engine: ScoringEngine | None = None,
    **settings,
) -> list[Attribution]:
    """Attribute the model's prediction (or ``target``) to the words of each example.

    ``examples``: a text, an Example, a data set, or many texts / Examples. Target class =
    the predicted class unless ``target`` names one. Inputs longer than the model's limit
    are truncated first, with a warning. All examples share the engine's batches.
    """
    examples = [model.fit_to_limit(ex) for ex in as_examples(examples)]
    if isinstance(method, str):
        method = get_method(method, **settings)
    engine = engine or ScoringEngine(model)
    targets = None if target is None else [model.label_index(target)] * len(examples)
    res = method.run(model, examples, targets, engine)
    return [
        Attribution(
            words=list(ex.words),
            scores=res.scores[i],
            target=res.targets[i],
            probs=[float(x) for x in res.probs[i]],
            method=method.name,
            settings=method.settings(),
            fixed=list(ex.fixed) if ex.fixed is not None else None,
            fixed_first=ex.fixed_first,
            label=ex.label,
            uid=ex.uid,
            labels=list(model.labels),
            bounds=res.bounds[i] if res.bounds else None,
            errors=res.errors[i] if res.errors else None,
            rows=res.rows[i] if res.rows else None,
        )
        for i, ex in enumerate(examples)
    ]


def explain_to_file(
    model: TorchClassifier,
    examples: Sequence[Example],
    out: str | Path,
    method: str = "gradient",
    *,
    target: int | str | None = None,
    chunk: int = 64,
    show_progress: bool = True,
    model_source: str | None = None,
    data_spec: str | None = None,
    method_settings: dict[str, Any] | None = None,
    mlm=None,
    index=None,
) -> list[Attribution]:
    """Explain a data set into a run folder ``out``, ``chunk`` examples at a time.

    A rerun resumes where it stopped (same records as an uninterrupted run) and refuses a
    folder made with another model, method, settings or data. Returns every attribution.
    """
    from .audit import AuditSpec, audit

    spec = AuditSpec(
        methods=[method], metrics=[], reduce=None, chunk=chunk, curves=False, show=0, target=target,
        method_settings={method: dict(method_settings)} if method_settings else {},
    )
    run = audit(model, examples, out, spec=spec, model_source=model_source, data_spec=data_spec,
                mlm=mlm, index=index, show_progress=show_progress)
    return run.attributions(method)
