"""``check``: trust cards for examples, computed by the audit with its trust step.

One pipeline: the cards of ``pathologies check TEXT`` are those ``audit --trust`` stores in a
run folder, computed the same way (each method's attributions, comprehensiveness and
sufficiency of every heatmap, a beam-search reduction, the DkNN answer with an index).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..recommended import card_methods
from ..records import TrustCard
from ..text import InputError, as_examples
from .run import audit
from .spec import AuditSpec

def check_spec(
    methods: Sequence[str] | None = None, *, beam: int | None = 5, mlm: bool = False, index: bool = False,
    chunk: int = 32, share: float = 0.10, family: str | None = None,
) -> AuditSpec:
    """The audit settings of a trust check.

    ``methods``: the first is the heatmap the card judges and the ranking of the reduction
    test; default :func:`pathologies.recommended.card_methods` for the model ``family`` (the
    method the planted-shortcut results recommend, then gradient / LOO / integrated gradients).
    ``mlm`` adds ``marginalization-adaptive`` (with standard errors) and ``index`` adds
    ``conformity`` unless a method of that family is there already; ``beam`` (None or 0:
    none) is the width of the reduction test.
    """
    names = list(dict.fromkeys(card_methods(family) if methods is None else methods))
    if not names:
        raise InputError("check needs at least one attribution method, e.g. --methods gradient,loo")
    if beam is not None and beam < 0:
        raise InputError("--beam must be 0 (skip the reduction test) or more")
    if index and not any(m.startswith("conformity") for m in names):
        names.append("conformity")
    if mlm and not any(m.startswith("marginalization") for m in names):
        names.append("marginalization-adaptive")
    return AuditSpec(
        methods=names, metrics=["comprehensiveness", "sufficiency"], reduce=f"beam:{beam}" if beam else None,
        reduce_by=names[0], trust=True, curves=False, show=0, chunk=chunk, share=share,
    )


def check(
    model,
    examples: Any,
    *,
    methods: Sequence[str] | None = None,
    beam: int | None = 5,
    mlm=None,
    index=None,
    out: str | Path | None = None,
    model_source: str | None = None,
    data_spec: str | None = None,
    chunk: int = 32,
    share: float = 0.10,
    show_progress: bool = False,
) -> list[TrustCard]:
    """Trust cards for ``examples`` (a text, an Example, a data set or many of them).

    Runs :func:`pathologies.audit.audit` with :func:`check_spec` (in memory, or into the run
    folder ``out``, which resumes) and returns its cards. ``mlm`` / ``index``: a masked LM and
    a DkNN index (folders or loaded).
    """
    spec = check_spec(methods, beam=beam, mlm=mlm is not None, index=index is not None, chunk=chunk, share=share,
                      family=getattr(model, "family", None))
    examples = as_examples(examples, what="check")
    run = audit(model, examples, out, spec=spec, model_source=model_source, data_spec=data_spec, mlm=mlm,
                index=index, show_progress=show_progress)
    return run.trust_cards()
