"""Rendering in the terminal: attribution heatmaps and reduction paths."""

from .reduction_view import render_reduction
from .terminal import heatmap_text, render_attribution

__all__ = ["heatmap_text", "render_attribution", "render_reduction"]
