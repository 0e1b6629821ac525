"""Audits as first-class results: a run folder with provenance that every view renders.

``audit(model, data, out, spec=AuditSpec(...))`` computes attributions, per-example metrics,
reductions and figure data chunk by chunk into a folder (manifest + records + summary);
``Run.load(folder)`` reads it back without the model.
"""

from .folder import RunFolder, RunMismatch
from .imported import ImportedScores
from .run import Run, audit, fit_examples, summarize_run
from .spec import AuditSpec

__all__ = ["AuditSpec", "ImportedScores", "Run", "RunFolder", "RunMismatch", "audit", "fit_examples", "summarize_run"]
