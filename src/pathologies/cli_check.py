"""``pathologies check``: should you trust this heatmap? One trust card per prediction."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .cli_common import DataDir, DeviceOpt, LimitOpt, PairOpt, TrustOpt, _fail, _inputs_and_model, app, console, names
from .report.trust_view import render_card
from .text import InputError


@app.command()
def check(
    model: str = typer.Argument(..., help="Model directory (or HF hub name)."),
    text: Optional[str] = typer.Argument(None, help="Text to check (words split on whitespace)."),
    pair: Optional[List[str]] = PairOpt,
    data: Optional[str] = typer.Option(None, "--data", help="A data set: NAME:SPLIT (e.g. sst2:dev) or a .jsonl/.csv/.tsv file."),
    limit: Optional[str] = LimitOpt,
    methods: Optional[str] = typer.Option(
        None, "--methods",
        help="Comma-separated attribution methods; the first is the heatmap judged and ranks the reduction test "
        "(default: the method the planted-shortcut results recommend for the model's family, then gradient, loo, "
        "integrated-gradients; README, 'Defaults').",
    ),
    beam: int = typer.Option(5, "--beam", help="Beam width of the reduction test (0: skip it)."),
    mlm: Optional[str] = typer.Option(None, "--mlm", help="Masked LM directory: adds marginalization-adaptive (with standard errors)."),
    index: Optional[Path] = typer.Option(None, "--index", help="DkNN index folder: adds credibility and conformity."),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Write a run folder (cards, attributions, metrics, reductions) instead of printing every card; a rerun resumes."
    ),
    chunk: int = typer.Option(32, "--chunk", help="With --out: examples computed and committed together."),
    device: str = DeviceOpt,
    trust_remote_code: bool = TrustOpt,
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Should you trust this heatmap? One trust card per prediction.

    Agreement of methods, faithfulness, saturation, the reduction test, DkNN credibility and
    estimation noise, with a verdict and what to do about it.
    """
    from .audit.checking import check as check_cards  # lazy: torch, kept off CLI start-up
    from .audit.checking import check_spec  # lazy: torch, kept off CLI start-up

    try:
        from .attribution import check_method  # lazy: torch, kept off CLI start-up

        chosen = names(methods) if methods else None
        spec = check_spec(
            chosen, beam=beam, mlm=mlm is not None, index=index is not None, chunk=chunk
        )  # every name checked before the model loads
        for n in spec.methods:
            check_method(n, available=[k for k, v in (("mlm", mlm), ("index", index)) if v is not None])
        examples, clf = _inputs_and_model(model, text, pair, data, limit, data_dir, device, trust_remote_code)
        cards = check_cards(
            clf, examples, methods=chosen, beam=beam, mlm=mlm, index=str(index) if index is not None else None,
            out=out, model_source=model, data_spec=data or text, chunk=chunk, show_progress=out is not None,
        )
    except InputError as err:
        _fail(str(err))
    if out is None:
        for c in cards:
            render_card(c, console)
            console.print()
        if len(cards) > 1:
            _summary(console, cards)
        return
    _summary(console, cards)
    console.print(f"{len(cards)} trust cards in the run folder {out} (pathologies report {out} renders them)")


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
