"""A reduction path in the terminal, like Feng et al.'s Figure 5: one line per step with the
confidence in the kept label, the heatmap of that step, and the word removed next struck out."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from ..records import Reduction, label_name
from .terminal import heatmap_text


def render_reduction(r: Reduction, console: Console | None = None) -> None:
    console = console or Console()
    head = Text(f"input reduction ({r.importance}, beam {r.beam}): ", style="bold")
    head.append(f"label kept {label_name(r.labels, r.predicted)}, {len(r.original)} → {len(r.final)} words, "
                f"{r.model_calls} model rows")
    console.print(head)
    if r.fixed is not None:
        console.print(Text("fixed: " + " ".join(r.fixed), style="dim"))
    for step in r.path:
        line = Text(f"{step.confidence:6.3f}  ")
        heat = heatmap_text(step.words, step.scores)
        if step.removed_index is not None:
            # Mark the word removed next: struck through and underlined.
            start = sum(len(w) + 1 for w in step.words[: step.removed_index])
            heat.stylize("strike underline bold", start, start + len(step.words[step.removed_index]))
        line.append_text(heat)
        console.print(line)
    if r.random_baseline:
        b = r.random_baseline
        console.print(
            Text(
                f"random removal to {len(b['words'])} words: {' '.join(b['words'])}  "
                f"({label_name(r.labels, b['predicted'])}, confidence in {label_name(r.labels, r.predicted)} {b['confidence']:.3f})",
                style="dim",
            )
        )
