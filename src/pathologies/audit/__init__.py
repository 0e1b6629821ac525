"""Audits as first-class results: a run folder with provenance that every view renders.

``audit(model, data, out, spec=AuditSpec(...))`` computes attributions, per-example metrics,
reductions and figure data chunk by chunk into a folder (manifest + records + summary);
``Run.load(folder)`` reads it back without the model (and without importing torch).
"""

from .folder import RunFolder, RunMismatch
from .loaded import QARun, Run, summarize_run

_LAZY = {
    "AuditSpec": "spec", "ImportedScores": "imported", "audit": "run", "fit_examples": "run", "check": "checking",
    "check_spec": "checking", "explain_to_file": "explain", "audit_sources": "sources", "run_qa": "qa",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib  # lazy: computing needs torch; Run.load does not

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AuditSpec", "ImportedScores", "QARun", "Run", "RunFolder", "RunMismatch", "audit", "audit_sources", "check", "check_spec",
    "explain_to_file", "fit_examples", "run_qa", "summarize_run",
]
