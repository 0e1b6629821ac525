"""Should you trust this heatmap? A per-prediction trust card built from the papers' signals.

:func:`trust_card` is a pure function over records (attributions, faithfulness metrics, a
reduction, a DkNN answer): it loads nothing and runs no model, so a run folder's records
give the same card as a live model. The cards of many examples are computed by the audit
with its trust step (``pathologies.audit.check``, ``AuditSpec(trust=True)``). The record
types (:class:`TrustCard`, :class:`Signal`) live in :mod:`pathologies.records`.

Every signal is a :class:`Signal`: a name, a number, a plain sentence, a status (``ok``,
``warn``, ``bad`` or ``info``), advice a reader can act on where the status is not ``ok``,
and (for the signals that enter the trust score) a component score in [0, 1].

Signals and thresholds (constants below). ``AGREE_OK``, ``COMP_LOW`` and the score's
``WEIGHTS`` of agreement and faithfulness are **fitted on one planted-shortcut set** (MiniLM,
SST-2, single-token shortcut, seed 13: the heatmaps that found the planted token against
those that missed it; :func:`pathologies.trust_study.fit`, ``benchmarks/SHORTCUTS.md``) and
reported on held-out planted sets (other data, families, seeds, shortcut kinds); the other
thresholds were chosen from the papers' logic before any measurement. The values before
the fit were ``AGREE_OK = 0.4``, ``COMP_LOW = 0.1`` and weights 1 (a fit on a TextCNN set,
where all methods agree, gave 0.3, 0 and 1.4 / 0.6 and left most right MiniLM heatmaps at
"caution"). With ``AGREE_OK = AGREE_BAD = 0`` agreement no longer warns: it vetoes a heatmap
that ranks words against the others (``bad``) and otherwise barely moves the score.

- **agreement** (``AGREE_OK = 0.0``, ``AGREE_BAD = 0.0``): mean Spearman rank correlation
  of the judged (primary) heatmap with each other method computed (Kendall's tau-b is
  recorded too; heatmaps without a sign, the ``magnitude`` scale, are compared by size).
  Below 0 the methods rank the words *less* alike than two unrelated rankings would (the
  "disagreement problem": Krishna et al. 2022 report rank correlations near 0 for text);
  from 0.4 on they share most of the ordering. Disputed words: a word in one method's top-k
  (k = ``ceil(0.2 L)``, 1 to 3) and not in the other's, or scored with opposite signs where
  both scores are at least ``SIGN_FLOOR = 0.2`` of their method's largest |score| (smaller
  scores are noise, not a dispute). Component: ``clip(mean rho, 0, 1)``. Inputs of one word
  have no ranking: the signal is ``info``.
- **faithfulness** of the primary heatmap (the first method unless ``primary`` names one):
  comprehensiveness (confidence drop when the top 10% of words, at least one, are deleted)
  and sufficiency (the drop when the bottom 10% are deleted), as in DeYoung et al. 2020 and
  the PCT paper. ``bad`` when comprehensiveness <= sufficiency (the heatmap's top words
  matter no more than its bottom words); ``warn`` when comprehensiveness < ``COMP_LOW = 0.0``
  (deleting the top words moves the confidence by less than 10 points: the decision does
  not rest on them alone; the fit set it to 0: on the fit set this warning fell on
  heatmaps that had found the shortcut, so it stays only as a setting). Component: ``clip((comp - suff) / (p - 1/C), 0, 1)``, the share
  of the confidence margin above chance that the top words carry beyond the bottom ones.
  When both drops are under ``FLAT_METRIC = 0.01`` nothing moves the confidence (saturation,
  or many redundant words): ``warn``, since comprehensiveness cannot judge the heatmap then.
  Another method is recommended when its comp - suff beats the primary's by ``BETTER_BY = 0.05``.
- **saturation** (``SATURATED_P = 0.99``, ``FLAT_LOO = 0.05``): the confidence is above 0.99
  and no single deletion (``loo``) moves it by 0.05 or more. Probability differences then
  vanish whatever the words' weight of evidence (Kim et al. 2020's argument for the
  log-odds scale): read ``loo-log-odds``, ``conformity`` (``--index``) or
  ``marginalization`` (``--mlm``) instead. ``warn`` when measured; ``info`` when the
  confidence is above 0.99 but no LOO was computed. Not part of the score: it says which
  method to read, not whether the prediction holds; it makes the verdict cautious only when
  the judged heatmap is itself on the probability scale (``info`` otherwise).
- **reduction** (Feng et al. 2018): the shortest input keeping the label (beam search), its
  confidence, and the seeded random-removal baseline of the same length. The check that
  bears on the heatmap is whether the words the model keeps its label on are the heatmap's
  top words: ``warn`` when none of the reduced words is among the primary heatmap's top
  ``len(reduced)`` words ("the heatmap misses what the decision rests on"). The model
  staying confident on one or two words (Feng et al.'s pathology) is stated as a fact
  (``info`` otherwise): on SST-2 nearly every input reduces so far, so it cannot separate
  one prediction from another. Component: the share of reduced words among those top words.
- **dknn** (Papernot & McDaniel 2018; Wallace et al. 2018): credibility next to confidence.
  ``bad`` when the DkNN predicts another class or credibility < ``CRED_BAD = 0.1`` (the
  predicted class is outside the 90% conformal prediction set); ``warn`` when the model is
  far more confident than its neighbours (confidence - credibility >= ``CRED_GAP = 0.5``).
  Without calibration, conformity < 0.5 (most neighbours vote another class) is ``warn``.
  Component: credibility (conformity without calibration).
- **noise**, for methods that report standard errors (``marginalization-adaptive``): the
  gap between the top two scores in standard errors, z = (s1 - s2) / sqrt(e1^2 + e2^2);
  ``warn`` when z < ``Z_RESOLVED = 2`` (the order of the top two words is not resolved at
  about 95%). Component: ``min(1, z / 2)``.

**Verdict**: ``do not trust`` when any signal is ``bad``, ``caution`` when any is ``warn``,
``trust`` otherwise; the reasons are the sentences and advice of those signals.
**Trust score**: the weighted mean of the component scores present (agreement 0.1,
faithfulness 1.9, both fitted; reduction, dknn, noise 1), 0.5 when none is (no evidence
either way). Confidence is *not* a
component, so the score can be compared with it (``benchmarks/TRUST.md``).
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from .records import Signal, TrustCard
from .ranks import average_ranks, kendall_tau_b, ranking, spearman  # noqa: F401  (re-exported)

if TYPE_CHECKING:  # pragma: no cover
    from .records import Attribution, Reduction

AGREE_OK = 0.0  # fitted (pathologies.trust_study, MiniLM SST-2 planted set); was 0.4
AGREE_BAD = 0.0
SIGN_FLOOR = 0.2
COMP_LOW = 0.0  # fitted (pathologies.trust_study, MiniLM SST-2 planted set); was 0.1
FLAT_METRIC = 0.01
BETTER_BY = 0.05
SATURATED_P = 0.99
FLAT_LOO = 0.05
CRED_BAD = 0.1
CRED_GAP = 0.5
CONFORMITY_LOW = 0.5
Z_RESOLVED = 2.0
SHARE = 0.1
#: Weights of the components in the trust score (a weighted mean of those present).
#: Agreement's and faithfulness's are fitted (pathologies.trust_study, MiniLM SST-2 planted set); were 1 and 1.
WEIGHTS = {"agreement": 0.1, "faithfulness": 1.9, "reduction": 1.0, "dknn": 1.0, "noise": 1.0}



def thresholds() -> dict[str, float]:
    """The thresholds the cards use, by name (an audit with the trust step records them)."""
    return {
        "AGREE_OK": AGREE_OK, "AGREE_BAD": AGREE_BAD, "SIGN_FLOOR": SIGN_FLOOR, "COMP_LOW": COMP_LOW,
        "FLAT_METRIC": FLAT_METRIC, "BETTER_BY": BETTER_BY, "SATURATED_P": SATURATED_P, "FLAT_LOO": FLAT_LOO,
        "CRED_BAD": CRED_BAD, "CRED_GAP": CRED_GAP, "CONFORMITY_LOW": CONFORMITY_LOW, "Z_RESOLVED": Z_RESOLVED,
        "SHARE": SHARE, **{f"W_{k.upper()}": v for k, v in WEIGHTS.items()},
    }


VERDICTS = ("trust", "caution", "do not trust")
STATUSES = ("ok", "info", "warn", "bad")


def method_scales(names: Sequence[str]) -> dict[str, str]:
    """The scale each registered method declares (``probability`` scores flatten at
    saturation, ``evidence`` scores do not); names not registered (imported scores) have none."""
    from .attribution import REGISTRY  # lazy: the method registry imports torch; audits pass scales

    return {n: REGISTRY[n].scale for n in names if n in REGISTRY}


def top_k(length: int) -> int:
    """How many words count as a heatmap's top words: ceil(0.2 L), at least 1, at most 3."""
    return max(1, min(3, math.ceil(0.2 * length)))


def _f(x: float, digits: int = 3) -> str:
    """A number for a sentence, without a negative zero."""
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _moves(x: float) -> str:
    return "raises" if x < 0 else "lowers"


def _clip(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return max(lo, min(hi, x))


def _quote(words: Sequence[str]) -> str:
    return "'" + " ".join(words) + "'"


def _names(words: Sequence[str], idx: Sequence[int]) -> str:
    return ", ".join(f"'{words[i]}'" for i in idx)


# --- the signals -------------------------------------------------------------------------------
def agreement_status(rho: float, ok: float | None = None, bad: float | None = None) -> str:
    """The agreement signal's status for a mean rank correlation ``rho`` (thresholds: the
    module's unless given; :mod:`pathologies.trust_study` fits them)."""
    ok = AGREE_OK if ok is None else ok
    bad = AGREE_BAD if bad is None else bad
    return "bad" if rho < bad else "warn" if rho < ok else "ok"


def faithfulness_status(comp: float, suff: float, comp_low: float | None = None, flat: float | None = None) -> str:
    """The faithfulness signal's status from comprehensiveness and sufficiency."""
    comp_low = COMP_LOW if comp_low is None else comp_low
    flat = FLAT_METRIC if flat is None else flat
    if max(abs(comp), abs(suff)) < flat:
        return "warn"
    if comp <= suff:
        return "bad"
    return "warn" if comp < comp_low else "ok"


def _compared(sa: Sequence[float], sb: Sequence[float], scale_a: str | None, scale_b: str | None):
    """Two heatmaps as the agreement signal compares them: by size when either has no sign."""
    if "magnitude" in (scale_a, scale_b):
        return [abs(x) for x in sa], [abs(x) for x in sb], False
    return list(sa), list(sb), True


def agreement_signal(
    attributions: Mapping[str, "Attribution"], scales: Mapping[str, str] | None = None, primary: str | None = None,
    faithfulness: Mapping[str, Mapping[str, float]] | None = None,
) -> Signal | None:
    """Rank agreement of the judged heatmap (``primary``) with the other methods, and the
    words the methods dispute.

    The value is the mean Spearman rho over the pairs that include ``primary`` (over every
    pair when no primary is named; ``details["mean_all"]`` always has that): the card judges
    one heatmap, and two other methods agreeing with each other say nothing about it.
    With ``faithfulness`` (comprehensiveness and sufficiency per method), a method whose
    heatmap is clearly less faithful than the judged one (comp − suff lower by
    ``BETTER_BY`` or more) is left out of that mean: disagreeing with a heatmap whose top
    words matter less to the model is no evidence against the judged one. With no method
    left to compare with, the signal is ``info``.

    A pair where one method is on the ``magnitude`` scale (|input × gradient|, a gradient
    norm: no direction) is compared by the size of the scores, |a| with |b|: a word that
    lowers the prediction a lot is as important to a magnitude as one that raises it, and
    comparing a size with a signed score would call every strong negative word a dispute.
    """
    scales = scales or {}
    names = list(attributions)
    if len(names) < 2:
        return None
    words = list(attributions[names[0]].words)
    L = len(words)
    k = top_k(L)
    pairs = []
    disputed: list[dict[str, Any]] = []
    for a, b in combinations(names, 2):
        sa, sb, signed = _compared(attributions[a].scores, attributions[b].scores, scales.get(a), scales.get(b))
        rho, tau = spearman(sa, sb), kendall_tau_b(sa, sb)
        pairs.append({"methods": [a, b], "spearman": rho, "kendall": tau, "by": "score" if signed else "size"})
        ta, tb = ranking(sa)[:k], ranking(sb)[:k]
        rank_a, rank_b = {w: r for r, w in enumerate(ranking(sa))}, {w: r for r, w in enumerate(ranking(sb))}
        for i in ta:
            if i not in tb:
                disputed.append({"word": words[i], "index": i, "why": f"top {k} by {a}, ranked {rank_b[i] + 1} by {b}", "methods": [a, b]})
        for i in tb:
            if i not in ta:
                disputed.append({"word": words[i], "index": i, "why": f"top {k} by {b}, ranked {rank_a[i] + 1} by {a}", "methods": [a, b]})
        ma, mb = max(map(abs, sa), default=0.0), max(map(abs, sb), default=0.0)
        for i in range(L if signed else 0):
            if ma > 0 and mb > 0 and abs(sa[i]) >= SIGN_FLOOR * ma and abs(sb[i]) >= SIGN_FLOOR * mb and (sa[i] > 0) != (sb[i] > 0) and sa[i] != 0 and sb[i] != 0:
                disputed.append({"word": words[i], "index": i, "why": f"opposite signs: {a} {sa[i]:+.3g}, {b} {sb[i]:+.3g}", "methods": [a, b]})
    def mean(xs):
        xs = [x for x in xs if x is not None]
        return sum(xs) / len(xs) if xs else None

    def margin(m):
        f = (faithfulness or {}).get(m)
        return None if f is None else float(f["comprehensiveness"]) - float(f["sufficiency"])

    own = margin(primary) if primary is not None else None
    less = sorted(m for m in names if m != primary and own is not None and margin(m) is not None and margin(m) <= own - BETTER_BY)
    judged = [p for p in pairs if primary is None or (primary in p["methods"] and not set(p["methods"]) & set(less))]
    mean_rho = mean(p["spearman"] for p in judged)
    details = {"pairs": pairs, "disputed": disputed, "k": k, "primary": primary, "less_faithful": less,
               "mean_all": mean(p["spearman"] for p in pairs), "mean_kendall": mean(p["kendall"] for p in judged)}
    if not judged and less:  # every other method is less faithful than the judged one
        return Signal("agreement", None, f"{primary}'s heatmap is more faithful than those of {', '.join(less)} (comprehensiveness "
                      "minus sufficiency): their disagreement with it is no evidence against it.", "info", details=details)
    if mean_rho is None:
        return Signal("agreement", None, f"{' and '.join(names)}: no ranking to compare on {L} word(s) (or a flat heatmap).", "info", details=details)
    words_disputed = sorted({d["index"] for d in disputed})
    dispute = f"; disputed: {_names(words, words_disputed[:5])}" if words_disputed else "; no word disputed"
    pair_text = ", ".join(f"{p['methods'][0]}~{p['methods'][1]} {p['spearman']:+.2f}" for p in judged if p["spearman"] is not None)
    who = "The methods rank" if primary is None or len(names) == 2 else f"{primary} ranks the words like the other methods:"
    sentence = f"{who} the words with mean Spearman rho {mean_rho:+.2f} ({pair_text}){dispute}." if who == "The methods rank" else \
        f"{who} mean Spearman rho {mean_rho:+.2f} ({pair_text}){dispute}."
    status = agreement_status(mean_rho)
    advice = {
        "bad": "The methods contradict each other: no single heatmap here can be taken at face value; read only the words they share, and prefer the method with the highest comprehensiveness.",
        "warn": "The methods agree only weakly: trust the words they share, not the exact order; check the disputed words by deleting them.",
    }.get(status)
    return Signal("agreement", mean_rho, sentence, status, advice, _clip(mean_rho), details)


def faithfulness_signal(
    attributions: Mapping[str, "Attribution"], faithfulness: Mapping[str, Mapping[str, float]], primary: str
) -> Signal | None:
    """Comprehensiveness and sufficiency of the primary heatmap's top words for this input."""
    if primary not in faithfulness:
        return None
    att = attributions.get(primary)
    f = faithfulness[primary]
    comp, suff = float(f["comprehensiveness"]), float(f["sufficiency"])
    words = list(att.words) if att is not None else []
    probs = list(att.probs) if att is not None else []
    target = att.target if att is not None else 0
    p = probs[target] if probs else 1.0
    chance = 1 / len(probs) if probs else 0.5
    margin = comp - suff
    component = _clip(margin / (p - chance)) if p > chance else 0.0
    n = max(1, math.ceil(SHARE * len(words))) if words else 1
    top = _names(words, ranking(att.scores)[:n]) if att is not None else "its top words"
    best = max(faithfulness, key=lambda m: (float(faithfulness[m]["comprehensiveness"]) - float(faithfulness[m]["sufficiency"]), m == primary))
    per_method = {m: {"comprehensiveness": float(v["comprehensiveness"]), "sufficiency": float(v["sufficiency"])} for m, v in faithfulness.items()}
    sentence = (
        f"Deleting {primary}'s top {n} word(s) ({top}) {_moves(comp)} the confidence by {_f(abs(comp))} (comprehensiveness {_f(comp)}); "
        f"deleting its bottom {n} {_moves(suff)} it by {_f(abs(suff))} (sufficiency {_f(suff)})."
    )
    better = ""
    if best != primary and (float(faithfulness[best]["comprehensiveness"]) - float(faithfulness[best]["sufficiency"])) - margin >= BETTER_BY:
        b = faithfulness[best]
        better = f" {best}'s heatmap is more faithful here (comprehensiveness {_f(float(b['comprehensiveness']))}, sufficiency {_f(float(b['sufficiency']))}): read it instead."
    status = faithfulness_status(comp, suff)
    if max(abs(comp), abs(suff)) < FLAT_METRIC:
        advice = (
            f"Deleting words moves the confidence by almost nothing (under {FLAT_METRIC}): comprehensiveness cannot judge "
            "this heatmap; the model is saturated or decides on many redundant words."
        )
    elif status == "bad":
        advice = "The heatmap's top words matter no more to the model than its bottom words: do not read this heatmap." + better
    elif status == "warn":
        advice = "The decision does not rest on the highlighted words alone: the heatmap shows a small part of it (or the model is saturated)." + better
    else:
        advice = None
        sentence += better
    details = {"method": primary, "comprehensiveness": comp, "sufficiency": suff, "words_removed": n, "by_method": per_method, "most_faithful": best}
    return Signal("faithfulness", margin, sentence, status, advice, component, details)


def saturation_signal(
    attributions: Mapping[str, "Attribution"], confidence: float, scales: Mapping[str, str], primary: str | None = None
) -> Signal | None:
    """Confidence so high that deleting a word changes the probability by almost nothing.

    ``scales``: each method's declared scale (:func:`method_scales`). A flat deletion
    heatmap is a reason for caution about the judged heatmap (``primary``) only when that
    heatmap is itself on the probability scale; for a gradient or log-odds heatmap the
    signal is ``info``: it says which deletion heatmap not to read.
    """
    if confidence <= SATURATED_P:
        return None
    prob_methods = [m for m in attributions if scales.get(m) == "probability"]
    safe = [m for m in attributions if scales.get(m) == "evidence"]
    read = f"read {', '.join(safe)} (already computed)" if safe else "read loo-log-odds, conformity (--index) or marginalization (--mlm) instead"
    if not prob_methods:
        return Signal(
            "saturation", None,
            f"Confidence {confidence:.4f} is above {SATURATED_P}: probability differences (LOO, erasure) would be nearly flat here.",
            "info", f"For deletion-based heatmaps {read}.", details={"confidence": confidence},
        )
    m = "loo" if "loo" in prob_methods else prob_methods[0]
    biggest = max((abs(s) for s in attributions[m].scores), default=0.0)
    details = {"confidence": confidence, "method": m, "max_abs": biggest}
    if biggest < FLAT_LOO:
        judged = primary is None or scales.get(primary) == "probability"
        return Signal(
            "saturation", biggest,
            f"Confidence {confidence:.4f}: deleting any one word changes it by at most {biggest:.3f}, so the {m} heatmap is flat and its order is noise.",
            "warn" if judged else "info", f"The model is saturated: {read}.", details=details,
        )
    return Signal(
        "saturation", biggest,
        f"Confidence {confidence:.4f} is high, but deleting a word still moves it by up to {biggest:.3f}: {m} differences remain readable.",
        "ok", details=details,
    )


def reduction_signal(reduction: "Reduction", primary_att: "Attribution | None") -> Signal:
    """The shortest input keeping the label, its confidence, the random baseline, and whether
    the heatmap's top words are the ones kept."""
    final = list(reduction.final)
    conf = float(reduction.final_confidence)
    rb = reduction.random_baseline or {}
    rconf = rb.get("confidence")
    L = len(reduction.original)
    sentence = f"Keeps the label at {conf:.2f} on {_quote(final)} alone ({len(final)} of {L} words)"
    sentence += f"; random words of the same length keep {float(rconf):.2f}." if rconf is not None else "."
    details = {
        "final": final, "final_confidence": conf, "original_confidence": float(reduction.original_confidence),
        "random_confidence": None if rconf is None else float(rconf),
        "random_words": rb.get("words"), "random_kept_prediction": rb.get("kept_prediction"),
        "beam": reduction.beam, "importance": reduction.importance,
    }
    if primary_att is None or list(primary_att.words) != list(reduction.original):
        return Signal("reduction", conf, sentence, "info", details=details)
    words = list(primary_att.words)
    top = [words[i] for i in ranking(primary_att.scores)[: len(final)]]
    pool = list(top)
    hits = 0
    for w in final:
        if w in pool:
            pool.remove(w)
            hits += 1
    overlap = hits / len(final) if final else 0.0
    details.update(heatmap_top=top, overlap=overlap)
    if overlap == 0:
        rank = {words[i]: r + 1 for r, i in reversed(list(enumerate(ranking(primary_att.scores))))}
        where = ", ".join(f"'{w}' ranked {rank[w]}" for w in final if w in rank)
        status = "warn"
        advice = (
            f"The heatmap misses what the decision rests on: its top word(s) {_quote(top)} are not the ones the model "
            f"keeps its label on ({where} by {primary_att.method}). Check {_quote(final)} before believing the heatmap."
        )
    else:
        status, advice = "ok", None
        orig = float(reduction.original_confidence)
        if rconf is not None and rb.get("kept_prediction") and float(rconf) >= conf - 0.05:
            sentence += " Random words keep the label as well: it does not rest on these words in particular."
        elif len(final) <= 2 and L >= 5 and conf >= 0.9 and conf >= orig - 0.05:
            more = "more" if conf > orig + 0.005 else "as"
            sentence += (
                f" The model is {more} confident on these words alone than on the whole sentence ({orig:.2f}): "
                "its confidence is no evidence it read the rest."
            ).replace("as confident on these words alone than", "as confident on these words alone as")
    return Signal("reduction", overlap, sentence, status, advice, overlap, details)


def dknn_signal(dknn: Mapping[str, Any], confidence: float, predicted: int) -> Signal:
    """DkNN credibility (or conformity) next to the model's confidence."""
    cred = dknn.get("credibility")
    conformity = dknn.get("conformity")
    pred = dknn.get("prediction")
    details = {k: dknn.get(k) for k in ("credibility", "conformity", "prediction", "counts") if k in dknn}
    disagree = pred is not None and int(pred) != predicted
    if cred is not None:
        cred = float(cred)
        sentence = f"Confidence {confidence:.2f}; DkNN credibility {cred:.2f}" + (f", conformity {float(conformity):.2f}" if conformity is not None else "") + "."
        if disagree:
            sentence += f" The nearest training examples vote for class {pred}, not {predicted}."
        if disagree or cred < CRED_BAD:
            status, advice = "bad", "Few training examples like this one support the prediction (outside the 90% conformal set): treat the prediction, and any explanation of it, as doubtful."
        elif confidence - cred >= CRED_GAP:
            status, advice = "warn", "The model is far more confident than its nearest training neighbours: the confidence is not evidence; read conformity-based explanations."
        else:
            status, advice = "ok", None
        return Signal("dknn", cred, sentence, status, advice, cred, details)
    if conformity is None:
        return Signal("dknn", None, "The DkNN answer has neither credibility nor conformity.", "info", details=details)
    conformity = float(conformity)
    sentence = f"Confidence {confidence:.2f}; {conformity:.0%} of the nearest training neighbours (all layers) share the prediction (index not calibrated: no credibility)."
    if conformity < CONFORMITY_LOW:
        status, advice = "warn", "Most nearest training neighbours vote for another class: the prediction is doubtful."
    else:
        status, advice = "ok", None
    return Signal("dknn", conformity, sentence, status, advice, conformity, details)


def noise_signal(attributions: Mapping[str, "Attribution"]) -> Signal | None:
    """Whether the top of a sampled heatmap is resolved by its standard errors."""
    noisy = [(m, a) for m, a in attributions.items() if getattr(a, "errors", None)]
    if not noisy:
        return None
    per = {}
    worst: tuple[float, str, str] | None = None
    for m, a in noisy:
        order = ranking(a.scores)
        errs = list(a.errors)
        if len(order) < 2:
            per[m] = {"z": None, "max_error": max(errs)}
            continue
        i, j = order[0], order[1]
        se = math.sqrt(errs[i] ** 2 + errs[j] ** 2)
        gap = a.scores[i] - a.scores[j]
        z = math.inf if se == 0 else gap / se
        per[m] = {"z": z, "max_error": max(errs), "top": [a.words[i], a.words[j]]}
        sentence = f"{m}: standard errors up to {max(errs):.3g}; its top two words '{a.words[i]}' and '{a.words[j]}' are {'separated by ' + format(z, '.1f') + ' standard errors' if math.isfinite(z) else 'exactly ordered'}."
        if worst is None or z < worst[0]:
            worst = (z, m, sentence)
    if worst is None:
        return Signal("noise", None, "Standard errors reported, but fewer than two words to order.", "info", details={"by_method": per})
    z, m, sentence = worst
    if z < Z_RESOLVED:
        status, advice = "warn", f"The order of {m}'s top two words is within its sampling noise: rerun with a smaller tol (--set tol=...) before reading the order."
    else:
        status, advice = "ok", None
    return Signal("noise", z if math.isfinite(z) else None, sentence, status, advice, _clip(z / Z_RESOLVED) if math.isfinite(z) else 1.0, {"by_method": per, "method": m})


# --- the card ---------------------------------------------------------------------------------
def trust_card(
    attributions: Mapping[str, "Attribution"],
    faithfulness: Mapping[str, Mapping[str, float]] | None = None,
    reduction: "Reduction | None" = None,
    dknn: Mapping[str, Any] | None = None,
    *,
    primary: str | None = None,
    scales: Mapping[str, str] | None = None,
) -> TrustCard:
    """The trust card of one prediction from its records (no model is run).

    Args:
        attributions: method name -> the Attribution of this input (same words and target).
        faithfulness: method name -> a dict with ``comprehensiveness`` and ``sufficiency``
            (``pathologies.metrics.removal.erasure_metrics`` gives them), or None.
        reduction: the Reduction of this input (beam search), or None.
        dknn: one ``DkNNOutput.records()`` entry (``credibility``, ``conformity``,
            ``prediction``), or None.
        primary: the heatmap judged for faithfulness and reduction (default: the first method).
        scales: method name -> its declared scale (default: looked up in the method registry).

    Returns:
        A :class:`TrustCard` with every signal that its ingredients allow, the verdict, its
        reasons, and the trust score (see the module docstring for thresholds).
    """
    if not attributions:
        raise ValueError("trust_card needs at least one attribution")
    names = list(attributions)
    primary = primary or names[0]
    if primary not in attributions:
        raise ValueError(f"primary method {primary!r} is not among the attributions {names}")
    first = attributions[primary]
    words = list(first.words)
    for m, a in attributions.items():
        if list(a.words) != words:
            raise ValueError(f"the attributions are of different inputs ({m} has other words)")
        if len(a.scores) != len(words):
            raise ValueError(f"{m}: {len(a.scores)} scores for {len(words)} words")
    probs = list(first.probs)
    predicted = max(range(len(probs)), key=probs.__getitem__)
    confidence = float(probs[predicted])
    target = first.target

    scales = method_scales(names) if scales is None else scales
    signals: list[Signal] = []
    for s in (
        agreement_signal(attributions, scales, primary, faithfulness),
        faithfulness_signal(attributions, faithfulness, primary) if faithfulness else None,
        saturation_signal(attributions, float(probs[target]), scales, primary),
        reduction_signal(reduction, first) if reduction is not None else None,
        dknn_signal(dknn, confidence, predicted) if dknn is not None else None,
        noise_signal(attributions),
    ):
        if s is not None:
            signals.append(s)
    verdict, reasons = verdict_of(signals)
    score = score_of({s.name: s.component for s in signals if s.component is not None})
    return TrustCard(
        words=words,
        predicted=predicted,
        confidence=confidence,
        verdict=verdict,
        score=float(score),
        reasons=reasons,
        signals=signals,
        methods=names,
        primary=primary,
        heatmap=[float(x) for x in first.scores],
        labels=list(first.labels) if getattr(first, "labels", None) else None,
        label=getattr(first, "label", None),
        uid=getattr(first, "uid", None),
        fixed=list(first.fixed) if getattr(first, "fixed", None) is not None else None,
        fixed_first=getattr(first, "fixed_first", True),
    )


def score_of(components: Mapping[str, float], weights: Mapping[str, float] | None = None) -> float:
    """The trust score: the weighted mean of the components present (:data:`WEIGHTS`), 0.5
    when none is (no evidence either way)."""
    weights = WEIGHTS if weights is None else weights
    total = sum(weights.get(n, 1.0) for n in components)
    if not components or total <= 0:
        return 0.5
    return float(sum(weights.get(n, 1.0) * c for n, c in components.items()) / total)


def verdict_for(statuses: Iterable[str]) -> str:
    """``do not trust`` if any status is bad, ``caution`` if any warns, else ``trust``."""
    statuses = set(statuses)
    return "do not trust" if "bad" in statuses else "caution" if "warn" in statuses else "trust"


def verdict_of(signals: Sequence[Signal]) -> tuple[str, list[str]]:
    """The verdict of the signals (:func:`verdict_for`) and its reasons: the offending
    signals' advice (worst first), or the ok sentences."""
    bad = [s for s in signals if s.status == "bad"]
    warn = [s for s in signals if s.status == "warn"]
    verdict = verdict_for(s.status for s in signals)
    reasons = [f"{s.name}: {s.advice or s.sentence}" for s in bad + warn]
    if not reasons:
        reasons = [f"{s.name}: {s.sentence}" for s in signals if s.status == "ok"] or ["no signal was computed beyond the heatmap itself"]
    return verdict, reasons


__all__ = [
    "Signal",
    "TrustCard",
    "trust_card",
    "verdict_of",
    "spearman",
    "kendall_tau_b",
]
