"""The self-contained HTML report: metric table, heatmaps, reduction paths and figures.

One file, no network needed to open it: styles inline, figures as PNG data URIs, no
scripts. Jinja2 autoescaping escapes every piece of text from the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from jinja2 import Environment, select_autoescape

from ..attribution import method_by_name
from ..engine import ScoringEngine
from ..explain import as_examples, explain
from ..metrics import METRICS, PER_EXAMPLE, evaluate_methods
from ..models import TorchClassifier
from ..reduction import reduce_inputs, summarize
from ..text import InputError
from . import figures


def word_cells(words: Sequence[str], scores: Sequence[float], marked: int | None = None) -> list[dict]:
    """Words with their background colours (blue: for the class, red: against)."""
    scale = max((abs(s) for s in scores), default=0.0) or 1.0
    cells = []
    for i, (w, s) in enumerate(zip(words, scores)):
        a = min(1.0, abs(s) / scale)
        fade = int(255 * (1 - 0.8 * a))
        color = f"rgb({fade},{fade},255)" if s >= 0 else f"rgb(255,{fade},{fade})"
        cells.append({"word": w, "score": f"{s:+.4f}", "color": color, "marked": i == marked})
    return cells


@dataclass
class ModelSection:
    """Everything the report shows for one model."""

    name: str
    table: dict[str, dict[str, float]]
    heatmaps: list[dict[str, Any]] = field(default_factory=list)
    reductions: list[dict[str, Any]] = field(default_factory=list)
    reduction_summary: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, str] = field(default_factory=dict)


def model_section(
    name: str,
    model: TorchClassifier,
    examples,
    methods: Sequence[str],
    *,
    n_show: int = 5,
    n_metrics: int | None = None,
    show_progress: bool = False,
    metrics: Sequence[str] | None = None,
    mlm=None,
    index=None,
) -> ModelSection:
    """Compute the metric table, heatmaps, reduction paths and figures for one model.

    ``metrics``: default the removal metrics, IoT and the neutral-word score (where the data
    has word tags), AUC_rep with a masked LM ``mlm``, DkNN credibility with an ``index``;
    with an index the reduction summary also gives the credibility of the reduced inputs.
    """
    examples = [model.fit_to_limit(ex) for ex in as_examples(examples)]
    if not methods:
        raise InputError("the report needs at least one attribution method")
    engine = ScoringEngine(model)
    subset = examples[:n_metrics] if n_metrics else examples
    if metrics is None:
        metrics = list(PER_EXAMPLE) + ["iot", "neutral"] + (["auc_rep"] if mlm else []) + (["dknn"] if index else [])
    if isinstance(index, (str, Path)):
        from ..dknn import DkNN

        index = DkNN.load(index)
    table = evaluate_methods(model, subset, methods, metrics=metrics, show_progress=show_progress, mlm=mlm, index=index)
    section = ModelSection(name=name, table=table)
    shown = examples[:n_show]
    objects = {m: method_by_name(m, mlm=mlm, index=index) for m in methods}
    per_method = {m: explain(model, shown, objects[m], engine=engine) for m in methods}
    labels = model.labels
    for i, ex in enumerate(shown):
        first = per_method[methods[0]][i]
        section.heatmaps.append(
            {
                "uid": ex.uid,
                "fixed": " ".join(ex.fixed) if ex.fixed else None,
                "predicted": labels[first.target],
                "confidence": f"{first.probs[first.target]:.3f}",
                "gold": labels[ex.label] if ex.label is not None else None,
                "rows": [{"method": m, "cells": word_cells(per_method[m][i].words, per_method[m][i].scores)} for m in methods],
            }
        )
    reductions = reduce_inputs(model, subset, engine=engine)
    for r in reductions[:n_show]:
        section.reductions.append(
            {
                "uid": r.uid,
                "label": labels[r.predicted],
                "steps": [
                    {"confidence": f"{s.confidence:.3f}", "cells": word_cells(s.words, s.scores, s.removed_index)}
                    for s in r.path
                ],
                "random": " ".join(r.random_baseline["words"]) if r.random_baseline else "",
            }
        )
    summary = {k: v for k, v in summarize(reductions).items() if k != "reduced_length_histogram"}
    if index is not None and getattr(index, "calibration_", None) is not None:
        before = index.predict(model, subset, engine).credibility
        after = index.predict(model, [ex.with_words(r.final) for ex, r in zip(subset, reductions)], engine).credibility
        summary["mean_credibility_original"] = float(before.mean())
        summary["mean_credibility_reduced"] = float(after.mean())
    section.reduction_summary = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in summary.items()}
    section.figures["lengths"] = figures.length_histogram(
        [len(r.original) for r in reductions], [len(r.final) for r in reductions], f"{name}: input reduction (gradient, greedy)"
    )
    atts = explain(model, subset, objects[methods[0]], engine=engine)
    curves = figures.confidence_after_removal(
        model, subset, [a.scores for a in atts], [a.target for a in atts], engine
    )
    section.figures["density"] = figures.confidence_density(curves, f"{name}: words removed by {methods[0]} rank")
    longest = max(range(len(shown)), key=lambda i: len(shown[i].words))
    section.figures["projection"] = figures.projection(model, shown[longest], atts[longest].scores)
    return section


TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.cols { display: grid; grid-template-columns: repeat({{ sections|length }}, minmax(0, 1fr)); gap: 1.5em; }
table.metrics { border-collapse: collapse; font-size: 0.9em; }
table.metrics td, table.metrics th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
table.metrics th:first-child, table.metrics td:first-child { text-align: left; }
.heat { line-height: 2; margin: 0.2em 0; }
.heat span.w { display: inline-block; padding: 0 3px; border-radius: 3px; margin-right: 2px; }  /* inline-block: long sentences wrap */
.heat span.m { text-decoration: line-through; outline: 2px solid #333; }
.method { display: inline-block; width: 11em; color: #555; font-size: 0.85em; }
.conf { display: inline-block; width: 4em; color: #555; font-family: monospace; }
.meta { color: #666; font-size: 0.85em; }
img { max-width: 100%; }
</style></head>
<body>
<h1>{{ title }}</h1>
<p class="meta">{{ subtitle }}</p>

<h2>Metrics</h2>
<div class="cols">{% for s in sections %}<div><h3>{{ s.name }}</h3>
<table class="metrics"><tr><th>metric</th>{% for m in s.table %}<th>{{ m }}</th>{% endfor %}</tr>
{% for k in metric_names %}<tr><td title="{{ metric_info[k].description }}">{{ k }} {{ '↓' if metric_info[k].lower_is_better else '↑' }}</td>
{% for m, row in s.table.items() %}<td>{{ '%.4f'|format(row[k]) if k in row else '' }}</td>{% endfor %}</tr>
{% endfor %}</table>
<p class="meta">Input reduction: {% for k, v in s.reduction_summary.items() %}{{ k }} = {{ v }}{% if not loop.last %}; {% endif %}{% endfor %}</p>
</div>{% endfor %}</div>

<h2>Heatmaps</h2>
<p class="meta">Blue: evidence for the predicted class; red: against. Hover a word for its score.</p>
<div class="cols">{% for s in sections %}<div><h3>{{ s.name }}</h3>
{% for h in s.heatmaps %}<div class="example">
<p class="meta">{{ h.uid }}: predicted <b>{{ h.predicted }}</b> ({{ h.confidence }}){% if h.gold %}, gold {{ h.gold }}{% endif %}{% if h.fixed %}<br>fixed: {{ h.fixed }}{% endif %}</p>
{% for row in h.rows %}<div class="heat"><span class="method">{{ row.method }}</span>{% for c in row.cells %}<span class="w" style="background: {{ c.color }}" title="{{ c.score }}">{{ c.word }}</span>{% endfor %}</div>{% endfor %}
</div>{% endfor %}</div>{% endfor %}</div>

<h2>Reduction paths</h2>
<p class="meta">Each line: confidence in the kept label, the gradient heatmap at that step; the word removed next is struck out.</p>
<div class="cols">{% for s in sections %}<div><h3>{{ s.name }}</h3>
{% for r in s.reductions %}<div class="example"><p class="meta">{{ r.uid }}: label kept {{ r.label }}; random removal to the same length: {{ r.random }}</p>
{% for st in r.steps %}<div class="heat"><span class="conf">{{ st.confidence }}</span>{% for c in st.cells %}<span class="w{{ ' m' if c.marked else '' }}" style="background: {{ c.color }}" title="{{ c.score }}">{{ c.word }}</span>{% endfor %}</div>{% endfor %}
</div>{% endfor %}</div>{% endfor %}</div>

<h2>Original vs reduced length</h2>
<div class="cols">{% for s in sections %}<div><img alt="lengths {{ s.name }}" src="{{ s.figures.lengths }}"></div>{% endfor %}</div>

<h2>Confidence with important / unimportant words removed</h2>
<div class="cols">{% for s in sections %}<div><img alt="density {{ s.name }}" src="{{ s.figures.density }}"></div>{% endfor %}</div>

<h2>Representations of an example and its reduced versions</h2>
<div class="cols">{% for s in sections %}<div><img alt="projection {{ s.name }}" src="{{ s.figures.projection }}"></div>{% endfor %}</div>
</body></html>
"""


def render_report(sections: Sequence[ModelSection], title: str, subtitle: str = "") -> str:
    """The HTML text; every value from the data is escaped."""
    env = Environment(autoescape=select_autoescape(default_for_string=True, default=True))
    names = [k for k in METRICS if any(k in row for s in sections for row in s.table.values())]
    return env.from_string(TEMPLATE).render(
        title=title, subtitle=subtitle, sections=sections, metric_names=names, metric_info=METRICS
    )


def write_report(
    models: Sequence[tuple[str, TorchClassifier]],
    examples,
    out: str | Path,
    *,
    methods: Sequence[str] = ("gradient", "loo"),
    n_show: int = 5,
    n_metrics: int | None = None,
    title: str = "pathologies report",
    subtitle: str = "",
    show_progress: bool = False,
    metrics: Sequence[str] | None = None,
    mlm=None,
    indexes: Sequence[Any] | None = None,
) -> Path:
    """Compute every section (one per model; two models = a side-by-side comparison) and write the file.

    ``indexes``: a DkNN index per model (or None), in the order of ``models``.
    """
    indexes = list(indexes) if indexes else [None] * len(models)
    if len(indexes) != len(models):
        raise InputError(f"{len(indexes)} DkNN index(es) for {len(models)} model(s): give one per model")
    if isinstance(mlm, str):
        from ..models.mlm import load_mlm

        mlm = load_mlm(mlm)
    sections = [
        model_section(
            name, m, examples, methods, n_show=n_show, n_metrics=n_metrics, show_progress=show_progress,
            metrics=metrics, mlm=mlm, index=idx,
        )
        for (name, m), idx in zip(models, indexes)
    ]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(sections, title, subtitle), encoding="utf-8")
    return out
