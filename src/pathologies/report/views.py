"""Views of records: what the report and the notebook show, built from records alone.

Every function here reads records (attributions, reductions, a run) and renders; none
loads a model or computes a score.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from markupsafe import Markup

from ..corpus import ALL
from ..metrics import METRICS
from ..records import Attribution, Reduction, TrustCard, label_name, register_html
from .colors import word_cells
from .templates import STYLE, environment
from .trust_view import card_html

if TYPE_CHECKING:
    from ..audit import Run


def attribution_view(a: "Attribution") -> dict[str, Any]:
    return {
        "uid": a.uid,
        "method": a.method,
        "target": label_name(a.labels, a.target),
        "confidence": f"{a.probs[a.target]:.3f}",
        "gold": label_name(a.labels, a.label),
        "fixed": " ".join(a.fixed) if a.fixed else None,
        "cells": word_cells(a.words, a.scores),
    }


def reduction_view(r: "Reduction") -> dict[str, Any]:
    rb = r.random_baseline or {}
    return {
        "uid": r.uid,
        "label": label_name(r.labels, r.predicted),
        "original_length": len(r.original),
        "final_length": len(r.final),
        "original_confidence": f"{r.original_confidence:.3f}",
        "final_confidence": f"{r.final_confidence:.3f}",
        "steps": [
            {"confidence": f"{s.confidence:.3f}", "cells": word_cells(s.words, s.scores, s.removed_index)} for s in r.path
        ],
        "random": " ".join(rb.get("words", [])),
        "random_confidence": f"{rb['confidence']:.3f}" if "confidence" in rb else "–",
    }


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {x}" for k, x in v.items())
    return str(v)


REDUCTION_LABELS = {
    "examples": "examples",
    "mean_original_length": "mean original length (words)",
    "mean_reduced_length": "mean reduced length (words)",
    "share_reduced_to_1": "share reduced to 1 word",
    "share_reduced_to_2_or_less": "share reduced to 2 words or fewer",
    "mean_confidence_original": "mean confidence, original inputs",
    "mean_confidence_reduced": "mean confidence, reduced inputs",
    "random_mean_confidence": "mean confidence, random removal to the same length",
    "random_share_prediction_kept": "share of random removals that keep the label",
    "mean_model_calls": "mean model rows per example",
    "accuracy_original": "accuracy, original inputs",
    "accuracy_reduced": "accuracy, reduced inputs (the label is kept)",
    "mean_credibility_original": "mean DkNN credibility, original inputs",
    "mean_credibility_reduced": "mean DkNN credibility, reduced inputs",
    "reduced_length_histogram": "reduced lengths (words: examples)",
}


def provenance_rows(manifest: dict[str, Any], reduced_by: str | None = None) -> list[tuple[str, str]]:
    """The manifest in lines a reader scans: model, data, settings, machine, dates, cuts.

    ``reduced_by``: the method the run's reductions were ranked by, as its records say.
    """
    spec, model, data = manifest["spec"], manifest["model"], manifest["data"]
    rows = [
        ("model", f"{model['family']} · {model['source']}"),
        ("model sha256", model["sha256"][:16]),
        ("labels", ", ".join(model["labels"])),
        ("data", f"{data['spec'] or 'given examples'} · {data['examples']} examples · sha256 {data['sha256'][:16]}"),
        ("methods", ", ".join(spec["methods"]) or "–"),
        ("metrics", ", ".join(METRICS[m].display for m in spec["metrics"] if m in METRICS) or "–"),
        ("reduction", (f"{spec['reduce']} by {reduced_by}" if reduced_by else spec["reduce"]) if spec["reduce"] else "none"),
        ("share, seed, chunk", f"{spec['share']}, {spec['seed']}, {spec['chunk']}"),
    ]
    for name, res in (manifest.get("resources") or {}).items():
        if res and name != "imports":
            rows.append((name, f"{res['path']}" + (f" · sha256 {res['sha256'][:16]}" if res.get("sha256") else "")))
    for name, res in ((manifest.get("resources") or {}).get("imports") or {}).items():
        rows.append((f"imported {name}", res["path"]))
    if manifest.get("trust_thresholds"):
        rows.append(("trust thresholds", ", ".join(f"{k} {v:g}" for k, v in manifest["trust_thresholds"].items())))
    cut = manifest.get("cut") or {}
    rows.append(("cut to the model's limit", f"{cut.get('truncated', 0)} of {cut.get('of', data['examples'])} inputs" + (f" (limit {cut['max_tokens']} tokens)" if cut.get("truncated") else "")))
    return rows + environment_rows(manifest)


def environment_rows(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """Where and when a run was made (every kind of run)."""
    env = manifest.get("environment", {})
    return [
        ("toolkit, torch", f"{env.get('toolkit')}, {env.get('torch')}"),
        ("machine, device", f"{env.get('machine')}, {env.get('device')}, {env.get('threads')} threads"),
        ("created", manifest.get("created", "")),
    ]


def example_heatmaps(rows: dict[str, dict], methods: Sequence[str]) -> dict[str, Any]:
    """One example's heatmaps, one row per method (attribution records by method), for the
    ``heatmap_rows`` macro: the report, the notebook and the app show them alike."""
    first = Attribution.from_dict(rows[next(m for m in methods if m in rows)])
    return {
        "uid": first.uid,
        "fixed": " ".join(first.fixed) if first.fixed else None,
        "predicted": label_name(first.labels, first.predicted),
        "confidence": f"{max(first.probs):.3f}",
        "gold": label_name(first.labels, first.label),
        "rows": [{"method": m, "cells": word_cells(rows[m]["words"], rows[m]["scores"])} for m in methods if m in rows],
    }


def run_section(run: "Run", n_show: int = 5, figures: bool = True) -> dict[str, Any]:
    """Everything a report or a notebook shows of one run, from its records."""
    methods = run.methods
    by_index: dict[int, dict[str, dict]] = {}
    for r in run.records["attributions"]:
        by_index.setdefault(r["index"], {})[r["method"]] = r
    heatmaps = [example_heatmaps(by_index[idx], methods) for idx in sorted(by_index)[:n_show]]
    reductions = [reduction_view(Reduction.from_dict(r)) for r in run.records["reductions"][:n_show]]
    summary = run.summary.get("reduction") or {}
    spec = run.manifest["spec"]
    reduction_method = ""
    if spec.get("reduce") and run.records["reductions"]:
        by = run.records["reductions"][0]["importance"]  # the method the run reduced by, as it recorded it
        reduction_method = f"{spec['reduce']} search, words ranked by {by}, re-ranked after every removal"
    data = run.manifest["data"]
    section = {
        "name": run.name,
        "subtitle": f"{run.manifest['model']['source']} on {data['spec'] or 'given examples'} ({data['examples']} examples)"
        + ("" if run.complete else " — unfinished run: the records so far"),
        "table": run.table,
        "metric_names": [k for k in METRICS if any(k in row for row in run.table.values())],
        "heatmaps": heatmaps,
        "reductions": reductions,
        "reduction_method": reduction_method,
        "reduction_rows": [(REDUCTION_LABELS.get(k, k), _fmt(v)) for k, v in summary.items() if k != "method"],
        "provenance": provenance_rows(
            run.manifest, run.records["reductions"][0]["importance"] if run.records["reductions"] else None
        ),
        "figures": {},
    }
    section.update(corpus_view(run))
    section.update(trust_view(run, n_show))
    section["shortcut"] = shortcut_view(run)
    if figures:
        from . import figures as fig  # lazy: matplotlib, only when a report draws figures

        section["figures"] = fig.run_figures(run)
    return section


def shortcut_view(run: "Run") -> dict[str, Any] | None:
    """The planted-shortcut method table the run stores (``shortcut.json``, written by
    ``pathologies shortcut-test``), or None: the learning check and, per method, precision@k
    and mean rank of the planted tokens on the shortcut model and on the control."""
    from ..shortcut_analysis import load_table

    table = load_table(run.path) if run.path is not None else None
    if not table:
        return None

    def f(v: Any, digits: int = 3) -> str:
        return "–" if v is None else f"{v:.{digits}f}"

    s, c = table["shortcut"]["check"], table["control"]["check"]
    d = table.get("definition", {})
    planted = table.get("planted", {})
    rows = []
    for m, row in table["shortcut"]["methods"].items():
        ctl = table["control"]["methods"].get(m, {}).get("all", {})
        rows.append((m, f(row["follows"]["precision_at_k"]), f(row["follows"]["mean_rank"], 2), f(row["all"]["precision_at_k"]),
                     f(row["all"]["mean_rank"], 2), f(ctl.get("precision_at_k")), f(ctl.get("mean_rank"), 2)))
    first = next(iter(table["shortcut"]["methods"].values()), None)
    if first is not None:
        rows.append(("chance (k / L, (L + 1) / 2)", f(first["follows"]["expected_precision"]), f(first["follows"]["expected_rank"], 2),
                     f(first["all"]["expected_precision"]), f(first["all"]["expected_rank"], 2), "", ""))
    n_follow = first["follows"]["n"] if first else 0
    return {
        "summary": (
            f"{d.get('kind', '?')} shortcut ({' '.join(d.get('tokens', []))}) planted in {planted.get('planted', '?')} of "
            f"{planted.get('n', '?')} training examples; test set of {s['n']} sentences where it contradicts the label. "
            f"Shortcut model: accuracy {f(s['accuracy'])}, follows the shortcut {f(s['follows'])}; control: accuracy "
            f"{f(c['accuracy'])}, follows {f(c['follows'])}."
        ),
        "verdict": "The shortcut was learned: the planted tokens are the ground truth." if table.get("learned") else
        "The shortcut was NOT learned (follows < 0.9): the table does not measure faithfulness.",
        "header": ("method", f"P@k, follows ({n_follow})", "rank, follows", f"P@k, all ({s['n']})", "rank, all",
                   "control P@k, all", "control rank, all"),
        "rows": rows,
        "note": "P@k: share of the k planted tokens among the k top-scored words (signed scores, target = prediction; "
                "ties broken at random in expectation); rank: their mean rank, 1 = top. \"follows\": sentences whose "
                "prediction is the shortcut's class. Bastings et al. 2022.",
    }


def corpus_view(run: "Run", per_class: int = 8) -> dict[str, Any]:
    """The corpus-level tables a reader scans, from the tables the run stored: the words inputs
    reduce to (one or two words, per class, with the random baseline) and the most important
    word types per class (first method, words seen at least 3 times, scores scaled per sentence)."""
    out: dict[str, Any] = {"decisive": [], "important_words": [], "important_method": None}
    rows = [r for r in run.corpus("decisive_words") if r["class"] != ALL and len(r["words"].split(" ")) <= 2]
    shown: dict[str, int] = {}
    for r in rows:
        if shown.get(r["class"], 0) < per_class:
            shown[r["class"]] = shown.get(r["class"], 0) + 1
            out["decisive"].append(
                {
                    "words": r["words"], "class": r["class"], "count": r["count"], "share": f"{r['share']:.3f}",
                    "confidence": f"{r['mean_confidence']:.3f}",
                    "random": "–" if r["mean_random_confidence"] is None else f"{r['mean_random_confidence']:.3f}",
                }
            )
    if run.methods:
        method = run.methods[0]
        rows = [r for r in run.corpus("word_importance") if r["method"] == method and r["class"] != ALL and r["count"] >= 3]
        # the count-aware statistic where the run stored it (pathologies.corpus.shrunk_importance), else the mean
        rows.sort(key=lambda r: (r["class"], -r.get("importance", r["mean"])))
        shown = {}
        for r in rows:
            if shown.get(r["class"], 0) < per_class:
                shown[r["class"]] = shown.get(r["class"], 0) + 1
                out["important_words"].append(
                    {"word": r["word"], "class": r["class"], "count": r["count"], "mean": f"{r['mean']:+.3f}",
                     "std": f"{r['std']:.3f}", "sign": f"{r['sign_consistency']:.2f}"}
                )
        out["important_method"] = method
    return out


def trust_view(run: "Run", n_show: int = 5) -> dict[str, Any]:
    """Verdict counts and the first trust cards of a run (``AuditSpec(trust=True)``)."""
    cards = run.records.get("trust") or []
    summary = run.summary.get("trust") or {}
    rows = [(f"verdict: {k}", v) for k, v in (summary.get("verdicts") or {}).items()]
    if summary:
        rows.append(("mean trust score", f"{summary['mean_score']:.3f}"))
    return {"trust_rows": rows, "cards": [Markup(card_html(TrustCard.from_dict(c))) for c in cards[:n_show]]}


def attribution_html(a: "Attribution") -> str:
    return environment().get_template("attribution").render(a=attribution_view(a), style=STYLE)


def reduction_html(r: "Reduction") -> str:
    return environment().get_template("reduction").render(r=reduction_view(r), style=STYLE)


def run_html(run: "Run") -> str:
    return environment().get_template("run").render(s=run_section(run, n_show=3, figures=False), style=STYLE, info=METRICS)


# Records display in notebooks through these (records import no view: they look them up).
register_html("Attribution", attribution_html)
register_html("Reduction", reduction_html)
register_html("TrustCard", card_html)
register_html("Run", run_html)
