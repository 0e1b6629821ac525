"""``pathologies audit | evaluate | report | compare``: runs and the views of runs.

``audit`` computes a run folder; ``report`` and ``compare`` render run folders without
loading a model (given model folders and ``--data`` instead, they audit first, into
``--runs DIR``, and render the runs).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional

import typer

from .cli_common import (
    DataDir, DeviceOpt, EncodingOpt, IndexOpt, LimitOpt, _fail, _key_values, _offline_defaults, _quiet_device, _say,
    _show_warnings, app, console, names,
)
from .audit import Run, RunFolder
from .audit.spec import AuditSpec
from .metrics import METRICS, groups
from .metrics.base import NEEDS
from .report.html import compare_rows, write_report
from .report.views import REDUCTION_LABELS
from .text import InputError

_DEFAULT = AuditSpec()
DEFAULT_METRICS = ",".join(_DEFAULT.metrics)


def _method_settings(items: list[str]) -> dict[str, dict]:
    """``--set METHOD.KEY=VALUE`` to {method: {key: value}}."""
    out: dict[str, dict] = {}
    for item in items:
        head, sep, _ = item.partition("=")
        method, dot, key = head.rpartition(".")
        if not sep or not dot or not method or not key:
            raise InputError(f"--set takes METHOD.KEY=VALUE (e.g. marginalization-adaptive.tol=0.05), not {item!r}")
        out.setdefault(method, {}).update(_key_values([item[len(method) + 1 :]]))
    return out


def _imports(paths: list[str], names: list[str]) -> dict[str, str]:
    if len(paths) != len(names):
        raise InputError("give one --as NAME for each --import FILE")
    return dict(zip(names, paths))


def _print_table(run) -> None:
    from rich.table import Table

    table = run.table
    if table:
        names = [k for k in METRICS if any(k in row for row in table.values())]
        view = Table("metric", *table)  # metrics as rows: fits a terminal however many there are
        for k in names:
            arrow = "↓" if METRICS[k].lower_is_better else "↑"
            view.add_row(f"{METRICS[k].display} {arrow}", *[f"{row[k]:.4f}" if k in row else "" for row in table.values()])
        console.print(view)
    red = run.summary.get("reduction")
    if red:

        view = Table("input reduction", run.manifest["spec"]["reduce"] or "")
        for k, v in red.items():
            if k in ("method", "reduced_length_histogram"):
                continue
            view.add_row(REDUCTION_LABELS.get(k, k), f"{v:.4f}" if isinstance(v, float) else str(v))
        console.print(view)
    trust = run.summary.get("trust")
    if trust:
        verdicts = ", ".join(f"{n} {v}" for v, n in trust["verdicts"].items())
        console.print(f"trust checks: {verdicts} (mean trust score {trust['mean_score']:.3f})")


def _print_qa_summary(run) -> None:
    """A question-answering run's summary in the terminal: exact match, F1, the reduction."""
    from rich.table import Table

    from .report.qa_view import QA_REDUCTION_LABELS, qa_summary_rows

    view = Table(f"{run.name}: question answering", "")
    for label, value in qa_summary_rows(run.summary):
        view.add_row(label, value)
    red = run.summary.get("reduction") or {}
    for k, label in QA_REDUCTION_LABELS.items():
        if k in red and k != "reduced_length_histogram":
            v = red[k]
            view.add_row(label, f"{v:.4f}" if isinstance(v, float) else str(v))
    console.print(view)


def run_audit(
    model: str, data: str, out: Optional[Path], *, limit, methods: str, metrics: str, reduce: str, reduce_by, share,
    seed, chunk, show, mlm, index, imports, as_names, set_, device, data_dir, show_progress: bool = True,
    encoding: str = "utf-8",
    executor: str = "local", address: Optional[str] = None, workers: int = 2, gpus_per_worker: float = 0,
    threads_per_worker: int = 1, trust: bool = False,
):
    """The options of the command line as an :class:`AuditSpec`, then
    :func:`pathologies.audit.sources.audit_sources` (which checks, loads and runs)."""
    from .audit.sources import audit_sources  # lazy: torch, kept off CLI start-up

    spec = AuditSpec(
        methods=names(methods), metrics=names(metrics), reduce=None if reduce in ("none", "") else reduce,
        reduce_by=reduce_by, share=share, seed=seed, chunk=chunk, show=show, trust=trust,
        method_settings=_method_settings(set_ or []), imports=_imports(imports or [], as_names or []),
    )
    spec.methods += [n for n in spec.imports if n not in spec.methods]
    return audit_sources(
        model, data, out, spec=spec, limit=limit, mlm=mlm, index=index, device=device, data_dir=data_dir,
        encoding=encoding, executor=executor, address=address, workers=workers, gpus_per_worker=gpus_per_worker,
        threads_per_worker=threads_per_worker, show_progress=show_progress, say=_say,
    )


MethodsOpt = typer.Option(",".join(_DEFAULT.methods), "--methods", help="Comma-separated attribution methods.")


def _metrics_help() -> str:
    """The --metrics help, from the metric registry."""
    def needs(m) -> str:
        return f" (needs {', '.join(NEEDS[n].split(': ')[-1] for n in m.needs)})" if m.needs else ""

    per = ", ".join(m.name + needs(m) for m in METRICS.values() if m.per == "example" and not m.group)
    grouped = "; ".join(f"{g}: {', '.join(ms)}" for g, ms in groups().items())
    always = ", ".join(m.display for m in METRICS.values() if m.per == "dataset")
    return f"Comma-separated per-example metrics: {per}; groups ({grouped}). {always} are always reported."


MetricsOpt = typer.Option(DEFAULT_METRICS, "--metrics", help=_metrics_help())
ReduceOpt = typer.Option("greedy", "--reduce", help="Input reduction recorded in the run: greedy, beam:K, or none.")
ReduceByOpt = typer.Option(None, "--reduce-by", help="Method ranking the words of the reduction (default: the first method).")
MlmOpt = typer.Option(None, "--mlm", help="Masked LM directory: for auc_rep and the marginalization methods.")


@app.command()
def audit(
    model: str = typer.Argument(..., help="Model directory (or HF hub name)."),
    data: str = typer.Option(..., "--data", help="NAME:SPLIT (e.g. sst2:dev) or your own .jsonl/.csv/.tsv file."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run folder to write (a rerun resumes; another model, data or settings is refused)."),
    limit: Optional[str] = LimitOpt,
    encoding: str = EncodingOpt,
    methods: str = MethodsOpt,
    metrics: str = MetricsOpt,
    reduce: str = ReduceOpt,
    reduce_by: Optional[str] = ReduceByOpt,
    share: float = typer.Option(0.10, help="Share of words removed for comprehensiveness / sufficiency."),
    seed: int = typer.Option(0, help="Seed of the random-removal baseline."),
    chunk: int = typer.Option(32, help="Examples computed and committed together."),
    show: int = typer.Option(5, help="Examples that also get a representation projection (figure data)."),
    mlm: Optional[str] = MlmOpt,
    index: Optional[Path] = IndexOpt,
    imports: Optional[List[str]] = typer.Option(None, "--import", help="JSON lines of attributions from another tool (uid, words, scores); repeatable."),
    as_names: Optional[List[str]] = typer.Option(None, "--as", help="The name of each --import in the run."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="A method setting, METHOD.KEY=VALUE (repeatable)."),
    trust: bool = typer.Option(False, "--trust", help="Also a trust card per example (pathologies check), stored in the run."),
    device: str = DeviceOpt,
    data_dir: Optional[Path] = DataDir,
    executor: str = typer.Option("local", "--executor", help="local (here, chunk after chunk) or ray (chunks spread over Ray actors)."),
    address: Optional[str] = typer.Option(None, "--address", help="With --executor ray: a running Ray cluster (default: start a local one)."),
    workers: int = typer.Option(2, "--workers", help="With --executor ray: actors, each loading the model once."),
    gpus_per_worker: float = typer.Option(0, "--gpus-per-worker", help="With --executor ray: GPUs per actor (0: actors run on CPU)."),
    threads_per_worker: int = typer.Option(1, "--threads-per-worker", help="With --executor ray: CPUs (torch threads) per actor."),
) -> None:
    """Audit a model on a data set: attributions, metrics, reductions and figure data in one run folder."""
    _offline_defaults()
    _show_warnings()
    try:
        run = run_audit(
            model, data, out, limit=limit, methods=methods, metrics=metrics, reduce=reduce, reduce_by=reduce_by,
            share=share, seed=seed, chunk=chunk, show=show, mlm=mlm, index=index, imports=imports, as_names=as_names,
            set_=set_, device=device, data_dir=data_dir, encoding=encoding, executor=executor, address=address, workers=workers,
            gpus_per_worker=gpus_per_worker, threads_per_worker=threads_per_worker, trust=trust,
        )
    except InputError as err:
        _fail(str(err))
    _print_table(run)
    if out is not None:
        console.print(f"run written to {out}")


app.command("evaluate", help="Alias of audit: metrics of attribution methods on a data set (methods × metrics).")(audit)


def _is_run(path: str) -> bool:

    return RunFolder(path).exists()


#: What ``report`` and ``compare`` audit with when given model folders (as ``audit``'s defaults).
AUDIT_DEFAULTS = dict(
    limit=None, methods=",".join(_DEFAULT.methods), metrics=DEFAULT_METRICS, reduce=_DEFAULT.reduce,
    reduce_by=_DEFAULT.reduce_by, share=_DEFAULT.share, seed=_DEFAULT.seed, chunk=_DEFAULT.chunk, show=_DEFAULT.show,
    mlm=None, index=None, imports=None, as_names=None, set_=None, device="auto", data_dir=None,
)


def _runs_for(sources: list[str], data: Optional[str], runs_dir: Path, **given) -> list:
    """Run folders as they are; model folders audited first (needs --data) into runs_dir."""
    audit_kw = {**AUDIT_DEFAULTS, **given}

    out = []
    for src in sources:
        if _is_run(src):
            out.append(Run.load(src))
            continue
        if data is None:
            raise InputError(f"{src} is not a run folder; give --data NAME:SPLIT to audit the model first (or run `pathologies audit`)")
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{Path(src).name}-{Path(data).name}")
        console.print(f"auditing {src} on {data} into {runs_dir / name}")
        out.append(run_audit(src, data, runs_dir / name, **audit_kw))
    return out


@app.command()
def report(
    runs: List[str] = typer.Argument(..., help="Run folders (pathologies audit --out, or pathologies qa explain|reduce --out); several = side by side."),
    out: Path = typer.Option(Path("report.html"), "--out", help="The HTML file to write."),
    show: int = typer.Option(5, help="Example sentences shown as heatmaps and reduction paths."),
    data: Optional[str] = typer.Option(None, "--data", help="Given model folders instead of runs: audit them on NAME:SPLIT first."),
    limit: Optional[str] = LimitOpt,
    encoding: str = EncodingOpt,
    methods: str = MethodsOpt,
    metrics: str = MetricsOpt,
    reduce: str = ReduceOpt,
    mlm: Optional[str] = MlmOpt,
    index: Optional[Path] = IndexOpt,
    runs_dir: Path = typer.Option(Path("runs"), "--runs", help="With --data: where the runs are written."),
    device: str = DeviceOpt,
    data_dir: Optional[Path] = DataDir,
) -> None:
    """A self-contained HTML report of runs: metrics, heatmaps, reduction paths, figures, provenance."""

    _offline_defaults()
    _show_warnings()
    try:
        loaded = _runs_for(
            # --show is a view setting (heatmaps shown): not passed to the audit, whose identity it is not
            runs, data, runs_dir, limit=limit, methods=methods, metrics=metrics, reduce=reduce, mlm=mlm,
            index=index, device=device, data_dir=data_dir, encoding=encoding,
        )
        written = write_report(loaded, out, n_show=show)
    except InputError as err:
        _fail(str(err))
    for run in loaded:
        if run.task == "qa":
            _print_qa_summary(run)
    console.print(f"report written to {written}")


@app.command()
def compare(
    before: str = typer.Argument(..., help="Run folder (or model folder, with --data) before mitigation."),
    after: str = typer.Argument(..., help="Run folder (or model folder, with --data) after."),
    method: Optional[str] = typer.Option(None, "--method", help="Method whose metrics are compared (default: the first both runs have; with --data: gradient)."),
    data: Optional[str] = typer.Option(None, "--data", help="Given model folders: audit each on NAME:SPLIT first."),
    limit: Optional[str] = LimitOpt,
    encoding: str = EncodingOpt,
    report_out: Optional[Path] = typer.Option(None, "--report", help="Also write the HTML report of both runs."),
    runs_dir: Path = typer.Option(Path("runs"), "--runs", help="With --data: where the runs are written."),
    device: str = DeviceOpt,
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Two runs side by side: accuracy, F(X), Comp, Suff, IR#, UR#, I-Var, U-Var, reduction, and the change."""
    from rich.table import Table


    _offline_defaults()
    _show_warnings()
    try:
        a, b = _runs_for(
            [before, after], data, runs_dir, limit=limit, methods=method or "gradient",
            metrics=DEFAULT_METRICS + ",reduction", device=device, data_dir=data_dir, encoding=encoding,
        )
        name, rows = compare_rows(a, b, method)
        if report_out is not None:
            write_report([a, b], report_out)
    except InputError as err:
        _fail(str(err))
    data_a = a.manifest["data"]
    view = Table("metric", "before", "after", "after − before", title=f"{data_a['spec']}, {data_a['examples']} examples, method {name}")
    for k, x, y in rows:
        label = METRICS[k].display if k in METRICS else k
        view.add_row(label, f"{x:.4f}", f"{y:.4f}", f"{y - x:+.4f}")
    console.print(view)
    if a.manifest["data"]["sha256"] != b.manifest["data"]["sha256"]:
        console.print("[yellow]note:[/] the two runs were made on different data")
    if report_out is not None:
        console.print(f"report written to {report_out}")
