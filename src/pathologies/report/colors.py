"""The one heatmap colour scale, for the terminal, the HTML report, notebooks and cards.

Blue for evidence for the target class, red against; the strength is |score| relative to the
largest |score| of the same heatmap.
"""

from __future__ import annotations

from typing import Sequence

#: How far the strongest word's colour goes from white (1: fully saturated).
STRENGTH = 0.8


def score_color(score: float, scale: float) -> str:
    """``rgb(r,g,b)`` for ``score`` on a heatmap whose largest |score| is ``scale`` (white when 0)."""
    a = min(1.0, abs(score) / scale) if scale > 0 else 0.0
    fade = int(255 * (1 - STRENGTH * a))
    return f"rgb({fade},{fade},255)" if score >= 0 else f"rgb(255,{fade},{fade})"


def word_cells(words: Sequence[str], scores: Sequence[float], marked: int | None = None) -> list[dict]:
    """Words with their background colours, formatted scores and the marked (removed) word."""
    scale = max((abs(s) for s in scores), default=0.0) or 1.0
    return [
        {"word": w, "score": f"{s:+.4f}", "color": score_color(s, scale), "marked": i == marked}
        for i, (w, s) in enumerate(zip(words, scores))
    ]
