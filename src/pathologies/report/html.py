"""The self-contained HTML report, rendered from run folders (no model needed).

One file, no network needed to open it: styles inline, figures as PNG data URIs, no
scripts. Several runs are shown side by side. Jinja2 autoescaping escapes every piece of
text from the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..audit import Run
from ..metrics import METRICS
from ..text import InputError
from .colors import word_cells  # noqa: F401  (part of the public view API)
from .qa_view import render_qa_report
from .templates import STYLE, environment
from .views import run_section

FIGURES = (
    ("lengths", "Original vs reduced length"),
    ("density", "Confidence with important / unimportant words removed"),
    ("projection", "Representations of an example and its reduced versions"),
)


def render_report(runs: Sequence["Run"], title: str = "pathologies report", subtitle: str = "", n_show: int = 5) -> str:
    """The HTML text of a report over one or more runs (classifier runs, or question-answering
    runs: :func:`pathologies.report.qa_view.render_qa_report`)."""
    if not runs:
        raise InputError("the report needs at least one run")
    qa = [r for r in runs if r.task == "qa"]
    if qa:
        if len(qa) != len(runs):
            raise InputError("a report shows classifier runs or question-answering runs, not both; make one report of each")
        return render_qa_report(runs, title, subtitle, n_show)  # type: ignore[arg-type]
    sections = [run_section(r, n_show=n_show) for r in runs]
    names = [k for k in METRICS if any(k in row for s in sections for row in s["table"].values())]
    return environment().get_template("report").render(
        title=title, subtitle=subtitle, sections=sections, metric_names=names, info=METRICS,
        figure_headings=FIGURES, style=STYLE,
    )


def write_report(runs: Sequence["Run | str | Path"], out: str | Path, *, title: str | None = None, n_show: int = 5) -> Path:
    """Write the report of one or more runs (folders or loaded runs) to ``out``."""
    loaded = [Run.load(r) if isinstance(r, (str, Path)) else r for r in runs]
    title = title or ("pathologies report" + (" (comparison)" if len(loaded) > 1 else ""))
    subtitle = "runs: " + ", ".join(str(r.path or r.name) for r in loaded)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(loaded, title, subtitle, n_show=n_show), encoding="utf-8")
    return out


def compare_rows(before: "Run", after: "Run", method: str | None = None) -> tuple[str, list[tuple[str, float, float]]]:
    """The metrics two runs share for one method: (metric, before, after)."""
    if before.task != "classify" or after.task != "classify":
        raise InputError("compare reads classifier runs; question-answering runs side by side: pathologies report RUN RUN")
    shared = [m for m in before.methods if m in after.methods and m in before.table and m in after.table]
    if method is None:
        if not shared:
            raise InputError(
                f"the runs share no method with metrics: {', '.join(before.methods) or '–'} vs {', '.join(after.methods) or '–'}"
            )
        method = shared[0]
    elif method not in shared:
        raise InputError(f"method {method!r} is not in both runs with metrics; shared: {', '.join(shared) or 'none'}")
    a, b = before.table[method], after.table[method]
    rows: list[tuple[str, float, float]] = [(k, a[k], b[k]) for k in METRICS if k in a and k in b]
    ra, rb = before.summary.get("reduction"), after.summary.get("reduction")
    if ra and rb:
        for key in ("mean_reduced_length", "mean_confidence_reduced", "random_mean_confidence"):
            if key in ra and key in rb:
                rows.append((f"reduction: {key}", ra[key], rb[key]))
    return method, rows
