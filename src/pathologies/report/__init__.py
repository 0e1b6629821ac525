"""Rendering: terminal heatmaps (HTML reports come with the metrics issue)."""

from .terminal import heatmap_text, render_attribution

__all__ = ["heatmap_text", "render_attribution"]
