"""``pathologies dknn``: build deep k-nearest-neighbour indexes for DkNN answers and conformity."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from .cli_common import DataDir, DeviceOpt, TrustOpt, _device, _fail, _offline_defaults, console
from .data import DATASETS, load_dataset, parse_spec
from .text import InputError

dknn_app = typer.Typer(
    help="Deep k-nearest-neighbour indexes (Papernot & McDaniel 2018) for DkNN predictions, "
    "credibility and conformity attributions (explain --method conformity --index INDEX).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

@dknn_app.callback()
def _group() -> None:
    """Deep k-nearest-neighbour indexes (Papernot & McDaniel 2018)."""
    # A callback keeps ``fit`` a subcommand even while it is the group's only command.


@dknn_app.command()
def fit(
    model: str = typer.Argument(..., help="Model directory (or HF hub name)."),
    data: str = typer.Option("sst2:train", "--data", help="Labelled training data to index: NAME:SPLIT[:N]."),
    calibration: Optional[str] = typer.Option(
        None, "--calibration", help="Held-out labelled data for credibility: NAME:SPLIT[:N], e.g. sst2:dev:400."
    ),
    out: Path = typer.Option(..., "--out", help="Folder to write the index to."),
    k: int = typer.Option(75, "--k", help="Neighbours per layer."),
    metric: str = typer.Option("cosine", "--metric", help="cosine or l2."),
    layer: Optional[List[str]] = typer.Option(
        None, "--layer", help="Index only this layer (repeatable); default: every layer and the sentence vector."
    ),
    device: str = DeviceOpt,
    trust_remote_code: bool = TrustOpt,
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Index every layer's representation of the training data; calibrate on held-out data."""
    from .dknn import DkNN  # lazy: torch, kept off CLI start-up
    from .engine import ScoringEngine  # lazy: torch, kept off CLI start-up
    from .models import load_classifier  # lazy: torch, kept off CLI start-up

    _offline_defaults()
    try:
        if calibration is not None and _same_split(data, calibration):
            raise InputError("the calibration data must not be the training data: give a held-out split")
        train = _load(data, data_dir)
        calib = _load(calibration, data_dir) if calibration is not None else None
        clf = load_classifier(model, device=_device(device), trust_remote_code=trust_remote_code)  # device said on stderr
        engine = ScoringEngine(clf, show_progress=True)
        start = time.perf_counter()
        dknn = DkNN(k=k, metric=metric, layers=layer or None).fit(clf, train, engine, show_progress=True)
        if calib is not None:
            dknn.calibrate(clf, calib, engine)
        seconds = time.perf_counter() - start
        dknn.save(out, meta={"model": model, "data": data, "calibration": calibration})
    except InputError as err:
        _fail(str(err))
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    cal = f", calibrated on {len(calib)} examples" if calib is not None else " (not calibrated: no credibility)"
    console.print(
        f"[bold]DkNN index[/] of {len(train)} examples, {len(dknn.layers_)} layers "
        f"({', '.join(dknn.layers_)}), k={k}, {metric}{cal}: {size / 2**20:.1f} MiB in {out} ({seconds:.0f} s)"
    )


def _load(spec: str, data_dir: Path | None):

    name, split, limit = parse_spec(spec)
    return load_dataset(name, split, data_dir=data_dir, limit=limit).examples


def _same_split(a: str, b: str) -> bool:
    """Whether two data specs name the same split (no split = the data set's eval split)."""

    def split(spec: str) -> tuple[str, str | None]:
        name, part, _ = parse_spec(spec)
        info = DATASETS.get(name)
        return name, part or (info.eval_split if info else None)

    return split(a) == split(b)
