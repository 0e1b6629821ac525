"""Which heatmap to read first, per model family: chosen from the planted-shortcut results.

A default method is a claim that its heatmap shows what the model relies on. The claim is
checked the one way that has ground truth: plant a shortcut, train on it, and see which
method ranks the planted tokens first (``pathologies shortcut-test``; Bastings et al. 2022).
:func:`pathologies.shortcut_analysis.recommend` picks, per family, the method with the highest
mean precision@k over the family's learned planted sets (signed and cheap first among ties);
the tables it read are in ``benchmarks/results/shortcut_*.json`` and ``tests/test_recommended.py``
checks that the values below are what it picks from them (``benchmarks/SHORTCUTS.md``,
"Defaults").

The method is the default of ``explain``, the trust card's primary heatmap (``check``) and
the ranking of the reduction test (``reduce`` and ``check``). A family without planted
evidence (extractive QA, imported models of unknown family) gets :data:`FALLBACK`.
"""

from __future__ import annotations

from typing import Iterable

#: family (``model.family``) -> the method to read first.
METHOD = {
    "textcnn": "gradient",  # every signed method finds the token on 4 learned sets; gradient is the cheapest
    "bilstm": "loo-log-odds",  # 0.992 mean precision@k (ordered pair: 0.984) against gradient's 0.920
    "hf": "loo-log-odds",  # MiniLM (SST-2, MR): 1.000 against gradient's 0.796 and SmoothGrad's 0.181
}

#: The planted results each choice was made from (``benchmarks/results/``; one file per planted
#: set: data, shortcut kind and seed; sets where the shortcut was not learned are listed and
#: left out by the rule).
EVIDENCE = {
    "textcnn": ("shortcut_textcnn_sst2_token.json", "shortcut_textcnn_sst2_token_s7.json",
                "shortcut_textcnn_agnews_token.json", "shortcut_textcnn_snli_token.json",
                "shortcut_textcnn_sst2_token_in_context.json"),
    "bilstm": ("shortcut_bilstm_sst2_token.json", "shortcut_bilstm_mr_ordered_pair.json",
               "shortcut_bilstm_sst2_token_in_context.json"),
    "hf": ("shortcut_minilm_sst2_token.json", "shortcut_minilm_mr_token.json"),
}

#: Without planted evidence for the family: leave-one-out's weight of evidence (it found the
#: planted token on every learned set of every family measured, and needs no gradient).
FALLBACK = "loo-log-odds"

#: The methods a trust card compares the primary heatmap with (the card's agreement signal).
COMPARED = ("gradient", "loo", "integrated-gradients")


def recommended_method(family: str | None) -> str:
    """The method whose heatmap to read first for a model of this family."""
    return METHOD.get(family or "", FALLBACK)


#: Methods that rank words identically (log-odds is monotone in the probability): a heatmap
#: is never compared with its twin, which would agree with it by construction.
TWINS = {"loo": "loo-log-odds", "loo-log-odds": "loo"}


def compared_with(method: str, available: Iterable[str]) -> list[str]:
    """The methods a trust card compares ``method``'s heatmap with: those of :data:`COMPARED`
    that are ``available`` (leave-one-out's log-odds variant stands in for it when only that
    is), never the method itself or its twin."""
    available = set(available)
    out = []
    for c in COMPARED:
        if c == "loo" and c not in available and "loo-log-odds" in available:
            c = "loo-log-odds"
        if c in available and c != method and c != TWINS.get(method):
            out.append(c)
    return out


def card_methods(family: str | None) -> tuple[str, ...]:
    """The methods of a trust check: the recommended one first (the card's primary heatmap),
    then those it is compared with (:func:`compared_with`)."""
    first = recommended_method(family)
    return (first, *compared_with(first, COMPARED))
