"""The main job on the embedded default: an SST-2 MiniLM classifier, trained once and cached,
explaining a few dev sentences with input-gradient heatmaps."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from .text import InputError

#: One epoch of MiniLM fine-tuning on SST-2 train: a few minutes on 2 CPU cores.
DEMO_EPOCHS = 1


def cache_dir() -> Path:
    """Where the demo keeps its model ($PATHOLOGIES_CACHE, else the user's cache folder)."""
    import os

    from platformdirs import user_cache_dir

    return Path(os.environ.get("PATHOLOGIES_CACHE") or user_cache_dir("pathologies"))


def demo_model_dir(data_dir: str | Path | None = None, console: Console | None = None) -> Path:
    """The cached demo model, trained now if it is not there yet."""
    from .training import TrainConfig, train_model

    console = console or Console()
    out = cache_dir() / "models" / "minilm-sst2-demo"
    metrics = out / "train_metrics.json"
    if metrics.is_file():
        acc = json.loads(metrics.read_text())["eval_accuracy"]
        console.print(f"using the cached demo model {out} (SST-2 dev accuracy {acc:.3f})")
        return out
    console.print(
        f"training the demo model once: MiniLM (all-MiniLM-L6-v2) on SST-2 train, {DEMO_EPOCHS} epoch; "
        f"it is cached in {out}"
    )
    _, result = train_model(
        "minilm",
        "sst2",
        out_dir=out,
        config=TrainConfig(epochs=DEMO_EPOCHS, batch_size=32),
        data_dir=data_dir,
        log=console.print,
    )
    console.print(f"SST-2 dev accuracy {result.eval_accuracy:.3f} after {result.seconds:.0f} s")
    return out


def run_demo(
    model: str | None = None, n: int = 5, data_dir: str | Path | None = None, console: Console | None = None
) -> None:
    """Explain ``n`` SST-2 dev sentences with input gradients and print the heatmaps."""
    from .data import load_dataset
    from .explain import explain
    from .models import load_classifier
    from .report import render_attribution

    console = console or Console()
    if n < 1:
        raise InputError("-n must be at least 1")
    path = Path(model) if model else demo_model_dir(data_dir, console)
    clf = load_classifier(str(path))
    dev = load_dataset("sst2", "dev", data_dir=data_dir, limit=n)
    console.rule("input gradient (embedding · gradient) on SST-2 dev; blue: for the class, red: against")
    for att in explain(clf, dev.examples, method="gradient"):
        render_attribution(att, console)
        console.print()
