"""``pathologies check``: should you trust this heatmap? One trust card per prediction."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .cli import app
from .text import InputError


@app.command()
def check(
    model: str = typer.Argument(..., help="Model directory (or HF hub name)."),
    text: Optional[str] = typer.Argument(None, help="Text to check (words split on whitespace)."),
    pair: Optional[List[str]] = typer.Option(
        None, "--pair", help="A sentence pair: --pair PREMISE --pair HYPOTHESIS (the second is perturbed)."
    ),
    data: Optional[str] = typer.Option(None, "--data", help="A data set: NAME:SPLIT (e.g. sst2:dev) or a .jsonl/.csv/.tsv file."),
    limit: Optional[int] = typer.Option(None, help="With --data: the first N examples."),
    methods: str = typer.Option(
        "gradient,loo,integrated-gradients", "--methods", help="Comma-separated attribution methods; the first is the heatmap judged."
    ),
    beam: int = typer.Option(5, "--beam", help="Beam width of the reduction test (0: skip it)."),
    mlm: Optional[str] = typer.Option(None, "--mlm", help="Masked LM directory: adds marginalization-adaptive (with standard errors)."),
    index: Optional[Path] = typer.Option(None, "--index", help="DkNN index folder: adds credibility and conformity."),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Write a run folder (cards, attributions, metrics, reductions) instead of printing every card; a rerun resumes."
    ),
    chunk: int = typer.Option(32, "--chunk", help="With --out: examples computed and committed together."),
    device: str = typer.Option("cpu", help="cpu, cuda, or auto."),
    trust_remote_code: bool = typer.Option(False, help="Allow a hub model's own code to run."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder with the data sets (default: $PATHOLOGIES_DATA)."),
) -> None:
    """Trust check: agreement of methods, faithfulness, saturation, the reduction test, DkNN
    credibility and estimation noise, with a verdict and what to do about it."""
    from .cli import _fail, _inputs_and_model, console
    from .report.trust_view import render_card
    from .trust import check as run_check

    try:
        names = [m.strip() for m in methods.split(",") if m.strip()]
        if not names:
            raise InputError("--methods needs at least one method, e.g. --methods gradient,loo")
        if beam < 0:
            raise InputError("--beam must be 0 (skip the reduction test) or more")
        if out is not None and chunk < 1:
            raise InputError("--chunk must be at least 1")
        from .attribution import check_method

        for n in names:
            check_method(n, available=[k for k, v in (("mlm", mlm), ("index", index)) if v is not None])
        examples, clf = _inputs_and_model(model, text, pair, data, limit, data_dir, device, trust_remote_code)
        settings = dict(methods=names, beam=beam or None, mlm=mlm, index=str(index) if index is not None else None)
        if out is None:
            cards = run_check(clf, examples, **settings)
            for c in cards:
                render_card(c, console)
                console.print()
            if len(cards) > 1:
                _summary(console, cards)
            return
        from .audit import AuditSpec, audit

        if index is not None and not any(m.startswith("conformity") for m in names):
            names.append("conformity")
        if mlm is not None and not any(m.startswith("marginalization") for m in names):
            names.append("marginalization-adaptive")
        spec = AuditSpec(
            methods=names, metrics=["comprehensiveness", "sufficiency"], reduce=f"beam:{beam}" if beam else None,
            reduce_by="gradient", trust=True, curves=False, show=0, chunk=chunk,
        )
        run = audit(clf, examples, out, spec=spec, model_source=model, data_spec=data or text, mlm=mlm,
                    index=str(index) if index is not None else None)
        cards = run.trust_cards()
        _summary(console, cards)
        console.print(f"{len(cards)} trust cards in the run folder {out} (pathologies report {out} renders them)")
    except InputError as err:
        _fail(str(err))


def _summary(console, cards) -> None:
    from rich.table import Table

    table = Table("verdict", "cards", "mean trust score", "wrong predictions")
    by: dict = {}
    for c in cards:
        by.setdefault(c.verdict, []).append(c)
    for v in ("trust", "caution", "do not trust"):
        cs = by.get(v, [])
        if not cs:
            continue
        wrong = sum(c.correct is False for c in cs)
        known = sum(c.correct is not None for c in cs)
        table.add_row(v, str(len(cs)), f"{sum(c.score for c in cs) / len(cs):.2f}", f"{wrong}/{known}" if known else "–")
    console.print(table)
