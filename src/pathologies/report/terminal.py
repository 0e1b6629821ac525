"""Heatmaps in the terminal (rich): the background of each word shows its score."""

from __future__ import annotations

from typing import Sequence

from rich.console import Console
from rich.text import Text

from ..records import Attribution, label_name
from .colors import score_color


def heatmap_text(words: Sequence[str], scores: Sequence[float]) -> Text:
    """The words with backgrounds scaled by |score| relative to the largest |score|."""
    scale = max((abs(s) for s in scores), default=0.0)
    text = Text()
    for i, (w, s) in enumerate(zip(words, scores)):
        if i:
            text.append(" ")
        text.append(w, style=f"black on {score_color(s, scale)}" if scale > 0 else "black on default")
    return text


def render_attribution(att: Attribution, console: Console | None = None, *, show_scores: bool = False) -> None:
    """Print one attribution: prediction, heatmap, and optionally the scores."""
    console = console or Console()
    pred = att.predicted
    head = Text(f"{att.method}  ", style="bold")
    head.append(f"target {label_name(att.labels, att.target)} (p={att.probs[att.target]:.3f})")
    if pred != att.target:
        head.append(f", predicted {label_name(att.labels, pred)} (p={att.probs[pred]:.3f})")
    if att.label is not None:
        head.append(f", gold {label_name(att.labels, att.label)}")
    console.print(head)
    if att.fixed is not None:
        console.print(Text("fixed: " + " ".join(att.fixed), style="dim"))
    console.print(heatmap_text(att.words, att.scores))
    if show_scores:
        errors = att.errors or [None] * len(att.words)
        console.print(
            Text(
                "  ".join(
                    f"{w}={s:+.3f}" + (f"±{e:.3f}" if e else "") for w, s, e in zip(att.words, att.scores, errors)
                ),
                style="dim",
            )
        )
