"""The trust study's fit, by hand (pathologies.trust_study): what it chooses on a set built here."""

from __future__ import annotations

import pytest

from pathologies import trust_study as ts
from pathologies.recommended import compared_with
from pathologies.text import InputError


def heatmap(found: bool, agreement: float, comp: float = 0.5, suff: float = 0.0, comp_part: float = 1.0, **kw) -> ts.Heatmap:
    return ts.Heatmap(set="s", method=kw.get("method", "m"), index=0, found=found, precision=float(found), follows=True,
                      correct=False, confidence=0.9, agreement=agreement, comprehensiveness=comp, sufficiency=suff,
                      faithfulness_component=comp_part, others=kw.get("others", ()), score=0.0, verdict="trust")


def test_fit_separates_by_agreement_and_keeps_the_closest_setting():
    # found heatmaps agree at 0.6, missed ones at 0.2; faithfulness says nothing (all alike)
    hs = [heatmap(True, 0.6) for _ in range(20)] + [heatmap(False, 0.2) for _ in range(5)]
    f = ts.fit(hs)
    s = f["setting"]
    # agreement separates and faithfulness is constant: every lam < 1 ranks alike (AUROC 1); ties keep the middle
    assert f["lam"] == 0.5 and s["W_AGREEMENT"] == 1.0 and f["on_fit_set"]["auroc"] == 1.0
    # any AGREE_OK in (0.2, 0.6] is perfect; the one closest to the former 0.4 is kept, COMP_LOW stays 0.1
    assert s["AGREE_OK"] == 0.4 and s["COMP_LOW"] == 0.1
    assert f["on_fit_set"]["trust_precision"] == 1.0 and f["on_fit_set"]["found_trusted"] == 1.0


def test_fit_moves_comp_low_to_where_it_separates():
    # same agreement everywhere; found heatmaps have comprehensiveness 0.3, missed 0.05
    hs = [heatmap(True, 0.8, comp=0.3, comp_part=0.6) for _ in range(10)] + [heatmap(False, 0.8, comp=0.05, comp_part=0.1) for _ in range(10)]
    s = ts.fit(hs)["setting"]
    assert 0.05 < s["COMP_LOW"] <= 0.3 and s["W_FAITHFULNESS"] > 0  # any weight on faithfulness separates: the middle one (1)
    ev = ts.evaluate(hs, s)["all"]
    assert ev["verdicts"]["trust"] == {"found": 10, "missed": 0} and ev["verdicts"]["caution"] == {"found": 0, "missed": 10}


def test_judge_keeps_the_other_signals_and_bad_wins():
    s = ts.setting()
    assert ts.judge(heatmap(True, 0.9, others=("warn",)), s)[1] == "caution"
    assert ts.judge(heatmap(True, 0.9, comp=0.1, suff=0.2), s)[1] == "do not trust"
    assert ts.judge(heatmap(True, -0.5), s)[1] == "do not trust"


def test_fit_needs_both_kinds_of_heatmap():
    with pytest.raises(InputError, match="found .* and heatmaps that missed"):
        ts.fit([heatmap(True, 0.5)])


def test_a_heatmap_is_compared_with_the_card_methods_never_with_its_twin():
    run = ["gradient", "loo", "loo-log-odds", "integrated-gradients", "random"]
    assert compared_with("loo-log-odds", run) == ["gradient", "integrated-gradients"]
    assert compared_with("loo", run) == ["gradient", "integrated-gradients"]
    assert compared_with("random", run) == ["gradient", "loo", "integrated-gradients"]
    # only the log-odds variant was run: it stands in for leave-one-out
    assert compared_with("gradient", ["gradient", "loo-log-odds", "integrated-gradients"]) == ["loo-log-odds", "integrated-gradients"]
