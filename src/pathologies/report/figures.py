"""The report's figures: computed from a model and examples, drawn with matplotlib as PNG data URIs."""

from __future__ import annotations

import base64
import io
from typing import Sequence

import numpy as np

from ..engine import ScoringEngine
from ..metrics import ranking
from ..models import TorchClassifier
from ..text import Example


def png_data_uri(fig) -> str:
    """A matplotlib figure as an inline ``data:image/png;base64,...`` URI (no files, no network)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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


def confidence_after_removal(
    model: TorchClassifier,
    examples: Sequence[Example],
    scores: Sequence[Sequence[float]],
    targets: Sequence[int],
    engine: ScoringEngine,
    max_removed: int = 15,
) -> dict[str, list[list[float]]]:
    """Confidence in the predicted class with 0..max_removed most / least important words removed.

    Words are ranked once, on the original input (PCT's Figure 2). An example contributes to
    k only while it has more than k words.
    """
    variants, keys = [], []
    for i, (ex, sc) in enumerate(zip(examples, scores)):
        order = ranking(sc)
        for k in range(0, min(max_removed, len(ex.words) - 1) + 1):
            variants.append(ex.without(order[:k]))
            keys.append(("important", k, i))
            if k:
                variants.append(ex.without(order[len(order) - k :]))
                keys.append(("unimportant", k, i))
    probs = engine.probabilities(variants)
    out = {"important": [[] for _ in range(max_removed + 1)], "unimportant": [[] for _ in range(max_removed + 1)]}
    for (kind, k, i), p in zip(keys, probs):
        out[kind][k].append(float(p[targets[i]]))
        if k == 0:
            out["unimportant"][0].append(float(p[targets[i]]))
    return out


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


def projection(
    model: TorchClassifier, example: Example, scores: Sequence[float], max_removed: int = 8
) -> str:
    """PCA of sentence representations of an example and its reduced versions (PCT's Figure 3).

    Positive set: the original with 1..n least important words removed (cumulatively);
    negative set: with 1..n most important words removed.
    """
    plt = _plt()
    order = ranking(scores)
    n = min(max_removed, len(example.words) - 1)
    positives = [example.without(order[len(order) - k :]) for k in range(1, n + 1)]
    negatives = [example.without(order[:k]) for k in range(1, n + 1)]
    reps = model.representations([example] + positives + negatives).sentence.numpy()
    centered = reps - reps.mean(0)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    xy = centered @ vt[:2].T
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(xy[1 : n + 1, 0], xy[1 : n + 1, 1], c="#55a868", label="unimportant removed")
    ax.scatter(xy[n + 1 :, 0], xy[n + 1 :, 1], c="#c44e52", label="important removed")
    ax.scatter(xy[:1, 0], xy[:1, 1], c="black", marker="*", s=160, label="original")
    for k in range(n):
        ax.annotate(str(k + 1), xy[1 + k], fontsize=7)
        ax.annotate(str(k + 1), xy[n + 1 + k], fontsize=7)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(fontsize=7)
    ax.set_title("sentence representations (PCA)")
    return png_data_uri(fig)
