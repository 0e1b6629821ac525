"""Views of trust cards: the terminal card (rich) and a small HTML card for notebooks.

Both read a :class:`pathologies.records.TrustCard` record only; nothing here runs a model.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..records import label_name
from .colors import word_cells
from .terminal import heatmap_text

if TYPE_CHECKING:  # pragma: no cover
    from ..records import TrustCard

VERDICT_STYLE = {"trust": "bold green", "caution": "bold yellow", "do not trust": "bold red"}
STATUS_MARK = {"ok": ("ok", "green"), "info": ("··", "dim"), "warn": ("!!", "yellow"), "bad": ("XX", "red")}


def _value(v) -> str:
    if v is None:
        return "–"
    return f"{v:+.3f}" if isinstance(v, float) and v < 0 else f"{v:.3f}"


def render_card(card: "TrustCard", console: Console | None = None) -> None:
    """Print a trust card: prediction, verdict with score, the primary heatmap, each signal
    (status, number, sentence), and the reasons with what to do."""
    console = console or Console()
    head = Text("trust check  ", style="bold")
    head.append(f"predicted {card.predicted_label} (p={card.confidence:.3f})")
    if card.label is not None:
        gold = label_name(card.labels, card.label)
        head.append(f", gold {gold}" + ("" if card.correct else " [wrong]"))
    if card.uid:
        head.append(f"  {card.uid}", style="dim")
    console.print(head)
    if card.fixed is not None:
        console.print(Text("fixed: " + " ".join(card.fixed), style="dim"))
    if card.heatmap is not None:
        line = Text(f"{card.primary}: ", style="dim")
        line.append_text(heatmap_text(card.words, card.heatmap))
        console.print(line)
    verdict = Text("verdict: ", style="bold")
    verdict.append(card.verdict.upper(), style=VERDICT_STYLE.get(card.verdict, "bold"))
    verdict.append(f"  (trust score {card.score:.2f})")
    console.print(verdict)
    table = Table(show_header=False, box=None, pad_edge=False, expand=False)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(overflow="fold")
    for s in card.signals:
        mark, style = STATUS_MARK.get(s.status, ("?", ""))
        table.add_row(Text(mark, style=style), s.name, _value(s.value), s.sentence)
    console.print(table)
    if card.verdict != "trust":
        for r in card.reasons:
            console.print(Text("  → " + r))


def card_html(card: "TrustCard") -> str:
    """A self-contained HTML card (escaped text, inline styles) for notebooks and reports."""
    colors = {"trust": "#1a7f37", "caution": "#9a6700", "do not trust": "#cf222e"}
    status_color = {"ok": "#1a7f37", "info": "#57606a", "warn": "#9a6700", "bad": "#cf222e"}
    e = html.escape
    words = ""
    if card.heatmap is not None:
        words = " ".join(
            f'<span style="background:{c["color"]};padding:0 2px" title="{e(c["score"])}">{e(c["word"])}</span>'
            for c in word_cells(card.words, card.heatmap)
        )
    rows = "".join(
        f'<tr><td style="color:{status_color.get(s.status, "#000")}">{e(s.status)}</td><td>{e(s.name)}</td>'
        f"<td>{e(_value(s.value))}</td><td>{e(s.sentence)}</td></tr>"
        for s in card.signals
    )
    reasons = "".join(f"<li>{e(r)}</li>" for r in card.reasons) if card.verdict != "trust" else ""
    return (
        '<div class="trust-card" style="font-family:sans-serif;max-width:60em">'
        f"<div><b>predicted {e(card.predicted_label)}</b> (p={card.confidence:.3f}) — "
        f'<b style="color:{colors.get(card.verdict, "#000")}">{e(card.verdict)}</b> (trust score {card.score:.2f})</div>'
        f'<div style="margin:.4em 0">{e(card.primary or "")}: {words}</div>'
        f'<table style="border-collapse:collapse;font-size:90%">{rows}</table>'
        + (f"<ul>{reasons}</ul>" if reasons else "")
        + "</div>"
    )
