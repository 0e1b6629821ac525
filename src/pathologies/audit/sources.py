"""Audit a model folder (or hub name) on a data set named by a spec: load, check, run.

The library call behind ``pathologies audit``, ``report MODEL --data`` and ``compare``:
every name and setting is checked before the data is read, the data before the model
loads, and the model before the run folder is made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..data import check_limit, load_data, match_labels
from ..models import load_classifier, resolve_device
from ..text import InputError
from .loaded import Run
from .ray_executor import executor_from_options
from .run import audit
from .spec import AuditSpec


def audit_sources(
    model: str, data: str, out: str | Path | None, *, spec: AuditSpec, limit: int | str | None = None,
    mlm: str | None = None, index: str | Path | None = None, device: str = "auto", data_dir: str | Path | None = None,
    encoding: str = "utf-8", executor: str = "local", address: str | None = None, workers: int = 2,
    gpus_per_worker: float = 0, threads_per_worker: int = 1, trust_remote_code: bool = False,
    show_progress: bool = True, say: Callable[[str], None] = lambda line: None,
) -> Run:
    """Audit the model at ``model`` (a folder or hub name) on ``data`` (``NAME:SPLIT`` or a file).

    ``executor``: ``local`` (chunks one after another here) or ``ray`` (chunks spread over
    ``workers`` Ray actors, see :class:`pathologies.audit.ray_executor.RayExecutor`).
    ``say``: receives one-line notes on how the run is made (executor, device).
    """
    spec.validate(mlm=mlm is not None, index=index is not None)  # before loading anything
    run_on = executor_from_options(
        executor, address=address, workers=workers, gpus_per_worker=gpus_per_worker, threads_per_worker=threads_per_worker
    )
    if run_on is not None:  # the driver's model (fitting, provenance) sits on the workers' device
        if device not in ("auto", run_on.device):
            raise InputError(
                f"--device {device} with --executor ray: Ray workers run on {run_on.device} "
                f"({'--gpus-per-worker ' + format(gpus_per_worker, 'g') if gpus_per_worker else 'no --gpus-per-worker'})"
            )
        device = run_on.device
        say(f"executor: Ray, {workers} worker(s) × {threads_per_worker} thread(s), "
            f"{gpus_per_worker:g} GPU(s) each, at {address or 'a local Ray started for this run'}")
    limit = check_limit(limit, "--limit")
    dataset = load_data(data, limit=limit, data_dir=data_dir, encoding=encoding)  # before the model
    clf = load_classifier(model, device=resolve_device(device), trust_remote_code=trust_remote_code)
    examples = match_labels(dataset, clf).examples  # the data's labels onto the model's, by name or index
    return audit(
        clf, examples, out, spec=spec, model_source=model, data_spec=data + (f" (limit {limit})" if limit else ""),
        mlm=mlm, index=str(index) if index else None, show_progress=show_progress, executor=run_on,
        on_start=(lambda: say(f"device: {clf.device}")) if out is not None else None,  # said once all is checked
    )
