"""``pathologies shortcut-test``: plant a shortcut, train a shortcut and a control model, and
measure which attribution methods find it (Bastings et al. 2022)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .cli_common import DataDir, DeviceOpt, EncodingOpt, _device, _fail, _offline_defaults, _positive, _show_warnings, app, console, names
from .text import InputError


@app.command("shortcut-test")
def shortcut_test(
    base: str = typer.Argument(..., help="textcnn, bilstm, minilm, an HF encoder directory / hub name, or a model folder to fine-tune."),
    data: str = typer.Option(..., "--data", help="sst2, mr, agnews, ... (train split planted, eval split tested) or your own .jsonl/.csv/.tsv file (10%% held out as the test set)."),
    out: Path = typer.Option(..., "--out", help="Run folder: the shortcut model's audit, control/ the control model's, shortcut.json the method table; models in OUT.models/. A rerun resumes."),
    kind: str = typer.Option("token", "--kind", help="token, token-in-context or ordered-pair (Bastings et al.'s shortcut types)."),
    tokens: Optional[str] = typer.Option(
        None, "--tokens",
        help="Comma-separated shortcut tokens: token: one per class (default zeroa,onea,...); token-in-context: one per class then the context token (default ...,synt); ordered-pair: first,second (default firsta,secondb).",
    ),
    share: float = typer.Option(0.2, "--share", help="Share of the training examples that get the shortcut."),
    methods: Optional[str] = typer.Option(
        None, "--methods", help="Comma-separated methods (default: gradient, gradient-abs, gradient-l2, loo, loo-log-odds, erasure-unk, integrated-gradients, smoothgrad); random is always added."
    ),
    metrics: str = typer.Option("", "--metrics", help="Comma-separated metrics also audited on the planted test set (default none)."),
    limit: Optional[str] = typer.Option(None, "--limit", callback=_positive("--limit"), help="Test sentences (the first N of the test split)."),
    train_limit: Optional[str] = typer.Option(None, "--train-limit", callback=_positive("--train-limit"), help="Train on the first N training examples only."),
    epochs: str = typer.Option("3", "--epochs", callback=_positive("--epochs"), help="Passes over the training data (both models)."),
    batch_size: str = typer.Option("32", "--batch-size", callback=_positive("--batch-size"), help="Training batch size."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate (default: the family's, as in train)."),
    seed: int = typer.Option(13, "--seed", help="Seed of planting, initialization, shuffling and the random baseline."),
    trust: bool = typer.Option(False, "--trust", help="Also store a trust card per example and method set (pathologies.trust)."),
    models: Optional[Path] = typer.Option(None, "--models", help="Where the two models are saved and reused (default: OUT.models)."),
    encoding: str = EncodingOpt,
    device: str = DeviceOpt,
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Will you find this shortcut? Planted-shortcut ground truth for every method (Bastings et al. 2022).

    Plants the shortcut, trains with and without it, and scores every method by precision@k
    and mean rank of the planted tokens.
    """
    from .shortcuts import shortcut_test as run_test

    _offline_defaults()
    _show_warnings()
    try:
        table = run_test(
            base, data, out, kind=kind, tokens=names(tokens) if tokens else None, share=share,
            methods=names(methods) if methods else None, metrics=names(metrics), limit=limit, train_limit=train_limit,
            epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, trust=trust, models_dir=models, data_dir=data_dir,
            encoding=encoding, device=_device(device), log=console.print,
        )
    except InputError as err:
        _fail(str(err))
    print_table(table)
    console.print(f"method table in {out / 'shortcut.json'} (pathologies report {out} shows it first)")


def print_table(table: dict) -> None:
    """The learning check and the method table on the terminal."""
    from rich.table import Table

    s, c = table["shortcut"]["check"], table["control"]["check"]

    def pct(v):
        return "–" if v is None else f"{v:.3f}"

    console.print(
        f"contradicting test set ({s['n']} sentences): shortcut model accuracy {pct(s['accuracy'])}, follows the "
        f"shortcut {pct(s['follows'])}; control accuracy {pct(c['accuracy'])}, follows {pct(c['follows'])} — "
        + ("[bold]shortcut learned[/]" if table["learned"] else "[bold red]shortcut NOT learned: the method table does not measure faithfulness[/]")
    )
    t = Table("method", "P@k fol.", "rank fol.", "P@k all", "rank all", "ctl P@k", "ctl rank")
    t.columns[0].no_wrap = True
    for m, row in table["shortcut"]["methods"].items():
        ctl = table["control"]["methods"].get(m, {}).get("all", {})
        t.add_row(m, pct(row["follows"]["precision_at_k"]), pct(row["follows"]["mean_rank"]), pct(row["all"]["precision_at_k"]),
                  pct(row["all"]["mean_rank"]), pct(ctl.get("precision_at_k")), pct(ctl.get("mean_rank")))
    first = next(iter(table["shortcut"]["methods"].values()), None)
    if first:
        t.add_row("chance k/L", pct(first["follows"]["expected_precision"]), pct(first["follows"]["expected_rank"]),
                  pct(first["all"]["expected_precision"]), pct(first["all"]["expected_rank"]), "", "")
    console.print(t)
