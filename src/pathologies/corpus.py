"""Corpus-level views of a run: global word importance and the words the model decides on alone.

Pure functions over records (``Attribution`` / ``Reduction`` objects or their dicts, as a
run folder stores them); nothing here loads a model. Each returns a list of plain dicts
(JSON-ready rows); :func:`to_frame` turns rows into a pandas DataFrame (pandas is imported
only then).

- :func:`word_importance`: per word type (lower-cased by default) and per predicted class,
  how often it occurs, the mean and spread of its attribution, its mean |attribution|, how
  consistent its sign is, and ``importance``, the count-aware statistic rows are ranked by
  (see :func:`shrunk_importance`). Scores are for each record's target class (the predicted
  class unless a target was given). ``normalize="max"`` divides each record's scores by its
  largest |score| first, so inputs and methods of different scales weigh alike.
- :func:`decisive_words`: the final words of input reductions (Feng et al. 2018), i.e. what
  the model keeps its label on alone, ranked by how many inputs reduce to them, with the mean
  confidence on them and the random-removal baseline's confidence at the same lengths.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

from .records import label_name

ALL = "all"


def _get(record: Any, name: str, default: Any = None) -> Any:
    if isinstance(record, Mapping):
        return record.get(name, default)
    return getattr(record, name, default)


def _predicted(record: Any) -> int:
    probs = _get(record, "probs")
    if probs:
        return max(range(len(probs)), key=lambda i: probs[i])
    return int(_get(record, "target"))


def word_importance(
    attributions: Iterable[Any],
    *,
    lower: bool = True,
    by_class: bool = True,
    normalize: str | None = None,
    min_count: int = 1,
) -> list[dict[str, Any]]:
    """Global word importance: one row per (word type, predicted class), and per word type
    over all classes (``class = "all"``).

    Row fields: ``word``, ``class``, ``count`` (occurrences), ``examples`` (records it occurs
    in), ``mean``, ``std`` (population), ``mean_abs``, ``positive_share`` (scores > 0),
    ``negative_share`` (< 0), ``sign_consistency`` (share with the majority sign, zeros
    counted against it), ``method`` (the methods seen, comma-joined), and the count-aware
    ranking statistic of :func:`shrunk_importance`: ``shrunk_mean``, ``se`` and
    ``importance`` (= |shrunk_mean| − se). Sorted by class, then ``importance`` (largest
    first), then count. ``normalize``: None or ``"max"``.

    Why not mean |score|: ranked by it, a word seen once with one large score beats a word
    the model reads the same way in hundreds of sentences (on an SNLI model none of the
    known annotation artifacts reached entailment's top 20; on a planted shortcut the planted
    token missed its class's top 3). ``importance`` needs both a large mean and the evidence
    of many occurrences.
    """
    if normalize not in (None, "max"):
        raise ValueError("normalize must be None or 'max'")
    stats: dict[tuple[str, str], dict[str, Any]] = {}
    for n, rec in enumerate(attributions):
        words = list(_get(rec, "words"))
        scores = [float(x) for x in _get(rec, "scores")]
        if normalize == "max":
            scale = max((abs(s) for s in scores), default=0.0)
            scores = [s / scale if scale > 0 else 0.0 for s in scores]
        cls = label_name(_get(rec, "labels"), _predicted(rec), "?")
        method = _get(rec, "method")
        keys = [ALL] + ([cls] if by_class else [])
        for w, s in zip(words, scores):
            key_word = w.lower() if lower else w
            for c in keys:
                st = stats.setdefault((key_word, c), {"scores": [], "records": set(), "methods": set()})
                st["scores"].append(s)
                st["records"].add(n)
                if method:
                    st["methods"].add(method)
    pooled: dict[str, list[float]] = {}  # per class: every score, for the prior spread
    for (word, cls), st in stats.items():
        pooled.setdefault(cls, []).extend(st["scores"])
    spread = {c: _variance(xs) for c, xs in pooled.items()}
    rows = []
    for (word, cls), st in stats.items():
        xs = st["scores"]
        k = len(xs)
        if k < min_count:
            continue
        mean = sum(xs) / k
        pos = sum(x > 0 for x in xs)
        neg = sum(x < 0 for x in xs)
        shrunk, se = shrunk_importance(xs, spread[cls])
        rows.append(
            {
                "word": word,
                "class": cls,
                "count": k,
                "examples": len(st["records"]),
                "mean": mean,
                "std": math.sqrt(sum((x - mean) ** 2 for x in xs) / k),
                "mean_abs": sum(abs(x) for x in xs) / k,
                "positive_share": pos / k,
                "negative_share": neg / k,
                "sign_consistency": max(pos, neg) / k,
                "method": ",".join(sorted(st["methods"])),
                "shrunk_mean": shrunk,
                "se": se,
                "importance": abs(shrunk) - se,
            }
        )
    rows.sort(key=lambda r: (r["class"] != ALL, r["class"], -r["importance"], -r["count"], r["word"]))
    return rows


#: Pseudo-observations of the prior in :func:`shrunk_importance`.
PRIOR_WEIGHT = 1.0


def _variance(xs: Sequence[float]) -> float:
    if not xs:
        return 0.0
    m = sum(xs) / len(xs)
    return sum((x - m) ** 2 for x in xs) / len(xs)


def shrunk_importance(xs: Sequence[float], prior_variance: float, prior_weight: float = PRIOR_WEIGHT) -> tuple[float, float]:
    """A word's mean score shrunk toward 0, and its standard error (a normal prior).

    The prior is ``prior_weight`` pseudo-observations of score 0 with the spread of all the
    class's scores (``prior_variance``): shrunk mean = Σx / (n + n₀); its variance estimate
    v = (Σ(x − x̄)² + n₀ · prior_variance) / (n + n₀) and standard error √(v / (n + n₀)).
    ``importance`` = |shrunk mean| − standard error, a lower confidence bound (one standard
    error) on how strongly the word moves the class. Why this and not the sample's own
    standard error: a word seen once has no sample spread, so mean − s/√n would rank one-off
    words first again; the pooled spread gives it the uncertainty of a typical score. With
    many occurrences both terms fade and the statistic is the word's mean.
    """
    n = len(xs)
    total = n + prior_weight
    mean = sum(xs) / n if n else 0.0
    v = (sum((x - mean) ** 2 for x in xs) + prior_weight * prior_variance) / total
    return sum(xs) / total, math.sqrt(v / total)


def decisive_words(
    reductions: Iterable[Any],
    *,
    lower: bool = True,
    unit: str = "phrase",
    max_length: int | None = None,
) -> list[dict[str, Any]]:
    """The words the model decides on alone: the final inputs of reductions, per predicted class.

    ``unit="phrase"``: one row per distinct final input (its words joined by spaces);
    ``unit="word"``: one row per word type occurring in final inputs. ``max_length``: only
    reductions that end with at most this many words (1: "decides on one word").

    Row fields: ``words``, ``class``, ``count`` (reductions ending on it; every reduction
    keeps its label by construction), ``share`` (of the class's reductions), ``mean_confidence``
    (in the kept label, on the reduced input), ``mean_original_confidence``,
    ``mean_random_confidence`` (random removal to the same length; None without baselines),
    ``random_kept_share`` (how often random removal kept the label), ``mean_original_length``.
    Rows per class and over all classes (``class = "all"``); sorted by class, count (largest
    first), then mean confidence.
    """
    if unit not in ("phrase", "word"):
        raise ValueError("unit must be 'phrase' or 'word'")
    groups: dict[tuple[str, str], list[Any]] = {}
    totals: dict[str, int] = {}
    for rec in reductions:
        final = list(_get(rec, "final"))
        cls = label_name(_get(rec, "labels"), _get(rec, "predicted"), "?")
        totals[cls] = totals.get(cls, 0) + 1
        totals[ALL] = totals.get(ALL, 0) + 1
        if max_length is not None and len(final) > max_length:
            continue
        final = [w.lower() for w in final] if lower else final
        keys = [" ".join(final)] if unit == "phrase" else sorted(set(final))
        for key in keys:
            for c in (ALL, cls):
                groups.setdefault((key, c), []).append(rec)
    rows = []
    for (key, cls), recs in groups.items():
        n = len(recs)
        baselines = [_get(r, "random_baseline") for r in recs]
        baselines = [b for b in baselines if b]
        rows.append(
            {
                "words": key,
                "class": cls,
                "count": n,
                "share": n / totals[cls],
                "mean_confidence": sum(float(_get(r, "final_confidence")) for r in recs) / n,
                "mean_original_confidence": sum(float(_get(r, "original_confidence")) for r in recs) / n,
                "mean_random_confidence": sum(float(b["confidence"]) for b in baselines) / len(baselines) if baselines else None,
                "random_kept_share": sum(bool(b.get("kept_prediction")) for b in baselines) / len(baselines) if baselines else None,
                "mean_original_length": sum(len(_get(r, "original")) for r in recs) / n,
            }
        )
    rows.sort(key=lambda r: (r["class"] != ALL, r["class"], -r["count"], -r["mean_confidence"], r["words"]))
    return rows


def to_frame(rows: Sequence[Mapping[str, Any]]):
    """Rows as a pandas DataFrame (pandas is imported here only)."""
    try:
        import pandas as pd
    except ImportError as err:  # pragma: no cover - pandas is a dependency of the package
        raise ImportError("to_frame needs pandas (pip install pandas)") from err
    return pd.DataFrame(list(rows))


def word_importance_frame(attributions: Iterable[Any], **kw):
    """:func:`word_importance` as a DataFrame."""
    return to_frame(word_importance(attributions, **kw))


def decisive_words_frame(reductions: Iterable[Any], **kw):
    """:func:`decisive_words` as a DataFrame."""
    return to_frame(decisive_words(reductions, **kw))


__all__ = ["word_importance", "decisive_words", "to_frame", "word_importance_frame", "decisive_words_frame"]
