"""``explain``: attributions for one example or a whole data set, batched across examples."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Iterable, Sequence

from .attribution import Attribution, AttributionMethod, get_method
from .engine import ScoringEngine
from .models import TorchClassifier
from .progress import progress_bar
from .runs import JsonlRun
from .text import Example, InputError


def as_examples(examples: Example | str | Iterable[Example]) -> list[Example]:
    """One example, a text, or many examples as a list; every example gets a uid."""
    if isinstance(examples, str):
        examples = [Example.from_text(examples)]
    elif isinstance(examples, Example):
        examples = [examples]
    out = [ex if ex.uid is not None else replace(ex, uid=f"#{i}") for i, ex in enumerate(examples)]
    if not out:
        raise InputError("no examples to explain")
    for ex in out:
        if not ex.words:
            raise InputError(f"example {ex.uid} has no words to explain")
    return out


def explain(
    model: TorchClassifier,
    examples: Example | str | Iterable[Example],
    method: str | AttributionMethod = "gradient",
    *,
    target: int | str | None = None,
    engine: ScoringEngine | None = None,
    **settings,
) -> list[Attribution]:
    """Attribute the model's prediction (or ``target``) to the words of each example.

    Target class = the predicted class unless ``target`` names one. Inputs longer than the
    model's limit are truncated first, with a warning. All examples share the engine's batches.
    """
    examples = [model.fit_to_limit(ex) for ex in as_examples(examples)]
    if isinstance(method, str):
        method = get_method(method, **settings)
    engine = engine or ScoringEngine(model)
    targets = None if target is None else [model.label_index(target)] * len(examples)
    scores, probs, targets = method.attribute(model, examples, targets, engine)
    return [
        Attribution(
            words=list(ex.words),
            scores=[float(s) for s in sc],
            target=t,
            probs=p.tolist(),
            method=method.name,
            settings=method.settings(),
            fixed=list(ex.fixed) if ex.fixed is not None else None,
            fixed_first=ex.fixed_first,
            label=ex.label,
            uid=ex.uid,
            labels=list(model.labels),
            bounds=_bounds(method, ex),
            errors=_errors(method, ex),
        )
        for ex, sc, t, p in zip(examples, scores, targets, probs)
    ]


def _bounds(method: AttributionMethod, example: Example) -> list[list[float]] | None:
    get = getattr(method, "score_bounds", None)
    found = get(example) if get is not None else None
    return [list(b) for b in found] if found is not None else None


def _errors(method: AttributionMethod, example: Example) -> list[float] | None:
    get = getattr(method, "score_errors", None)
    found = get(example) if get is not None else None
    return list(found) if found is not None else None


def explain_to_file(
    model: TorchClassifier,
    examples: Sequence[Example],
    out: str | Path,
    method: str | AttributionMethod = "gradient",
    *,
    target: int | str | None = None,
    chunk: int = 64,
    engine: ScoringEngine | None = None,
    show_progress: bool = True,
    **settings,
) -> list[dict]:
    """Explain a data set into a JSON-lines file, ``chunk`` examples at a time.

    Examples already in the file (by uid) are skipped, so an interrupted run resumes; the
    records are the same as those of an uninterrupted run.
    Returns every record in the file.
    """
    run = JsonlRun(out)
    chunks = run.pending_chunks(as_examples(examples), chunk)
    if isinstance(method, str):
        method = get_method(method, **settings)
    engine = engine or ScoringEngine(model)
    with progress_bar(f"explain ({method.name})", sum(map(len, chunks)), show_progress) as advance:
        for part in chunks:
            records = explain(model, part, method, target=target, engine=engine)
            run.append(r.to_dict() for r in records)
            advance(len(part))
    return run.records
