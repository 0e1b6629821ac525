"""The report's figures, drawn with matplotlib as PNG data URIs from a run's records (never a model)."""

from __future__ import annotations

import base64
import io
from typing import Sequence

import numpy as np



def png_data_uri(fig) -> str:
    """A matplotlib figure as an inline ``data:image/png;base64,...`` URI (no files, no network)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class _Figures:
    """matplotlib's object API (no pyplot: nothing global, quick to import)."""

    @staticmethod
    def subplots(*args, figsize=None, **kw):
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize)
        return fig, fig.subplots(*args, **kw)


def _plt() -> _Figures:
    return _Figures()


def length_histogram(original: Sequence[int], reduced: Sequence[int], title: str) -> str:
    """Distribution of original vs reduced lengths (input reduction)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    top = max(max(original, default=1), max(reduced, default=1))
    bins = np.arange(0, top + 2) - 0.5
    ax.hist(original, bins=bins, alpha=0.6, label="original", color="#4c72b0")
    ax.hist(reduced, bins=bins, alpha=0.7, label="reduced", color="#dd8452")
    ax.set_xlabel("length (words)")
    ax.set_ylabel("examples")
    ax.set_title(title)
    ax.legend()
    return png_data_uri(fig)


def confidence_density(curves: dict[str, list[list[float]]], title: str) -> str:
    """Violin plots of confidence for each number of removed words, important vs unimportant."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4), sharey=True)
    for ax, kind, color in zip(axes, ("important", "unimportant"), ("#c44e52", "#55a868")):
        data = [(k, v) for k, v in enumerate(curves[kind]) if len(v) >= 2]
        if data:
            parts = ax.violinplot([v for _, v in data], positions=[k for k, _ in data], showmedians=True)
            for body in parts["bodies"]:
                body.set_facecolor(color)
                body.set_alpha(0.5)
        ax.set_xlabel(f"{kind} words removed")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("confidence in the predicted class")
    fig.suptitle(title)
    return png_data_uri(fig)


def projection(record: dict) -> str:
    """PCA of sentence representations of an example and its reduced versions (PCT's
    Figure 3), drawn from a run's projection record."""
    plt = _plt()
    xy = np.asarray(record["points"], dtype=float)
    kind = record["kind"]
    ks = record["k"]
    fig, ax = plt.subplots(figsize=(5, 4))
    for name, color, marker, size in (
        ("unimportant removed", "#55a868", "o", 30),
        ("important removed", "#c44e52", "o", 30),
        ("original", "black", "*", 160),
    ):
        rows = [i for i, k in enumerate(kind) if k == name]
        if rows:
            ax.scatter(xy[rows, 0], xy[rows, 1], c=color, marker=marker, s=size, label=name)
    for i, k in enumerate(ks):
        if k:
            ax.annotate(str(k), xy[i], fontsize=7)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(fontsize=7)
    ax.set_title(f"{record.get('uid')}: sentence representations (PCA)")
    return png_data_uri(fig)


def curves_by_k(curve_records, max_removed: int = 15) -> dict[str, list[list[float]]]:
    """Per-example removal curves regrouped by the number of words removed."""
    out = {"important": [[] for _ in range(max_removed + 1)], "unimportant": [[] for _ in range(max_removed + 1)]}
    for rec in curve_records:
        for kind in out:
            for k, v in enumerate(rec[kind][: max_removed + 1]):
                out[kind][k].append(v)
    return out


def run_figures(run) -> dict[str, str]:
    """The report's figures for one run, drawn from its records."""
    figs: dict[str, str] = {}
    reds = run.records["reductions"]
    if reds:
        figs["lengths"] = length_histogram(
            [len(r["original"]) for r in reds], [len(r["final"]) for r in reds],
            f"{run.name}: input reduction ({run.manifest['spec']['reduce']})",
        )
    curves = run.records["curves"]
    if curves:
        figs["density"] = confidence_density(curves_by_k(curves), f"{run.name}: words removed by {curves[0]['method']} rank")
    projections = run.records["projections"]
    if projections:
        longest = max(projections, key=lambda r: r["words"])
        figs["projection"] = projection(longest)
    return figs
