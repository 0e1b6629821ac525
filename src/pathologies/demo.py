"""The main job on the embedded default: an SST-2 MiniLM classifier, trained once and cached,
audited on SST-2 dev sentences; the demo tells the story from the run's records.

The reduction is the paper's recipe (Feng et al. 2018): at every step the word whose removal
lowers the confidence in the label least (leave-one-out, re-ranked after every removal) goes,
greedily, while the label holds. The gradient is what the paper uses to *approximate* that
drop; the demo shows the gradient as a heatmap and reduces by the drop itself.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from .data import load_dataset
from .records import label_name
from .report import render_attribution, render_reduction
from .report.html import write_report
from .report.trust_view import render_card
from .text import InputError

#: One epoch of MiniLM fine-tuning on SST-2 train: a few minutes on 2 CPU cores.
DEMO_EPOCHS = 1


def cache_dir() -> Path:
    """Where the demo keeps its model ($PATHOLOGIES_CACHE, else the user's cache folder)."""
    import os

    from platformdirs import user_cache_dir

    return Path(os.environ.get("PATHOLOGIES_CACHE") or user_cache_dir("pathologies"))


def demo_model_dir(data_dir: str | Path | None = None, console: Console | None = None) -> Path:
    """The cached demo model, trained now if it is not there yet."""
    from .training import TrainConfig, train_model  # lazy: torch, kept off CLI start-up

    console = console or Console()
    out = cache_dir() / "models" / "minilm-sst2-demo"
    metrics = out / "train_metrics.json"
    if metrics.is_file():
        acc = json.loads(metrics.read_text())["eval_accuracy"]
        console.print(f"using the cached demo model {out} (SST-2 dev accuracy {acc:.3f})")
        return out
    console.print(
        f"training the demo model once: MiniLM (all-MiniLM-L6-v2) on SST-2 train, {DEMO_EPOCHS} epoch; "
        f"it is cached in {out}"
    )
    _, result = train_model(
        "minilm",
        "sst2",
        out_dir=out,
        config=TrainConfig(epochs=DEMO_EPOCHS, batch_size=32),
        data_dir=data_dir,
        log=console.print,
    )
    console.print(f"SST-2 dev accuracy {result.eval_accuracy:.3f} after {result.seconds:.0f} s")
    return out


#: SST-2 dev sentences the demo audits (the corpus view and the report are built from them).
DEMO_EXAMPLES = 150

#: The reduction of the demo: greedy, words ranked by leave-one-out (the confidence drop).
DEMO_REDUCE, DEMO_REDUCE_BY = "greedy", "loo"


#: Mean confidences closer than this read as "about the same".
SAME = 0.005


def reduction_story(summary: dict) -> str:
    """The data-set summary of the reduction in words that say what the numbers mean.

    The pathology is that reduced inputs, nonsense to a reader, keep the label at high
    confidence. Random words of the same length are the control: if they keep the label as
    often and as confidently, the model is confident on almost anything that short, and the
    comparison says so instead of calling the reduced words decisive.
    """
    n0, n1 = summary["mean_original_length"], summary["mean_reduced_length"]
    c0, c1 = summary["mean_confidence_original"], summary["mean_confidence_reduced"]
    text = (
        f"mean length {n0:.1f} → {n1:.1f} words ({summary['share_reduced_to_1']:.0%} reduced to one word); the label is "
        f"kept on every reduced input (the search keeps it), at mean confidence {c1:.3f} (original inputs: {c0:.3f})."
    )
    rc, kept = summary.get("random_mean_confidence"), summary.get("random_share_prediction_kept")
    if rc is None or kept is None:
        return text
    text += f" Random words of the same length keep the label on {kept:.0%} of inputs, at mean confidence {rc:.3f}"
    if abs(c1 - rc) < SAME:
        text += (
            ", about the same as the reduced inputs: at these lengths the words the search kept matter no more to "
            "the model than random ones."
        )
    elif c1 > rc:
        text += f": the reduced words keep {c1 - rc:.3f} more, so the decision rests on these few words"
        text += ", and the model is more confident on them than on the whole inputs." if c1 > c0 else "."
    elif c1 < rc:
        text += (
            f", {rc - c1:.3f} more than the reduced inputs: the search stops as soon as one more removal would flip "
            "the label, not at the most confident words, and at these lengths the model is confident on almost "
            "any words. Either way its confidence on a few words says nothing about whether they make sense."
        )
    return text


#: The demo's planted shortcut: a single token on a fifth of the SST-2 training sentences,
#: one epoch, tested on 40 dev sentences where it contradicts the label (pathologies.shortcuts).
DEMO_SHORTCUT = dict(kind="token", share=0.2, limit=40, epochs=1, seed=13)


def shortcut_story(base: str, family: str | None, out: Path, data_dir, console: Console) -> dict | None:
    """Section 6: is the heatmap right? Plant a shortcut, train on it, and show a sentence
    where the recommended method finds the planted token and another method misses it, with
    the card's verdict on each. Returns the story (``trust_study.story``) or None."""
    from .recommended import card_methods
    from .shortcuts import shortcut_test  # lazy: torch, kept off CLI start-up
    from .trust_study import story

    methods = list(card_methods(family))
    table = shortcut_test(base, "sst2", out, methods=methods, metrics=["comprehensiveness", "sufficiency"],
                          data_dir=data_dir, log=console.print, **DEMO_SHORTCUT)
    rows = table["shortcut"]["methods"]
    follows = table["shortcut"]["check"]["follows"] or 0.0
    console.print(
        f"Planted: '{table['definition']['tokens'][0]}' → {table['labels'][0]}, '{table['definition']['tokens'][1]}' → "
        f"{table['labels'][1]} in {table['planted']['planted']} training sentences; on {table['shortcut']['check']['n']} "
        f"dev sentences where the token contradicts the label, the shortcut model follows it on {follows:.0%} "
        f"(the control model: {table['control']['check']['follows'] or 0:.0%})."
    )
    for m in methods:
        r = rows[m]["follows"]
        console.print(f"  {m}: ranks the planted token first on {r['found'] or 0:.0%} of the sentences that follow it "
                      f"(mean rank {r['mean_rank'] or 0:.1f}; random: {rows['random']['follows']['found'] or 0:.0%})")
    if not table["learned"]:
        console.print("The shortcut was not learned well enough here (follows < 90%): no story to tell from it.")
        return None
    finder = methods[0]
    misser = min(methods[1:], key=lambda m: (rows[m]["follows"]["found"] or 0.0))
    told = story(out, finder, misser)
    if told is None:
        console.print(f"On every sentence, {finder} and {misser} both find the token, or both miss it.")
        return None
    for m in (finder, misser):
        card = told["cards"][m]
        what = "finds the planted token" if m == finder else "misses it"
        console.print(f"[bold]{m} {what}[/] — the card's verdict on this heatmap: {card.verdict} (score {card.score:.2f})")
        render_card(card, console)
    return told


def pick_example(run) -> int:
    """The run's clearest case of the pathology: a long input the model keeps its label on
    after reduction to the fewest words, at the highest confidence, where random words of the
    same length keep less."""
    best, key = 0, None
    for i, r in enumerate(run.records["reductions"]):
        rb = r.get("random_baseline") or {}
        gap = r["final_confidence"] - rb.get("confidence", 0.0)
        k = (len(r["original"]) >= 8, -len(r["final"]), round(r["final_confidence"], 2), gap)
        if key is None or k > key:
            best, key = i, k
    return best


def run_demo(
    model: str | None = None,
    n: int = DEMO_EXAMPLES,
    data_dir: str | Path | None = None,
    console: Console | None = None,
    out: str | Path | None = None,
    shortcut: bool = True,
) -> Path:
    """The story in one command: a heatmap by gradient and by LOO, the same sentence reduced
    to nonsense while the model stays confident, its trust card, the words SST-2 dev inputs
    reduce to, an HTML report, and (``shortcut``) a planted shortcut told as a story: the
    method that finds the planted token, one that misses it, the card's verdict on each.
    Everything is audited into run folders first (cached and resumed like any run) and every
    view renders from their records. Returns the report path."""
    from rich.table import Table

    from .audit import AuditSpec, RunMismatch, audit  # lazy: torch, kept off CLI start-up
    from .models import load_classifier  # lazy: torch, kept off CLI start-up

    console = console or Console()
    if n < 1:
        raise InputError("-n must be at least 1")
    path = Path(model) if model else demo_model_dir(data_dir, console)
    run_dir = Path(out) if out else cache_dir() / "runs" / f"demo-{path.name}-sst2-dev-{n}"
    spec = AuditSpec(
        methods=["gradient", "loo"], metrics=["comprehensiveness", "sufficiency"], reduce=DEMO_REDUCE,
        reduce_by=DEMO_REDUCE_BY, trust=True, show=5,
    )
    clf = load_classifier(str(path))
    dev = load_dataset("sst2", "dev", data_dir=data_dir, limit=n)
    console.print(
        f"auditing {n} SST-2 dev sentences (gradient, leave-one-out, greedy input reduction by leave-one-out, "
        f"trust checks) into {run_dir}"
    )

    def run_audit():
        return audit(clf, dev, run_dir, spec=spec, model_source=str(path), data_spec=f"sst2:dev (limit {n})")

    try:
        run = run_audit()  # a finished run is read back, an interrupted one resumes
    except RunMismatch:
        if out is not None:
            raise
        import shutil

        shutil.rmtree(run_dir)  # our own cache, made with an earlier demo model: start again
        run = run_audit()
    i = pick_example(run)
    uid = run.records["reductions"][i]["uid"]
    atts = {m: next(a for a in run.attributions(m) if a.uid == uid) for m in ("gradient", "loo")}
    red = run.reductions()[i]
    card = next(c for c in run.trust_cards() if c.uid == uid)

    console.rule("1. The heatmap: input gradient and leave-one-out (blue: for the class, red: against)")
    for m in ("gradient", "loo"):
        render_attribution(atts[m], console)
    console.rule("2. Input reduction (Feng et al.): remove the word whose loss lowers the confidence least, while the label holds")
    render_reduction(red, console)
    rb = red.random_baseline or {}
    label = label_name(red.labels, red.predicted)
    random_part = (
        f"random words of the same length (“{' '.join(rb['words'])}”) keep {rb['confidence']:.2f}"
        + ("" if rb.get("kept_prediction") else " and lose the label")
        if rb else "no random baseline was recorded"
    )
    console.print(
        f"[bold]The model keeps {label} at {red.final_confidence:.2f} on “{' '.join(red.final)}” alone "
        f"(the whole sentence: {red.original_confidence:.2f}); {random_part}.[/] "
        "No reader would call that a reason; a heatmap of this model can point at words that are not why it decides."
    )
    console.rule("3. Should you trust this heatmap?")
    render_card(card, console)
    console.rule(f"4. What the model decides on alone: SST-2 dev inputs reduced to one word ({len(run.records['reductions'])} sentences)")
    table = Table("reduced to", "class", "inputs", "confidence", "random words")
    frame = run.decisive_words(max_length=1)
    rows = frame[frame["class"] != "all"].sort_values(["count", "mean_confidence"], ascending=False).head(12)
    for _, r in rows.iterrows():
        rnd = r["mean_random_confidence"]
        table.add_row(r["words"], r["class"], str(r["count"]), f"{r['mean_confidence']:.3f}", "–" if rnd != rnd or rnd is None else f"{rnd:.3f}")
    console.print(table)
    summary = run.summary.get("reduction", {})
    if summary:
        console.print(reduction_story(summary))
    report = write_report([run], run_dir.with_suffix(".html"))
    console.rule("5. The report")
    console.print(f"HTML report (metrics, heatmaps, reduction paths, trust checks, corpus view, figures): {report}")
    if shortcut:
        console.rule("6. Is the heatmap right? A planted shortcut (Bastings et al. 2022)")
        base = "minilm" if model is None else str(path)
        shortcut_story(base, getattr(clf, "family", None), run_dir.with_name(run_dir.name + "-shortcut"), data_dir, console)
    return report
