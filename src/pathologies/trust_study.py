"""Is the trust card right? Its score and verdict measured against planted shortcuts.

A planted-shortcut run (:mod:`pathologies.shortcuts`) knows, for every heatmap of the
shortcut model, whether it **found** the planted tokens (precision@k = 1). A good card says
"trust" to heatmaps that found them and not to those that missed them, and its score ranks
the found above the missed (AUROC). This module:

- builds one :class:`Heatmap` per (sentence, method) of a run: the card judging that method
  (compared with gradient, LOO and integrated gradients where the run has them; its
  comprehensiveness and sufficiency from the run's metric records; no reduction, no DkNN),
  the raw values its agreement and faithfulness signals are made of, and the ground truth;
- :func:`judge` re-derives a card's score and verdict under other settings with the very
  rules of :mod:`pathologies.trust` (``agreement_status``, ``faithfulness_status``,
  ``score_of``), so a fitted setting is the setting the card uses;
- :func:`fit` chooses the weights of the score and the agreement / comprehensiveness
  thresholds on **one** set (the fit set), :func:`evaluate` reports any setting on others.

The fit: the weight of faithfulness against agreement (``lam``; the score's other
components keep weight 1) maximizes the score's AUROC on the fit set; then ``AGREE_OK`` and
``COMP_LOW`` maximize Youden's J of the verdict "trust" (the share of found heatmaps called
"trust" minus the share of missed ones called "trust": unlike precision or recall alone it
does not depend on how many heatmaps miss, which differs from one model to the next) among
the settings whose "trust" is at least ``precision`` right on the fit set (ties: the
setting closest to the card's former one). Everything else (``AGREE_BAD``,
``FLAT_METRIC``, saturation, reduction, DkNN, noise) keeps its value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from . import trust
from .ranks import auroc
from .recommended import compared_with
from .shortcut_analysis import load_table
from .shortcuts import FILE, Shortcut, precision_at_k
from .text import InputError

#: The card's setting before any fit (the values in :mod:`pathologies.trust` then).
PRIOR = {"AGREE_OK": 0.4, "COMP_LOW": 0.1, "W_AGREEMENT": 1.0, "W_FAITHFULNESS": 1.0}

LAM_GRID = [i / 20 for i in range(21)]
AGREE_GRID = [round(-0.2 + i * 0.05, 2) for i in range(21)]  # -0.2 .. 0.8
COMP_GRID = [round(i * 0.025, 3) for i in range(21)]  # 0 .. 0.5


@dataclass
class Heatmap:
    """One heatmap of a planted run as the card sees it, with the ground truth."""

    set: str
    method: str
    index: int
    found: bool
    precision: float
    follows: bool
    correct: bool
    confidence: float
    agreement: float | None  # mean rank correlation with the other methods (None: no ranking)
    comprehensiveness: float | None
    sufficiency: float | None
    faithfulness_component: float | None
    others: tuple[str, ...]  # statuses of the signals not refitted (saturation, noise, ...)
    score: float  # the card's, as computed with the settings of this code
    verdict: str


def setting() -> dict[str, float]:
    """The setting the card uses now (from :mod:`pathologies.trust`)."""
    return {"AGREE_OK": trust.AGREE_OK, "COMP_LOW": trust.COMP_LOW,
            "W_AGREEMENT": trust.WEIGHTS["agreement"], "W_FAITHFULNESS": trust.WEIGHTS["faithfulness"]}


def _cards(run_path: str | Path, subset: str, methods: Sequence[str] | None):
    """(index, method, record, card, found, follows) for every heatmap of a planted run."""
    from .attribution import REGISTRY  # lazy: the method registry imports torch (the scales)
    from .audit import Run
    from .records import Attribution

    table = load_table(run_path)
    if table is None:
        raise InputError(f"{run_path} holds no {FILE}: run pathologies shortcut-test first")
    d = table["definition"]
    sc = Shortcut(d["kind"], tuple(d["tokens"]), len(table["labels"]))
    run = Run.load(run_path)
    by_index: dict[int, dict[str, dict]] = {}
    for r in run.records["attributions"]:
        by_index.setdefault(r["index"], {})[r["method"]] = r
    faith = {(r["index"], r["method"]): {"comprehensiveness": r["comprehensiveness"], "sufficiency": r["sufficiency"]}
             for r in run.records["metrics"] if r.get("comprehensiveness") is not None and r.get("sufficiency") is not None}
    scales = {m: REGISTRY[m].scale for m in run.methods if m in REGISTRY}
    for idx, recs in sorted(by_index.items()):
        for m, rec in recs.items():
            if methods is not None and m not in methods:
                continue
            pos = sc.positions(rec["words"])
            if not pos:
                continue
            probs = rec["probs"]
            decided = sc.decides(rec["words"])
            follows = decided is not None and max(range(len(probs)), key=probs.__getitem__) == decided
            if subset == "follows" and not follows:
                continue
            names = [m] + compared_with(m, recs)
            atts = {n: Attribution.from_dict(recs[n]) for n in names}
            fa = {n: faith[(idx, n)] for n in names if (idx, n) in faith} or None
            card = trust.trust_card(atts, fa, None, None, primary=m, scales=scales)
            yield idx, m, rec, card, precision_at_k(rec["scores"], pos), follows


def heatmaps(run_path: str | Path, *, subset: str = "follows", methods: Sequence[str] | None = None,
             name: str | None = None) -> list[Heatmap]:
    """Every heatmap of a planted-shortcut run (``subset``: ``follows``, the sentences whose
    prediction follows the shortcut; or ``all``), judged by the card (``methods``: only these)."""
    out = []
    for idx, m, rec, card, precision, follows in _cards(run_path, subset, methods):
        probs = rec["probs"]
        predicted = max(range(len(probs)), key=probs.__getitem__)
        agree, faithful = card.signal("agreement"), card.signal("faithfulness")
        out.append(Heatmap(
            set=name or str(run_path), method=m, index=idx, found=precision == 1.0, precision=precision, follows=follows,
            correct=rec.get("label") is not None and predicted == rec["label"], confidence=float(probs[predicted]),
            agreement=agree.value if agree is not None else None,
            comprehensiveness=faithful.details["comprehensiveness"] if faithful else None,
            sufficiency=faithful.details["sufficiency"] if faithful else None,
            faithfulness_component=faithful.component if faithful else None,
            others=tuple(s.status for s in card.signals if s.name not in ("agreement", "faithfulness")),
            score=card.score, verdict=card.verdict,
        ))
    return out


def story(run_path: str | Path, finder: str, misser: str) -> dict[str, Any] | None:
    """One planted sentence told as a story: the first sentence (following the shortcut)
    where ``finder``'s heatmap ranks the planted tokens first and ``misser``'s does not,
    with the card judging each (``TrustCard``; ``card.heatmap`` is the method's heatmap).
    None when no sentence has both."""
    found: dict[int, dict[str, Any]] = {}
    for idx, m, _, card, precision, _ in _cards(run_path, "follows", [finder, misser]):
        found.setdefault(idx, {})[m] = (card, precision)
    for idx, both in found.items():
        if finder in both and misser in both and both[finder][1] == 1.0 and both[misser][1] < 1.0:
            return {"index": idx, "finder": finder, "misser": misser, "cards": {finder: both[finder][0], misser: both[misser][0]},
                    "precision": {finder: both[finder][1], misser: both[misser][1]}}
    return None


def judge(h: Heatmap, s: Mapping[str, float]) -> tuple[float, str]:
    """The score and verdict the card gives ``h`` under the setting ``s`` (same rules as
    :func:`pathologies.trust.trust_card`; the signals not refitted keep their status)."""
    statuses = list(h.others)
    components: dict[str, float] = {}
    if h.agreement is not None:
        statuses.append(trust.agreement_status(h.agreement, ok=s["AGREE_OK"]))
        components["agreement"] = max(0.0, min(1.0, h.agreement))
    if h.comprehensiveness is not None:
        statuses.append(trust.faithfulness_status(h.comprehensiveness, h.sufficiency, comp_low=s["COMP_LOW"]))
        components["faithfulness"] = h.faithfulness_component
    weights = {**trust.WEIGHTS, "agreement": s["W_AGREEMENT"], "faithfulness": s["W_FAITHFULNESS"]}
    return trust.score_of(components, weights), trust.verdict_for(statuses)


def evaluate(hs: Sequence[Heatmap], s: Mapping[str, float] | None = None) -> dict[str, Any]:
    """How well the card under setting ``s`` (default: the card's own) tells found from
    missed heatmaps: AUROC of the score, per verdict how many found and missed heatmaps it
    got, the precision of "trust", the share of found heatmaps called "trust"; overall and
    per method."""
    s = setting() if s is None else s

    def summary(sel: Sequence[Heatmap]) -> dict[str, Any]:
        judged = [(h, *judge(h, s)) for h in sel]
        found = [sc for h, sc, _ in judged if h.found]
        missed = [sc for h, sc, _ in judged if not h.found]
        verdicts = {v: {"found": 0, "missed": 0} for v in trust.VERDICTS}
        for h, _, v in judged:
            verdicts[v]["found" if h.found else "missed"] += 1
        t = verdicts["trust"]
        return {
            "heatmaps": len(sel), "found": len(found), "auroc": auroc(found, missed), "verdicts": verdicts,
            "trust_precision": t["found"] / (t["found"] + t["missed"]) if t["found"] + t["missed"] else None,
            "found_trusted": t["found"] / len(found) if found else None,
        }

    methods = sorted({h.method for h in hs})
    return {"setting": dict(s), "all": summary(hs), "methods": {m: summary([h for h in hs if h.method == m]) for m in methods}}


def fit(hs: Sequence[Heatmap], *, precision: float = 0.95) -> dict[str, Any]:
    """The setting fitted on ``hs`` (one planted set): see the module docstring. Returns the
    setting and what it reaches on ``hs`` (figures on the fit set are not evidence)."""
    if not any(h.found for h in hs) or all(h.found for h in hs):
        raise InputError("the fit set needs heatmaps that found the planted tokens and heatmaps that missed them")

    def score_auroc(lam: float) -> float:
        s = {**PRIOR, "W_AGREEMENT": 2 * (1 - lam), "W_FAITHFULNESS": 2 * lam}
        scores = [judge(h, s)[0] for h in hs]
        return auroc([x for x, h in zip(scores, hs) if h.found], [x for x, h in zip(scores, hs) if not h.found]) or 0.0

    lam = max(LAM_GRID, key=lambda lam: (round(score_auroc(lam), 4), -abs(lam - 0.5)))
    best: tuple | None = None
    n_found = sum(h.found for h in hs)
    n_missed = len(hs) - n_found
    for ok in AGREE_GRID:
        for low in COMP_GRID:
            s = {"AGREE_OK": ok, "COMP_LOW": low, "W_AGREEMENT": 2 * (1 - lam), "W_FAITHFULNESS": 2 * lam}
            hit = miss = 0
            for h in hs:
                if judge(h, s)[1] == "trust":
                    hit += h.found
                    miss += not h.found
            if hit + miss == 0 or hit / (hit + miss) < precision:
                continue
            key = (round(hit / n_found - miss / n_missed, 6), -abs(ok - PRIOR["AGREE_OK"]) - abs(low - PRIOR["COMP_LOW"]))
            if best is None or key > best[0]:
                best = (key, s)
    if best is None:
        raise InputError(f"no setting makes 'trust' {precision:.0%} precise on the fit set")
    chosen = best[1]
    return {"setting": chosen, "lam": lam, "precision_target": precision, "on_fit_set": evaluate(hs, chosen)["all"]}


def study(fit_sets: Mapping[str, str | Path], held_out: Mapping[str, str | Path], *, subset: str = "follows",
          precision: float = 0.95, methods: Iterable[str] | None = None) -> dict[str, Any]:
    """Fit on ``fit_sets`` (name -> run folder, usually one), report the fitted setting, the
    card's former setting and the setting of this code on every held-out set."""
    methods = list(methods) if methods is not None else None
    fit_hs = [h for name, p in fit_sets.items() for h in heatmaps(p, subset=subset, methods=methods, name=name)]
    fitted = fit(fit_hs, precision=precision)
    out: dict[str, Any] = {"subset": subset, "fit_sets": {k: str(v) for k, v in fit_sets.items()}, "fit": fitted, "held_out": {}}
    for name, p in held_out.items():
        hs = heatmaps(p, subset=subset, methods=methods, name=name)
        table = load_table(p)
        out["held_out"][name] = {
            "run": str(p), "learned": table.get("learned"), "follows": table["shortcut"]["check"]["follows"],
            "fitted": evaluate(hs, fitted["setting"]), "prior": evaluate(hs, PRIOR)["all"], "current": evaluate(hs)["all"],
        }
    return out


def rows(hs: Sequence[Heatmap]) -> list[dict[str, Any]]:
    """The heatmaps as plain dicts (to store or to load into pandas)."""
    return [asdict(h) for h in hs]
