"""``audit``: compute a run (methods, metrics, reduction, figure data) into a run folder;
``Run``: a finished or partial run loaded from its folder, for every view.

The run is computed chunk by chunk (``spec.chunk`` examples through one engine) and each
chunk is committed as it finishes, so a stopped run resumes where it stopped and the records
are those of an uninterrupted run. Resuming refuses a folder made under another model, data
or settings.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

from ..attribution import method_by_name
from ..data.labels import resolve_target
from ..dknn import DkNN
from ..models import DroppedWordsWarning, TorchClassifier
from ..models.mlm import load_mlm
from ..progress import progress_bar
from ..text import SEED_RULE, Example, as_examples
from ..trust import thresholds as trust_thresholds
from .compute import AuditPlan, audit_chunk
from .folder import KINDS, RunFolder
from .imported import ImportedScores
from .loaded import Run, corpus_tables, summarize_run
from .manifest import (
    FORMAT_VERSION, MODEL_FILE_SUFFIXES, data_identity, environment, executor_identity, model_identity, now,
    resource_identity,
)
from .spec import AuditSpec


def fit_examples(model: TorchClassifier, examples: Sequence[Example]) -> tuple[list[Example], dict[str, Any]]:
    """Fit every example to the model: words that become no token dropped, inputs cut to the
    model's input limit; one warning line of each kind for the whole data set.

    Returns the fitted examples and what was changed: how many inputs were cut (the limit,
    and per input its uid and words kept) and which inputs lost words with no pieces.
    """
    fitted, cut, dropped = [], [], []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for ex in examples:
            before = len(caught)
            f = model.fit_to_limit(ex)
            mine = caught[before:]
            lost = [w for w in mine if issubclass(w.category, DroppedWordsWarning)]
            if lost:
                dropped.append({"uid": ex.uid, "message": str(lost[0].message)})
            if len(mine) > len(lost):  # the input was cut to the limit
                cut.append({"uid": ex.uid, "words": len(ex.words), "kept": len(f.words)})
            fitted.append(f)
    info = {
        "truncated": len(cut), "of": len(examples), "max_tokens": getattr(model, "max_tokens", None), "inputs": cut,
        "pieceless_dropped": len(dropped), "pieceless_inputs": dropped,
    }
    if cut:
        warnings.warn(
            f"{len(cut)} of {len(examples)} inputs cut to the model's limit of {info['max_tokens']} tokens; "
            f"first: uid {cut[0]['uid']} ({cut[0]['words']} words, {cut[0]['kept']} kept); details in the run's manifest",
            stacklevel=2,
        )
    if dropped:
        warnings.warn(
            f"{len(dropped)} of {len(examples)} inputs lost words the model turns into no token; "
            f"first: uid {dropped[0]['uid']}: {dropped[0]['message']}",
            stacklevel=2,
        )
    return fitted, info


def build_plan(spec: AuditSpec, mlm=None, index=None) -> AuditPlan:
    """Method objects and shared resources (each loaded once) for a validated spec."""
    if isinstance(mlm, (str, Path)):
        mlm = load_mlm(str(mlm))
    if isinstance(index, (str, Path)):
        index = DkNN.load(index)
    methods = {}
    for name in spec.methods:
        if name in spec.imports:
            methods[name] = ImportedScores(spec.imports[name], name)
        else:
            methods[name] = method_by_name(name, mlm=mlm, index=index, **spec.method_settings.get(name, {}))
    reducer = None
    if spec.reduce is not None:
        name = spec.reduction_method
        reducer = methods.get(name) or method_by_name(name, mlm=mlm, index=index)
    return AuditPlan(spec=spec, methods=methods, reducer_method=reducer, mlm=mlm, dknn=index)


def build_manifest(
    spec: AuditSpec, model: TorchClassifier, examples: Sequence[Example], *, model_source: str | None,
    data_spec: str | None, mlm=None, index=None, cut: dict[str, Any] | None = None, plan: AuditPlan | None = None,
    executor=None,
) -> dict[str, Any]:
    """The run's manifest. ``plan``: the loaded masked LM and index, hashed when they were not
    given as folders (a hub name, an object). ``executor``: recorded (``executor`` and the
    first of ``sessions``), not part of the identity."""
    import torch

    device = str(getattr(model, "device", "cpu"))
    env = environment(device)
    resources = {
        "mlm": resource_identity(mlm, plan.mlm if plan is not None else None, MODEL_FILE_SUFFIXES),  # as the model
        "index": resource_identity(index, plan.dknn if plan is not None else None),
    }
    resources["imports"] = {n: resource_identity(p) for n, p in spec.imports.items()} or None
    ran_on = executor_identity(executor)
    return {
        "format": FORMAT_VERSION,
        "model": model_identity(model_source, model),
        "data": data_identity(data_spec, examples),
        "spec": spec.to_dict(),
        "resources": resources,
        "seeds": {"random_baseline": spec.seed, "torch_initial": torch.initial_seed()},
        "seed_rule": SEED_RULE,  # how per-example draws are seeded: another rule, other records
        "trust_thresholds": trust_thresholds() if spec.trust else None,  # what the cards were judged by
        "environment": env,
        "created": now(),
        "cut": cut or {"truncated": 0},
        "executor": ran_on,
        "sessions": [{"started": now(), "executor": ran_on}],
    }


def audit(
    model: TorchClassifier,
    examples: Example | str | Sequence[Example | str] | Any,
    out: str | Path | None = None,
    *,
    spec: AuditSpec | None = None,
    model_source: str | None = None,
    data_spec: str | None = None,
    mlm=None,
    index=None,
    show_progress: bool = True,
    executor: Callable | None = None,
    on_start: Callable[[], None] | None = None,
) -> "Run":
    """Audit ``model`` on ``examples``: every record into the run folder ``out`` (or memory).

    ``spec``: methods, metrics, reduction, figures (default: gradient and LOO, the removal
    metrics, a greedy reduction). ``model_source``: the model's folder or hub name, recorded
    and hashed for provenance. ``mlm`` / ``index``: a masked LM and a DkNN index (paths or
    loaded), for the methods and metrics that need them. ``executor``: runs the pending
    chunks elsewhere (default: here, one after another): it is called as
    ``executor(examples, pending, plan, commit, advance)`` with the fitted examples, the
    pending ``(chunk id, positions)``, the plan (``plan.sources`` says how to rebuild it),
    ``commit(chunk id, records)`` to call as each chunk finishes (in any order), and
    ``advance(n)`` for progress. ``on_start``: called once every input, setting and resource
    has been checked and loaded, just before the run folder is made.
    """
    spec = (spec or AuditSpec()).validate(mlm=mlm is not None, index=index is not None)
    if spec.target is not None:  # a label name in any case, or an index: recorded as the index it means
        spec.target = resolve_target(spec.target, model.labels)
    examples = as_examples(examples, what="audit")
    for name, path in spec.imports.items():  # words checked before anything is computed
        ImportedScores(path, name).check(examples)
    manifest_examples = examples
    examples, cut = fit_examples(model, examples)
    plan = build_plan(spec, mlm=mlm, index=index)
    manifest = build_manifest(
        spec, model, manifest_examples, model_source=model_source, data_spec=data_spec, mlm=mlm, index=index, cut=cut,
        plan=plan, executor=executor,
    )
    plan.sources = {
        "model": model_source,
        "device": str(getattr(model, "device", "cpu")),
        "mlm": str(mlm) if isinstance(mlm, (str, Path)) else None,
        "index": str(index) if isinstance(index, (str, Path)) else None,
    }
    if executor is not None and hasattr(executor, "check"):
        executor.check(plan)  # before the folder is made: a refused run leaves nothing behind
    if on_start is not None:
        on_start()  # everything is checked and loaded: the run starts now
    folder = RunFolder(out) if out is not None else None
    done = folder.start(manifest) if folder is not None else set()
    chunks = [
        (c, list(range(s, min(s + spec.chunk, len(examples)))))
        for c, s in enumerate(range(0, len(examples), spec.chunk))
    ]
    pending = [(c, pos) for c, pos in chunks if c not in done]
    if folder is not None and pending and done:  # a resume that computes: say where it ran
        folder.add_session(manifest["sessions"][0])
    memory: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}

    def commit(chunk: int, records: dict[str, list[dict[str, Any]]]) -> None:
        if folder is not None:
            folder.commit(chunk, records)
        else:
            for k in KINDS:
                memory[k] += records.get(k, [])

    with progress_bar("audit", sum(len(p) for _, p in pending), show_progress) as advance:
        if executor is None:
            for c, pos in pending:
                commit(c, audit_chunk(model, [examples[i] for i in pos], pos, plan))
                advance(len(pos))
        else:
            executor(examples, pending, plan, commit, advance)
    if folder is not None:
        # In example order whatever order the chunks were committed in (an older run, another
        # executor): the summary and corpus tables add floats, and the order of a sum shows.
        records = {k: sorted(folder.read(k), key=lambda r: r.get("index", 0)) for k in KINDS}
        summary = summarize_run(records, manifest)
        folder.finish(summary, corpus_tables(records))
        return Run.load(folder.path)
    return Run(manifest, {k: sorted(v, key=lambda r: r["index"]) for k, v in memory.items()}, summarize_run(memory, manifest))
