"""The ``pathologies`` command: a thin layer over the library.

Shared options, the error line and the device rule live in :mod:`pathologies.cli_common`;
``cli_audit`` (audit, report, compare), ``cli_check`` (check) and ``cli_dknn`` (dknn) hold
their verbs; this module holds the rest and :func:`main`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer

from . import cli_audit, cli_check, cli_dknn, cli_qa
from . import cli_app  # noqa: F401  (registers serve on ``app``: the local web app)
from . import cli_shortcuts  # noqa: F401  (registers shortcut-test on ``app``: planted shortcuts)
from .cli_common import (
    DataDir, DataOpt, DeviceOpt, EncodingOpt, IndexOpt, LimitOpt, PairOpt, TrustOpt, _device, _fail,
    _inputs_and_model, _key_values, _offline_defaults, _one_line, _positive, _show_warnings, app, console,
)
from .data import DATASETS, load_dataset
from .report import render_attribution, render_reduction
from .text import InputError

@app.command()
def train(
    base: str = typer.Argument(
        ..., help="textcnn, bilstm, minilm (offline all-MiniLM-L6-v2), or an HF encoder directory / hub name."
    ),
    data: str = typer.Option(
        "sst2", "--data",
        help="sst2, sst5, sst2-phrases, mr, snli, agnews, imdb, or your own .jsonl/.csv/.tsv file (text or premise + "
        "hypothesis, label by name; 10%% held out to evaluate unless --eval-split FILE).",
    ),
    out: Path = typer.Option(..., "--out", help="Folder to write the trained model to."),
    epochs: str = typer.Option("3", "--epochs", callback=_positive("--epochs"), help="Passes over the training split."),
    batch_size: str = typer.Option("32", "--batch-size", callback=_positive("--batch-size"), help="Training batch size."),
    lr: Optional[float] = typer.Option(None, help="Learning rate (default: 5e-5 for HF encoders, 1e-3 for TextCNN / BiLSTM)."),
    seed: int = typer.Option(13, help="Seed for initialization, shuffling and data splits."),
    limit: Optional[str] = typer.Option(
        None, "--limit", callback=_positive("--limit"), help="Train on the first N training examples only (a positive integer)."
    ),
    max_words: int = typer.Option(256, help="Clip training inputs to this many words."),
    train_split: Optional[str] = typer.Option(None, help="Split to train on (default: the data set's train split)."),
    eval_split: Optional[str] = typer.Option(
        None, help="Split to evaluate on (default: the data set's dev split); with --data FILE, an evaluation file."
    ),
    encoding: str = EncodingOpt,
    objective: str = typer.Option(
        "ce", "--objective", help="ce, entropy (Feng et al.), random-entropy (baseline), or pct."
    ),
    lam: float = typer.Option(1e-3, "--lam", help="entropy: weight λ of the entropy on reduced examples."),
    reduce_beam: int = typer.Option(5, "--reduce-beam", help="entropy: beam size of the input reduction."),
    reduce_limit: Optional[str] = typer.Option(
        None, "--reduce-limit", callback=_positive("--reduce-limit"),
        help="entropy: reduce only a seeded random sample of N training examples.",
    ),
    reductions: Optional[Path] = typer.Option(
        None, "--reductions", help="entropy: JSON-lines file of reductions to write or reuse (default: OUT/reduced_train.jsonl)."
    ),
    alpha: Optional[float] = typer.Option(None, "--alpha", help="pct: weight α (default 0.1 TextCNN/BiLSTM, 0.15 HF)."),
    tau: Optional[float] = typer.Option(None, "--tau", help="pct: temperature τ (default 0.7 TextCNN/BiLSTM, 0.15 HF)."),
    share: float = typer.Option(0.10, "--share", help="pct: share p of important / unimportant words."),
    device: str = DeviceOpt,
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Train or fine-tune a classifier; prints and saves the evaluation accuracy.

    BASE may also be a model trained here, to fine-tune it with another objective.
    """
    from .training import TrainConfig, train_model  # lazy: torch, kept off CLI start-up

    _offline_defaults()
    config = TrainConfig(
        epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, limit=limit, max_words=max_words
    )
    try:
        _, result = train_model(
            base,
            data,
            out_dir=out,
            config=config,
            data_dir=data_dir,
            train_split=train_split,
            eval_split=eval_split,
            encoding=encoding,
            device=_device(device),
            objective=objective,
            **_objective_settings(objective, lam, reduce_beam, alpha, tau, share, reduce_limit, reductions),
        )
    except InputError as err:
        _fail(str(err))
    console.print(
        f"[bold]{result.eval_split} accuracy {result.eval_accuracy:.4f}[/] "
        f"({result.n_eval} examples, {result.seconds:.0f} s); model saved to {out}"
    )


def _objective_settings(objective, lam, beam, alpha, tau, share, reduce_limit=None, reductions=None) -> dict:
    if objective in ("entropy", "random-entropy"):
        return {"lam": lam, "beam": beam, "reduce_limit": reduce_limit, "reductions": reductions}
    if objective == "pct":
        return {"alpha": alpha, "tau": tau, "share": share}
    return {}


@app.command()
def explain(
    model: str = typer.Argument(..., help="Model directory (or HF hub name)."),
    text: Optional[str] = typer.Argument(None, help="Text to explain (words split on whitespace)."),
    pair: Optional[List[str]] = PairOpt,
    method: Optional[str] = typer.Option(
        None, "--method", help="Attribution method (default: the one the planted-shortcut results recommend for the model's family; README, 'Defaults')."
    ),
    target: Optional[str] = typer.Option(None, "--target", help="Class to explain (name or index); default: the predicted class."),
    data: Optional[str] = DataOpt,
    limit: Optional[str] = LimitOpt,
    encoding: str = EncodingOpt,
    out: Optional[Path] = typer.Option(
        None, "--out", help="Write a run folder here instead of printing heatmaps; a rerun resumes."
    ),
    scores: bool = typer.Option(False, "--scores", help="Print the numbers under each heatmap."),
    mlm: Optional[str] = typer.Option(None, "--mlm", help="Masked LM directory, for --method marginalization."),
    set_: Optional[List[str]] = typer.Option(
        None, "--set",
        help="A setting of the method, KEY=VALUE, repeatable: e.g. --set mode=adaptive --set tol=0.05 "
        "(marginalization: mode sigma|top-n|adaptive, sigma, top_n, head, draws, tol, max_draws, seed).",
    ),
    index: Optional[Path] = IndexOpt,
    device: str = DeviceOpt,
    trust_remote_code: bool = TrustOpt,
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Explain predictions: a colored heatmap in the terminal, or JSON lines."""
    from .explain import explain as run_explain  # lazy: torch, kept off CLI start-up
    from .audit import explain_to_file  # lazy: torch, kept off CLI start-up

    try:
        examples, clf = _inputs_and_model(
            model, text, pair, data, limit, data_dir, device, trust_remote_code, encoding, fit=out is None
        )
        settings = {**_key_values(set_ or []), **({"mlm": mlm} if mlm else {})}
        if index is not None:
            settings["index"] = str(index)
        if out is not None:
            resources = {k: settings.pop(k) for k in ("mlm", "index") if k in settings}
            records = explain_to_file(
                clf, examples, out, method=method, target=target, method_settings=settings, model_source=model,
                data_spec=data, **resources,
            )
            console.print(f"{len(records)} attributions in the run folder {out}")
            return
        records = run_explain(clf, examples, method=method, target=target, **settings)
    except InputError as err:
        _fail(str(err))
    for r in records:
        render_attribution(r, console, show_scores=scores)
        console.print()


@app.command()
def reduce(
    model: str = typer.Argument(..., help="Model directory (or HF hub name)."),
    text: Optional[str] = typer.Argument(None, help="Text to reduce (words split on whitespace)."),
    pair: Optional[List[str]] = PairOpt,
    data: Optional[str] = DataOpt,
    limit: Optional[str] = LimitOpt,
    encoding: str = EncodingOpt,
    beam: int = typer.Option(1, "--beam", help="1: greedy; B > 1: beam search trying the B least important words."),
    importance: Optional[str] = typer.Option(
        None, "--importance", help="Attribution method that ranks the words (default: as explain's --method)."
    ),
    threshold: Optional[float] = typer.Option(None, help="Also keep the confidence in the label at least this."),
    max_steps: Optional[int] = typer.Option(None, help="Stop after this many removals."),
    seed: int = typer.Option(0, help="Seed of the random-removal baseline."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write a run folder here; a rerun resumes."),
    device: str = DeviceOpt,
    trust_remote_code: bool = TrustOpt,
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Input reduction (Feng et al. 2018): remove the least important word while the prediction holds."""
    from rich.table import Table

    from .reduction import reduce_inputs, summarize  # lazy: torch, kept off CLI start-up

    settings = dict(importance=importance, beam=beam, k=beam, threshold=threshold, max_steps=max_steps, random_seed=seed)
    try:
        examples, clf = _inputs_and_model(
            model, text, pair, data, limit, data_dir, device, trust_remote_code, encoding, fit=out is None
        )
        if out is not None:
            from .audit import AuditSpec, audit  # lazy: torch, kept off CLI start-up

            from .recommended import recommended_method

            spec = AuditSpec(
                methods=[], metrics=[], reduce="greedy" if beam == 1 else f"beam:{beam}",
                reduce_by=importance or recommended_method(clf.family),
                seed=seed, curves=False, show=0,
            )
            if threshold is not None or max_steps is not None:
                raise InputError("--threshold and --max-steps apply to printed reductions; a run folder (--out) records the full search")
            records = audit(clf, examples, out, spec=spec, model_source=model, data_spec=data).reductions()
        else:
            records = reduce_inputs(clf, examples, **settings)
    except InputError as err:
        _fail(str(err))
    if out is None or len(records) == 1:
        for r in records:
            render_reduction(r, console)
            console.print()
    if len(records) > 1:
        table = Table("summary", "value")
        for k, v in summarize(records).items():
            table.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
        console.print(table)
    if out is not None:
        console.print(f"{len(records)} records in {out}")


@app.command("train-mlm")
def train_mlm_command(
    out: Path = typer.Option(..., "--out", help="Folder to write the masked LM to."),
    texts: str = typer.Option("sst,imdb", "--texts", help="Comma-separated training text: sst (SST train), imdb (IMDB train), or any data set name."),
    base: Optional[str] = typer.Option(None, "--base", help="Encoder or masked LM to start from (default: offline all-MiniLM-L6-v2)."),
    steps: int = typer.Option(2000, help="Optimizer steps."),
    batch_size: int = typer.Option(32, help="Sequences per step."),
    max_tokens: int = typer.Option(64, help="Word pieces per sequence (longer text is cut)."),
    seed: int = typer.Option(13, help="Seed."),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Train a masked-LM head for input marginalization.

    The encoder is unfrozen, 15% of words masked; prints masked-word top-1 / top-5 accuracy on SST dev.
    """
    from .models.mlm import masked_accuracy  # lazy: torch, kept off CLI start-up
    from .training.mlm import train_mlm  # lazy: torch, kept off CLI start-up

    _offline_defaults()
    names = {"sst": ("sst5", "train"), "imdb": ("imdb", "train")}
    try:
        corpus = []
        for name in [t.strip() for t in texts.split(",") if t.strip()]:
            dname, split = names.get(name, (name, "train"))
            corpus += [ex.words for ex in load_dataset(dname, split, data_dir=data_dir)]
        start = time.perf_counter()
        mlm = train_mlm(corpus, out, base=base, steps=steps, batch_size=batch_size, max_tokens=max_tokens, seed=seed,
                        log=lambda line: print(line, flush=True))
        seconds = round(time.perf_counter() - start, 1)
        dev = load_dataset("sst5", "dev", data_dir=data_dir).examples
        acc = masked_accuracy(mlm, dev)
    except InputError as err:
        _fail(str(err))
    settings = {"texts": texts, "base": base, "steps": steps, "batch_size": batch_size, "max_tokens": max_tokens, "seed": seed}
    (out / "mlm_metrics.json").write_text(json.dumps({"sst_dev": acc, **settings, "train_seconds": seconds}, indent=2))
    console.print(f"masked-word accuracy on SST dev: top-1 {acc['top1']:.3f}, top-5 {acc['top5']:.3f} ({acc['words']} words); saved to {out}")


@app.command()
def datasets(data_dir: Optional[Path] = DataDir) -> None:
    """List the data sets and the size of every split."""
    from rich.table import Table


    table = Table("name", "split", "examples", "labels")
    try:
        for name, info in DATASETS.items():
            for split in info.splits:
                if name == "imdb":
                    table.add_row(name, split, "(large; not counted here)", ", ".join(info.labels))
                    continue
                ds = load_dataset(name, split, data_dir=data_dir)
                table.add_row(name, split, str(len(ds)), ", ".join(info.labels))
    except InputError as err:
        _fail(str(err))
    console.print(table)


@app.command()
def demo(
    model: Optional[str] = typer.Option(None, "--model", help="A trained model; default: the demo SST-2 model, trained once and cached."),
    n: int = typer.Option(150, "-n", help="SST-2 dev sentences audited for the corpus view and the report."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run folder of the demo (default: in the cache folder; the HTML report is written beside it)."),
    shortcut: bool = typer.Option(True, "--shortcut/--no-shortcut", help="End with the planted-shortcut story (trains a shortcut and a control model once, cached)."),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """The main job on the embedded default: the pathology on an SST-2 model, end to end.

    Trains (once) an SST-2 model, audits dev sentences, and shows heatmaps, reduction to
    nonsense, a trust card, the corpus view, a report, and a planted shortcut: which heatmap
    finds it and what the card says of each.
    """
    from .demo import run_demo  # lazy: torch, kept off CLI start-up

    _offline_defaults()
    _show_warnings()
    try:
        run_demo(model=model, n=n, data_dir=data_dir, console=console, out=out, shortcut=shortcut)
    except InputError as err:
        _fail(str(err))


#: The verbs in the order a user meets them (``pathologies --help`` lists them so).
ORDER = (
    "demo", "train", "explain", "reduce", "check", "audit", "evaluate", "report", "compare",
    "train-mlm", "datasets", "serve", "shortcut-test",
)
app.add_typer(cli_dknn.dknn_app, name="dknn")
app.add_typer(cli_qa.qa_app, name="qa")  # extractive question answering
app.registered_commands.sort(
    key=lambda c: ORDER.index(c.name or c.callback.__name__) if (c.name or c.callback.__name__) in ORDER else len(ORDER)
)
assert cli_audit and cli_check  # imported for the verbs they register on ``app``


def _click_exceptions() -> tuple[tuple, tuple, tuple]:
    """(usage errors, no-args-help, abort) of click and of the click that typer carries."""
    mods = []
    for name in ("click.exceptions", "typer._click.exceptions"):
        try:
            mods.append(__import__(name, fromlist=["ClickException"]))
        except ImportError:
            pass
    pick = lambda attr: tuple(getattr(m, attr) for m in mods if hasattr(m, attr))  # noqa: E731
    return pick("ClickException"), pick("NoArgsIsHelpError"), pick("Abort") + (typer.Abort,)


def main(argv: Optional[List[str]] = None) -> int:
    """The ``pathologies`` command. Every error is one plain line on stderr: a bad option
    (exit 2), bad input (exit 2), or an unexpected failure (exit 1; ``PATHOLOGIES_DEBUG=1``
    shows its traceback)."""
    usage, no_args, abort = _click_exceptions()
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="pathologies", standalone_mode=False)
    except no_args:
        return 2  # the help has been printed
    except usage as err:
        print(f"error: {_one_line(err.format_message())}", file=sys.stderr, flush=True)
        return getattr(err, "exit_code", 2) or 2
    except abort:
        print("error: aborted", file=sys.stderr, flush=True)
        return 130
    except InputError as err:
        print(f"error: {_one_line(err)}", file=sys.stderr, flush=True)
        return 2
    except Exception as err:
        if os.environ.get("PATHOLOGIES_DEBUG"):
            raise
        print(
            f"error: unexpected {type(err).__name__}: {_one_line(err)[:300]} (PATHOLOGIES_DEBUG=1 shows the traceback)",
            file=sys.stderr, flush=True,
        )
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
