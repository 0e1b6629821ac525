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

from ..attribution import Attribution, method_by_name
from ..metrics import aggregate
from ..models import TorchClassifier
from ..progress import progress_bar
from ..reduction import Reduction, summarize
from ..text import Example, InputError, as_examples
from .compute import AuditPlan, audit_chunk
from .folder import KINDS, RunFolder
from .imported import ImportedScores
from .manifest import FORMAT_VERSION, data_identity, environment, model_identity, now, resource_identity
from .spec import AuditSpec


def fit_examples(model: TorchClassifier, examples: Sequence[Example]) -> tuple[list[Example], dict[str, Any]]:
    """Fit every example to the model's input limit; one warning for the whole data set.

    Returns the fitted examples and what was cut: how many inputs, the limit, and per input
    its uid and the words dropped.
    """
    fitted, cut = [], []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for ex in examples:
            before = len(caught)
            f = model.fit_to_limit(ex)
            if len(caught) > before or len(f.words) < len(ex.words):
                cut.append({"uid": ex.uid, "words": len(ex.words), "kept": len(f.words)})
            fitted.append(f)
    info = {"truncated": len(cut), "of": len(examples), "max_tokens": getattr(model, "max_tokens", None), "inputs": cut}
    if cut:
        warnings.warn(
            f"{len(cut)} of {len(examples)} inputs cut to the model's limit of {info['max_tokens']} tokens; "
            f"first: uid {cut[0]['uid']} ({cut[0]['words']} words, {cut[0]['kept']} kept); details in the run's manifest",
            stacklevel=2,
        )
    return fitted, info


def build_plan(spec: AuditSpec, mlm=None, index=None) -> AuditPlan:
    """Method objects and shared resources (each loaded once) for a validated spec."""
    if isinstance(mlm, (str, Path)):
        from ..models.mlm import load_mlm

        mlm = load_mlm(str(mlm))
    if isinstance(index, (str, Path)):
        from ..dknn import DkNN

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
    data_spec: str | None, mlm=None, index=None, cut: dict[str, Any] | None = None,
) -> dict[str, Any]:
    import torch

    device = str(getattr(model, "device", "cpu"))
    env = environment(device)
    resources = {"mlm": resource_identity(mlm), "index": resource_identity(index)}
    resources["imports"] = {n: resource_identity(p) for n, p in spec.imports.items()} or None
    return {
        "format": FORMAT_VERSION,
        "model": model_identity(model_source, model),
        "data": data_identity(data_spec, examples),
        "spec": spec.to_dict(),
        "resources": resources,
        "seeds": {"random_baseline": spec.seed, "torch_initial": torch.initial_seed()},
        "environment": env,
        "created": now(),
        "cut": cut or {"truncated": 0},
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
    ``advance(n)`` for progress.
    """
    spec = (spec or AuditSpec()).validate(mlm=mlm is not None, index=index is not None)
    examples = as_examples(examples, what="audit")
    for name, path in spec.imports.items():  # words checked before anything is computed
        ImportedScores(path, name).check(examples)
    manifest_examples = examples
    examples, cut = fit_examples(model, examples)
    manifest = build_manifest(
        spec, model, manifest_examples, model_source=model_source, data_spec=data_spec, mlm=mlm, index=index, cut=cut
    )
    folder = RunFolder(out) if out is not None else None
    done = folder.start(manifest) if folder is not None else set()
    plan = build_plan(spec, mlm=mlm, index=index)
    plan.sources = {
        "model": model_source,
        "device": str(getattr(model, "device", "cpu")),
        "mlm": str(mlm) if isinstance(mlm, (str, Path)) else None,
        "index": str(index) if isinstance(index, (str, Path)) else None,
    }
    chunks = [
        (c, list(range(s, min(s + spec.chunk, len(examples)))))
        for c, s in enumerate(range(0, len(examples), spec.chunk))
    ]
    pending = [(c, pos) for c, pos in chunks if c not in done]
    memory: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}

    def commit(chunk: int, records: dict[str, list[dict[str, Any]]]) -> None:
        records.pop("engine", None)
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
        records = {k: folder.read(k) for k in KINDS}
        summary = summarize_run(records, manifest)
        folder.finish(summary)
        return Run.load(folder.path)
    return Run(manifest, {k: sorted(v, key=lambda r: r["index"]) for k, v in memory.items()}, summarize_run(memory, manifest))


def summarize_run(records: dict[str, list[dict[str, Any]]], manifest: dict[str, Any]) -> dict[str, Any]:
    """The run's tables from its records alone: methods × metrics, and the reduction summary."""
    table: dict[str, dict[str, float]] = {}
    by_method: dict[str, list[dict[str, Any]]] = {}
    for r in records.get("metrics", []):
        by_method.setdefault(r["method"], []).append(r)
    for m in manifest["spec"]["methods"]:
        if by_method.get(m):
            table[m] = aggregate(by_method[m])
    out: dict[str, Any] = {
        "examples": manifest["data"]["examples"],
        "finished": now(),
        "methods": table,
    }
    reds = records.get("reductions", [])
    if reds:
        red = summarize(reds)
        creds = [r["final_credibility"] for r in reds if r.get("final_credibility") is not None]
        if creds:
            red["mean_credibility_reduced"] = sum(creds) / len(creds)
            originals = [r["credibility"] for r in records.get("metrics", []) if r.get("credibility") is not None]
            if originals:
                red["mean_credibility_original"] = sum(originals) / len(originals)
        red["method"] = manifest["spec"]["reduce"]
        out["reduction"] = red
    return out


class Run:
    """A run's manifest, records and summary; loaded from a folder without any model.

    ``attributions()``, ``reductions()`` give records as objects; ``frame(kind)`` as a
    pandas DataFrame; ``table`` is the methods × metrics summary.
    """

    def __init__(self, manifest: dict[str, Any], records: dict[str, list[dict[str, Any]]], summary: dict[str, Any] | None, path: Path | None = None):
        self.manifest = manifest
        self.records = records
        self.summary = summary or summarize_run(records, manifest)
        self.path = path

    @classmethod
    def load(cls, path: str | Path) -> "Run":
        """Read a run folder (finished or not; an unfinished run is summarized from its records)."""
        folder = RunFolder(path)
        manifest = folder.manifest()
        records = {k: sorted(folder.read(k), key=lambda r: r.get("index", 0)) for k in KINDS}
        return cls(manifest, records, folder.summary(), Path(path))

    @property
    def name(self) -> str:
        return self.path.name if self.path else "run"

    @property
    def methods(self) -> list[str]:
        return list(self.manifest["spec"]["methods"])

    @property
    def table(self) -> dict[str, dict[str, float]]:
        return self.summary.get("methods", {})

    @property
    def complete(self) -> bool:
        done = {r["index"] for r in self.records["attributions"]} | {r["index"] for r in self.records["reductions"]}
        return len(done) >= self.manifest["data"]["examples"]

    def attributions(self, method: str | None = None) -> list[Attribution]:
        rows = self.records["attributions"]
        if method is not None:
            if method not in self.methods:
                raise InputError(f"no method {method!r} in this run; it has: {', '.join(self.methods)}")
            rows = [r for r in rows if r["method"] == method]
        return [Attribution.from_dict(r) for r in rows]

    def reductions(self) -> list[Reduction]:
        return [Reduction.from_dict(r) for r in self.records["reductions"]]

    def metric_records(self, method: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.records["metrics"] if method is None or r["method"] == method]

    def frame(self, kind: str = "metrics"):
        """Records of one kind (attributions, metrics, reductions, curves, projections) as a DataFrame."""
        import pandas as pd

        if kind not in KINDS:
            raise InputError(f"unknown record kind {kind!r}; kinds: {', '.join(KINDS)}")
        return pd.DataFrame(self.records[kind])

    def table_frame(self):
        """The methods × metrics summary as a DataFrame (metrics as rows)."""
        import pandas as pd

        return pd.DataFrame(self.table)

    def _repr_html_(self) -> str:
        from ..report.views import run_html

        return run_html(self)

    def __repr__(self) -> str:
        return f"Run({self.path or 'in memory'}: {self.manifest['data']['examples']} examples, methods {', '.join(self.methods)})"
