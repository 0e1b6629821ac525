"""``explain_to_file``: explain a data set into a run folder (an audit of one method)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..recommended import recommended_method
from ..models import TorchClassifier
from ..records import Attribution
from ..text import Example
from .run import audit
from .spec import AuditSpec


def explain_to_file(
    model: TorchClassifier,
    examples: Sequence[Example],
    out: str | Path,
    method: str | None = None,
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
    method = method or recommended_method(getattr(model, "family", None))
    spec = AuditSpec(
        methods=[method], metrics=[], reduce=None, chunk=chunk, curves=False, show=0, target=target,
        method_settings={method: dict(method_settings)} if method_settings else {},
    )
    run = audit(model, examples, out, spec=spec, model_source=model_source, data_spec=data_spec,
                mlm=mlm, index=index, show_progress=show_progress)
    return run.attributions(method)
